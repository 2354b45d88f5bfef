package gossiper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// echoServer runs Serve with a handler that answers every line with "ok"
// and counts the connections it got and the ones that ended.
type echoServer struct {
	addr          string
	hook          *logtest.Hook
	served, ended atomic.Int32
	stop          func() error // cancels, waits for Serve and returns its error
}

func startServe(t *testing.T, limits ListenerLimits) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	if os.Getenv("ACCEPT_TEST_LOG") != "" {
		log.SetOutput(os.Stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &echoServer{addr: ln.Addr().String(), hook: hook}
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, limits, log, func(c net.Conn) {
			s.served.Add(1)
			defer s.ended.Add(1)
			r := bufio.NewReader(c)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				if _, err := io.WriteString(c, "ok\n"); err != nil {
					return
				}
			}
		})
	}()
	s.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return within 10 s of cancel")
		}
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// dialFrom connects to addr from the loopback address from (all of 127/8
// is loopback on Linux).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// served reports whether the server answers a line on c.
func served(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "hi\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ok\n"
}

// closedByServer reports whether the server closed c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countLogged(h *logtest.Hook, msg string) int {
	n := 0
	for _, e := range h.AllEntries() {
		if e.Message == msg {
			n++
		}
	}
	return n
}

// TestIdleFloodFromOneAddressLocksNobodyOut: 200 connections from
// 127.0.0.1 that send nothing are held; only MaxPerIP of them get a slot,
// and a peer from 127.0.0.2 is served meanwhile. The refusals are logged
// at a bounded rate.
func TestIdleFloodFromOneAddressLocksNobodyOut(t *testing.T) {
	begin := time.Now()
	s := startServe(t, ListenerLimits{})
	idle := make([]net.Conn, 200)
	for i := range idle {
		idle[i] = dialFrom(t, "127.0.0.1", s.addr)
	}
	honest := dialFrom(t, "127.0.0.2", s.addr)
	if !served(honest) {
		t.Fatal("a peer from another address was not served during the flood")
	}
	// The listener takes connections in order: the flood was judged
	// before the honest peer.
	if got := s.served.Load(); got != DefaultMaxPerIP+1 {
		t.Fatalf("%d connections got a slot, want %d of the flood and the honest one", got, DefaultMaxPerIP)
	}
	refusals := countLogged(s.hook, "connection refused: too many from this address")
	if bound := RateLogBurst + int(RateLogPerSecond*time.Since(begin).Seconds()) + 1; refusals == 0 || refusals > bound {
		t.Fatalf("%d refusals of %d logged, want 1 to %d", refusals, len(idle)-DefaultMaxPerIP, bound)
	}
	for _, e := range s.hook.AllEntries() {
		if e.Message == "connection refused: too many from this address" && !strings.HasPrefix(e.Data["peer"].(string), "127.0.0.1:") {
			t.Fatalf("refusal logged with peer=%v", e.Data["peer"])
		}
	}
}

