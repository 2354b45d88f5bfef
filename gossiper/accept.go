package gossiper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults of ListenerLimits.
const (
	// DefaultMaxConns bounds the descriptors and goroutines one listener
	// can cost.
	DefaultMaxConns = 256
	// DefaultMaxPerIP is an eighth of DefaultMaxConns, so at least eight
	// addresses are needed to fill a listener. Every node on this machine
	// connects from 127.0.0.1, and the end-to-end tests run up to about 20
	// daemons against one node: 32 leaves room for them.
	DefaultMaxPerIP = 32
)

// ListenerLimits are the caps and the deadline of a TCP listener, so that
// idle or hostile connections cannot take every slot: one address can
// never hold more than MaxPerIP of them, and a connection that sends
// nothing gives its slot back once others are being turned away. Zero
// fields take the documented defaults.
type ListenerLimits struct {
	// Metrics, when set, counts the connections accepted, refused and
	// open.
	Metrics *ProtocolMetrics
	// MaxConns caps the connections open at once; further ones are closed
	// as soon as they are accepted. Default 256.
	MaxConns int
	// MaxPerIP caps the connections open at once from one address: an
	// IPv4 address, or an IPv6 /64, which one host usually has whole. It
	// must be below MaxConns, so that no address can fill the listener.
	// Default 32, or half of a MaxConns under 64.
	MaxPerIP int
	// QuietTimeout, when set, closes a connection that has sent nothing
	// for that long (since it was accepted or since its last byte), but
	// only once a connection has been refused since it fell quiet: one
	// from its own address (over MaxPerIP) or any (over MaxConns). Some
	// honest peers are silent for as long as nobody chats (a pdxgo
	// whisper peer sends nothing, and loses the message it writes next
	// into a connection we closed), so a quiet connection costs nothing
	// until its slot is wanted; then whoever holds slots without using
	// them gives them back. Zero: never.
	QuietTimeout time.Duration
}

// WithDefaults fills in the zero fields and checks the limits.
func (l ListenerLimits) WithDefaults() (ListenerLimits, error) {
	if l.MaxConns < 0 || l.MaxPerIP < 0 || l.QuietTimeout < 0 {
		return l, fmt.Errorf("listener limits %+v: negative", l)
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxPerIP == 0 {
		l.MaxPerIP = min(DefaultMaxPerIP, max(l.MaxConns/2, 1))
	}
	if l.MaxPerIP >= l.MaxConns {
		return l, fmt.Errorf("listener limits: MaxPerIP %d must be below MaxConns %d, or one address could take every slot", l.MaxPerIP, l.MaxConns)
	}
	return l, nil
}

// LimitedListener is a net.Listener that enforces ListenerLimits: Accept
// closes at once the connections over a cap, logs them at a bounded rate,
// and returns the others wrapped, so that each gives its slot back exactly
// once when it is closed. It suits http.Server.Serve.
type LimitedListener struct {
	net.Listener
	limits ListenerLimits
	log    logrus.FieldLogger
	rl     *RateLog
	// epoch makes times monotonic offsets, which fit in an atomic.
	epoch time.Time

	mu    sync.Mutex
	total int
	byIP  map[netip.Prefix]*ipSlots
	// refusedAt is when a connection was last refused over MaxConns; -1
	// when never.
	refusedAt time.Duration
}

type ipSlots struct {
	open int
	// refusedAt is when a connection from this address was last refused
	// over MaxPerIP; -1 when never.
	refusedAt time.Duration
}

// LimitListener wraps ln so that its connections stay within limits.
// Refusals and reclaimed connections are logged to log at a bounded rate.
func LimitListener(ln net.Listener, limits ListenerLimits, log logrus.FieldLogger) (*LimitedListener, error) {
	limits, err := limits.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("listener on %s: %w", ln.Addr(), err)
	}
	return &LimitedListener{
		Listener:  ln,
		limits:    limits,
		log:       log,
		rl:        NewRateLog(nil),
		epoch:     time.Now(),
		byIP:      make(map[netip.Prefix]*ipSlots),
		refusedAt: -1,
	}, nil
}

func (l *LimitedListener) since() time.Duration { return time.Since(l.epoch) }

