package digits

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// record is what we know of our pulls of one address.
type record struct {
	successes, failures int
	// streak counts failures since the last success; it sets the backoff.
	streak       int
	lastAttempt  time.Time
	lastError    string
	blockedUntil time.Time
}

// records keeps one record per address we pulled. A node that answered
// once and then fails is blocklisted with exponential backoff, never for
// ever: peers restart, and a permanent ban was one of the mistakes of the
// course's programs.
type records struct {
	mu        sync.Mutex
	base, max time.Duration
	byAddr    map[string]*record
}

func newRecords(base, max time.Duration) *records {
	return &records{base: base, max: max, byAddr: make(map[string]*record)}
}

func (r *records) get(addr string) *record {
	rec := r.byAddr[addr]
	if rec == nil {
		rec = &record{}
		r.byAddr[addr] = rec
	}
	return rec
}

// blocked reports whether periodic pulls must skip addr at now.
func (r *records) blocked(addr string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.byAddr[addr]
	return rec != nil && now.Before(rec.blockedUntil)
}

func (r *records) success(addr string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(addr)
	rec.successes++
	rec.streak = 0
	rec.lastAttempt = now
	rec.lastError = ""
	rec.blockedUntil = time.Time{}
}

// failure records a failed pull; it returns the end of a new blocklisting,
// or the zero time when addr never answered and so is not blocklisted.
func (r *records) failure(addr string, now time.Time, err error) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(addr)
	rec.failures++
	rec.streak++
	rec.lastAttempt = now
	rec.lastError = err.Error()
	if rec.successes == 0 {
		return time.Time{}
	}
	rec.blockedUntil = now.Add(gossiper.BackoffAfter(r.base, r.max, rec.streak))
	return rec.blockedUntil
}

// lines renders the records for the console's "!", sorted by address.
func (r *records) lines(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	addrs := make([]string, 0, len(r.byAddr))
	for a := range r.byAddr {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		rec := r.byAddr[a]
		var b strings.Builder
		fmt.Fprintf(&b, "%s successes=%d failures=%d last=%s", a, rec.successes, rec.failures,
			rec.lastAttempt.UTC().Format(time.RFC3339))
		if now.Before(rec.blockedUntil) {
			fmt.Fprintf(&b, " blocklisted until %s", rec.blockedUntil.UTC().Format(time.RFC3339))
		} else {
			b.WriteString(" blocklisted=no")
		}
		if rec.lastError != "" {
			fmt.Fprintf(&b, " error=%q", rec.lastError)
		}
		out = append(out, b.String())
	}
	return out
}