// TestQuietConnectionsGiveTheirSlotsBackOnlyWhenWanted: connections that
// send nothing are kept as long as nobody is refused; once an address is
// refused, its quiet connections are closed, not its talking one, nor the
// quiet one of another address; the freed slots take new connections.
func TestQuietConnectionsGiveTheirSlotsBackOnlyWhenWanted(t *testing.T) {
	const quiet = 300 * time.Millisecond
	s := startServe(t, ListenerLimits{MaxConns: 16, MaxPerIP: 5, QuietTimeout: quiet})
	var quietOnes []net.Conn
	for range 4 {
		quietOnes = append(quietOnes, dialFrom(t, "127.0.0.1", s.addr))
	}
	talker := dialFrom(t, "127.0.0.1", s.addr)
	other := dialFrom(t, "127.0.0.2", s.addr)
	eventually(t, "six connections served", func() bool { return s.served.Load() == 6 })
	stopTalking := make(chan struct{})
	talked := make(chan struct{})
	go func() {
		defer close(talked)
		r := bufio.NewReader(talker)
		for {
			select {
			case <-stopTalking:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := io.WriteString(talker, "hi\n"); err != nil {
				return
			}
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
		}
	}()
	defer func() { close(stopTalking); <-talked }()

	// Nobody is refused: quiet connections cost nothing and stay.
	time.Sleep(3 * quiet)
	if n := s.ended.Load(); n != 0 {
		t.Fatalf("%d connections closed while nobody wanted their slots", n)
	}

	over := dialFrom(t, "127.0.0.1", s.addr)
	if !closedByServer(over, 10*time.Second) {
		t.Fatal("a sixth connection from 127.0.0.1 was kept")
	}
	for i, c := range quietOnes {
		if !closedByServer(c, 10*time.Second) {
			t.Fatalf("quiet connection %d kept after a refusal", i)
		}
	}
	eventually(t, "a reclaim logged", func() bool {
		return countLogged(s.hook, "connection closed: quiet while others were refused") > 0
	})
	// Each slot is given back once: four new connections fit, a fifth
	// does not.
	for range 4 {
		if c := dialFrom(t, "127.0.0.1", s.addr); !served(c) {
			t.Fatal("a freed slot was not given to a new connection")
		}
	}
	if !closedByServer(dialFrom(t, "127.0.0.1", s.addr), 10*time.Second) {
		t.Fatal("more connections from 127.0.0.1 than MaxPerIP")
	}
	if !served(other) {
		t.Fatal("the quiet connection of another address was closed")
	}
	select {
	case <-talked:
		t.Fatal("the talking connection was closed")
	default:
	}
}

// TestSlotsAreReleasedOnceAndNeverLeak: closing a connection, however
// often, gives its slot back once; after everything is closed, a full
// MaxPerIP of connections from one address is accepted again.
func TestSlotsAreReleasedOnceAndNeverLeak(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := logtest.NewNullLogger()
	lim, err := LimitListener(ln, ListenerLimits{MaxConns: 8, MaxPerIP: 4}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	for round := range 3 {
		var clients, accepted []net.Conn
		for range 5 {
			clients = append(clients, dialFrom(t, "127.0.0.1", ln.Addr().String()))
		}
		// The fifth is refused inside Accept; the next one to return is
		// from another address.
		clients = append(clients, dialFrom(t, "127.0.0.3", ln.Addr().String()))
		for range 5 {
			c, err := lim.Accept()
			if err != nil {
				t.Fatal(err)
			}
			accepted = append(accepted, c)
		}
		if got := accepted[4].RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.3" {
			t.Fatalf("round %d: fifth connection accepted from %s, want 127.0.0.3", round, got)
		}
		for _, c := range accepted {
			c.Close()
			c.Close()
		}
		for _, c := range clients {
			c.Close()
		}
		lim.mu.Lock()
		total, addrs := lim.total, len(lim.byIP)
		lim.mu.Unlock()
		if total != 0 || addrs != 0 {
			t.Fatalf("round %d: %d slots taken by %d addresses after every connection closed", round, total, addrs)
		}
	}
}

// TestCancelClosesEveryConnectionAndServeReturns: handlers blocked reading
// peers that send nothing end when the context is cancelled, and Serve
// returns after them.
func TestCancelClosesEveryConnectionAndServeReturns(t *testing.T) {
	s := startServe(t, ListenerLimits{})
	var conns []net.Conn
	for range 20 {
		conns = append(conns, dialFrom(t, "127.0.0.1", s.addr))
	}
	eventually(t, "every connection served", func() bool { return s.served.Load() == 20 })
	begin := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	if n := s.ended.Load(); n != 20 {
		t.Fatalf("Serve returned with %d of 20 handlers still running", 20-n)
	}
	for i, c := range conns {
		if !closedByServer(c, 5*time.Second) {
			t.Fatalf("connection %d left open", i)
		}
	}
}

// flakyListener fails every Accept with a temporary error, as when the
// process is out of descriptors, until it is closed.
type flakyListener struct {
	net.Listener
	calls  atomic.Int32
	closed atomic.Bool
}

func (f *flakyListener) Accept() (net.Conn, error) {
	f.calls.Add(1)
	if f.closed.Load() {
		return nil, net.ErrClosed
	}
	return nil, errors.New("accept: too many open files")
}

func (f *flakyListener) Close() error {
	f.closed.Store(true)
	return f.Listener.Close()
}

// TestAcceptErrorsBackOff: an accept that keeps failing is retried with a
// backoff, not in a spin, and cancelling ends the loop.
func TestAcceptErrorsBackOff(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyListener{Listener: ln}
	log, hook := logtest.NewNullLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, flaky, ListenerLimits{}, log, func(net.Conn) {}) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// Doubling from 5 ms, about 7 tries fit in 500 ms; a spin makes
	// millions.
	if n := flaky.calls.Load(); n < 2 || n > 50 {
		t.Fatalf("%d accepts in 500 ms", n)
	}
	if countLogged(hook, "accept failed") == 0 {
		t.Fatal("accept errors not logged")
	}
}