// Accept returns the next connection within the limits; the ones over a
// cap are closed without ever being returned.
func (l *LimitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit takes a slot for c, or closes c and returns nil.
func (l *LimitedListener) admit(c net.Conn) *limitedConn {
	key := addrKey(c.RemoteAddr())
	now := l.since()
	l.mu.Lock()
	slots := l.byIP[key]
	var refusal string
	var limit int
	switch {
	case l.total >= l.limits.MaxConns:
		l.refusedAt = now
		refusal, limit = "connection refused: too many connections", l.limits.MaxConns
		l.limits.Metrics.connRefused("max connections")
	case slots != nil && slots.open >= l.limits.MaxPerIP:
		slots.refusedAt = now
		refusal, limit = "connection refused: too many from this address", l.limits.MaxPerIP
		l.limits.Metrics.connRefused("max per address")
	default:
		if slots == nil {
			slots = &ipSlots{refusedAt: -1}
			l.byIP[key] = slots
		}
		slots.open++
		l.total++
	}
	l.mu.Unlock()
	if refusal != "" {
		c.Close()
		l.rl.Warn(l.log.WithField("peer", c.RemoteAddr().String()).WithField("max", limit), refusal)
		return nil
	}
	l.limits.Metrics.connAccepted()
	lc := &limitedConn{Conn: c, l: l, key: key}
	lc.heard.Store(int64(now))
	if q := l.limits.QuietTimeout; q > 0 {
		lc.timerMu.Lock()
		lc.timer = time.AfterFunc(q, lc.checkQuiet)
		lc.timerMu.Unlock()
	}
	return lc
}

// release gives back the slot of a connection from key.
func (l *LimitedListener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if s := l.byIP[key]; s != nil {
		if s.open--; s.open == 0 {
			// An address with nothing open has nothing to reclaim: the
			// map holds at most MaxConns addresses.
			delete(l.byIP, key)
		}
	}
}

// refusedSince reports whether a connection from key, or any over
// MaxConns, was refused after t.
func (l *LimitedListener) refusedSince(key netip.Prefix, t time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refusedAt > t {
		return true
	}
	s := l.byIP[key]
	return s != nil && s.refusedAt > t
}

// addrKey is what MaxPerIP counts by: the IP, or its /64 for IPv6.
// Addresses that are not IP (in tests, pipes) share one key.
func addrKey(a net.Addr) netip.Prefix {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr().Unmap()
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ip = ap.Addr().Unmap()
		}
	}
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limitedConn is an accepted connection holding one slot of its listener.
type limitedConn struct {
	net.Conn
	l   *LimitedListener
	key netip.Prefix
	// heard is when the connection was accepted or last sent a byte, as
	// an offset from the listener's epoch.
	heard atomic.Int64

	releaseOnce sync.Once
	timerMu     sync.Mutex
	timer       *time.Timer // nil without QuietTimeout
	closed      bool        // guarded by timerMu: no timer may be rearmed
}

func (c *limitedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.heard.Store(int64(c.l.since()))
	}
	return n, err
}

// Close closes the connection and gives its slot back, once however often
// it is called.
func (c *limitedConn) Close() error {
	c.releaseOnce.Do(func() {
		c.timerMu.Lock()
		c.closed = true
		if c.timer != nil {
			c.timer.Stop()
		}
		c.timerMu.Unlock()
		c.l.release(c.key)
		c.l.limits.Metrics.connClosed()
	})
	return c.Conn.Close()
}

// CloseWrite half-closes the connection when the socket can: p2p's
// refusal and http.Server rely on it to finish gently.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("close write to %s: %w", c.RemoteAddr(), errors.ErrUnsupported)
}

// checkQuiet runs when the connection may have been quiet for
// QuietTimeout: it closes it if a connection was refused since it fell
// quiet, and otherwise looks again when it next may be.
func (c *limitedConn) checkQuiet() {
	q := c.l.limits.QuietTimeout
	heard := time.Duration(c.heard.Load())
	wait := heard + q - c.l.since()
	if wait <= 0 {
		if c.l.refusedSince(c.key, heard) {
			c.l.rl.Info(c.l.log.WithField("peer", c.RemoteAddr().String()).WithField("quiet", q),
				"connection closed: quiet while others were refused")
			c.Close()
			return
		}
		// Quiet, but nobody wants its slot yet.
		wait = q
	}
	c.timerMu.Lock()
	if !c.closed {
		c.timer.Reset(wait)
	}
	c.timerMu.Unlock()
}

// Serve is the accept loop of every TCP listener of the node. It accepts
// connections on ln within limits and runs handle on each in a goroutine
// of its own; handle need not close the connection. Temporary accept
// errors (out of descriptors) are retried with a backoff, never in a
// spin. When ctx is done, Serve closes ln and every connection it
// accepted, waits for every handle to return, and returns nil; when ln
// fails for good it does the same and returns the error.
func Serve(ctx context.Context, ln net.Listener, limits ListenerLimits, log logrus.FieldLogger, handle func(net.Conn)) error {
	lim, err := LimitListener(ln, limits, log)
	if err != nil {
		ln.Close()
		return err
	}
	var (
		mu     sync.Mutex
		open   = make(map[net.Conn]struct{})
		closed bool
		wg     sync.WaitGroup
	)
	// Closing every connection is what makes shutdown prompt: a handler
	// blocked reading a silent peer or writing to a stalled one returns.
	closeAll := func() {
		lim.Close()
		mu.Lock()
		closed = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer func() {
		stop()
		closeAll()
		wg.Wait()
	}()
	retry := NewBackoff(5*time.Millisecond, time.Second)
	for {
		c, err := lim.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
			}
			wait := retry.Next()
			lim.rl.Warn(log.WithError(err).WithField("retry", wait), "accept failed")
			if !Sleep(ctx, SystemClock(), wait) {
				return nil
			}
			continue
		}
		retry.Reset()
		mu.Lock()
		if closed {
			mu.Unlock()
			c.Close()
			continue
		}
		open[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				c.Close()
			}()
			handle(c)
		}()
	}
}
