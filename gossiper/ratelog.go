package gossiper

import (
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/time/rate"
)

// Defaults of RateLog: a few lines a second of each kind, so that whatever a
// peer or client sends, stderr grows by a bounded amount.
const (
	RateLogPerSecond = 2
	RateLogBurst     = 5
)

// RateLog logs what untrusted input causes (drops, refusals, send failures)
// so that an attacker cannot flood stderr: each kind of line (its message)
// gets a token bucket, and the lines a bucket refuses are counted and
// reported as "suppressed" on the next line of that kind that gets through.
// It is safe for concurrent use.
type RateLog struct {
	clock Clock
	limit rate.Limit
	burst int

	mu    sync.Mutex
	kinds map[string]*rateKind
}

type rateKind struct {
	bucket     *rate.Limiter
	suppressed int
}

// NewRateLog returns a RateLog with the default rate, timed by clock (the
// real clock when nil).
func NewRateLog(clock Clock) *RateLog {
	if clock == nil {
		clock = SystemClock()
	}
	return &RateLog{clock: clock, limit: RateLogPerSecond, burst: RateLogBurst, kinds: make(map[string]*rateKind)}
}

// allow takes a token for msg; it returns how many lines of the kind were
// suppressed since the last one that got through, and whether this one may.
func (r *RateLog) allow(msg string) (int, bool) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kinds[msg]
	if k == nil {
		// Kinds are the messages written in our code, a fixed set: the
		// map cannot grow with what peers send.
		k = &rateKind{bucket: rate.NewLimiter(r.limit, r.burst)}
		r.kinds[msg] = k
	}
	if !k.bucket.AllowN(now, 1) {
		k.suppressed++
		return 0, false
	}
	n := k.suppressed
	k.suppressed = 0
	return n, true
}

// Warn logs msg at warning level unless its kind is over the rate.
func (r *RateLog) Warn(log logrus.FieldLogger, msg string) { r.emit(log, logrus.WarnLevel, msg) }

// Info logs msg at info level unless its kind is over the rate.
func (r *RateLog) Info(log logrus.FieldLogger, msg string) { r.emit(log, logrus.InfoLevel, msg) }

// Debug logs msg at debug level unless its kind is over the rate.
func (r *RateLog) Debug(log logrus.FieldLogger, msg string) { r.emit(log, logrus.DebugLevel, msg) }

func (r *RateLog) emit(log logrus.FieldLogger, level logrus.Level, msg string) {
	suppressed, ok := r.allow(msg)
	if !ok {
		return
	}
	if suppressed > 0 {
		log = log.WithField("suppressed", suppressed)
	}
	switch level {
	case logrus.WarnLevel:
		log.Warn(msg)
	case logrus.InfoLevel:
		log.Info(msg)
	default:
		log.Debug(msg)
	}
}