// TestServeReportsAListenerClosedUnderIt: a listener closed by someone
// else is an error, not a shutdown.
func TestServeReportsAListenerClosedUnderIt(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := logtest.NewNullLogger()
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), ln, ListenerLimits{}, log, func(net.Conn) {}) }()
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) || !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Fatalf("Serve returned %v, want the listener's address and net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestHTTPServerOverALimitedListener is the GUI's setup: http.Server on a
// LimitedListener, with ReadHeaderTimeout and IdleTimeout but no read
// deadline. During a flood of idle connections from 127.0.0.1, a request
// from 127.0.0.2 is answered; the idle ones are closed by the server's
// timeouts and give their slots back; an event stream opened before lives
// on past every timeout; Close ends it and frees every slot.
func TestHTTPServerOverALimitedListener(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := logtest.NewNullLogger()
	lim, err := LimitListener(ln, ListenerLimits{}, log)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			if _, err := io.WriteString(w, "data: tick\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	const timeout = 300 * time.Millisecond
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: timeout, IdleTimeout: timeout}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(lim)
	}()
	defer func() {
		srv.Close()
		<-served
	}()
	base := "http://" + ln.Addr().String()
	transport := func(from string) *http.Transport {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		return &http.Transport{DialContext: d.DialContext}
	}
	get := func(from string) error {
		resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: transport(from)}).Get(base + "/id")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != "ok" {
			return fmt.Errorf("GET /id: %q, %v", b, err)
		}
		return nil
	}

	req, err := http.NewRequest("GET", base+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := transport("127.0.0.1").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	idle := make([]net.Conn, 200)
	for i := range idle {
		idle[i] = dialFrom(t, "127.0.0.1", ln.Addr().String())
	}
	if err := get("127.0.0.2"); err != nil {
		t.Fatalf("from another address during the flood: %v", err)
	}
	for i, c := range idle {
		if !closedByServer(c, 10*time.Second) {
			t.Fatalf("idle connection %d kept", i)
		}
	}
	if err := get("127.0.0.1"); err != nil {
		t.Fatalf("from the flooding address once its idle connections were closed: %v", err)
	}
	// Well past both timeouts, the stream still brings events.
	until := time.Now().Add(4 * timeout)
	for time.Now().Before(until) {
		if line, err := events.ReadString('\n'); err != nil {
			t.Fatalf("event stream cut: %q, %v", line, err)
		}
	}
	srv.Close()
	<-served
	if _, err := io.Copy(io.Discard, events); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("event stream after Close: %v", err)
	}
	eventually(t, "every slot given back", func() bool {
		lim.mu.Lock()
		defer lim.mu.Unlock()
		return lim.total == 0
	})
}

func TestListenerLimitsDefaultsAndChecks(t *testing.T) {
	for _, tc := range []struct {
		in   ListenerLimits
		want ListenerLimits
		err  string
	}{
		{in: ListenerLimits{}, want: ListenerLimits{MaxConns: 256, MaxPerIP: 32}},
		{in: ListenerLimits{MaxConns: 10}, want: ListenerLimits{MaxConns: 10, MaxPerIP: 5}},
		{in: ListenerLimits{MaxConns: 2}, want: ListenerLimits{MaxConns: 2, MaxPerIP: 1}},
		{in: ListenerLimits{MaxConns: 4, MaxPerIP: 4}, err: "MaxPerIP 4 must be below MaxConns 4"},
		{in: ListenerLimits{MaxConns: 1}, err: "MaxPerIP 1 must be below MaxConns 1"},
		{in: ListenerLimits{MaxPerIP: -1}, err: "negative"},
		{in: ListenerLimits{QuietTimeout: -time.Second}, err: "negative"},
	} {
		got, err := tc.in.WithDefaults()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%+v: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
