package digits

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// Tests through real sockets on 127.0.0.1. The nodes share a clock that
// never fires, so nothing is pulled unless the test pulls, and every time
// they serve is the same fixed second.

// patience bounds every wait for something the nodes do on their own; runs
// on a loaded machine take a fraction of it.
const patience = 30 * time.Second

// loopbackDialer dials only loopback addresses, refusing any other without
// sending a packet, and records every address it was asked for.
type loopbackDialer struct {
	mu    sync.Mutex
	dials []string
	real  net.Dialer
}

func (l *loopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	l.dials = append(l.dials, addr)
	l.mu.Unlock()
	if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("test dialer: %s is off this machine; not dialled", addr)
	}
	return l.real.DialContext(ctx, network, addr)
}

func (l *loopbackDialer) count(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.dials {
		if a == addr {
			n++
		}
	}
	return n
}

func (l *loopbackDialer) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.dials...)
}

// startNode runs a digit node on a fresh 127.0.0.1 port until the test ends.
func startNode(t *testing.T, clock *fixedClock, dial *loopbackDialer, digit uint8) *Digits {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Self: ln.Addr().String(), Digit: &digit, Clock: clock, Timeout: patience, BackoffBase: 3 * time.Second, BackoffMax: time.Minute}
	if dial != nil {
		cfg.Dial = dial
	}
	d, err := New(cfg, ln, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "node "+cfg.Self+" serves its own entry", func() bool { _, ok := d.table.own(); return ok })
	return d
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liar serves whatever lines it is given to every puller.
type liar struct {
	addr  string
	reply atomic.Pointer[[]byte]
}

func newLiar(t *testing.T) *liar {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln)
}

// serveOn answers the pulls of ln until the test ends.
func serveOn(t *testing.T, ln net.Listener) *liar {
	l := &liar{addr: ln.Addr().String()}
	l.serve()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetWriteDeadline(time.Now().Add(patience))
			c.Write(*l.reply.Load())
			c.Close()
		}
	}()
	return l
}

func (l *liar) serve(es ...messages.DigitEntry) {
	b := messages.FormatDigitTable(es)
	l.reply.Store(&b)
}

// pullTable reads a node's reply as any puller would, so the table checked
// is the one the node serves.
func pullTable(t *testing.T, addr string) map[string]messages.DigitEntry {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(patience))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := messages.ReadDigitReply(bytes.NewReader(b), now)
	if err != nil {
		t.Fatal(err)
	}
	// The tables here are far below the 256 lines a reader takes.
	if len(ls) != bytes.Count(b, []byte{'\n'}) {
		t.Fatalf("%s served %d lines, %d read", addr, bytes.Count(b, []byte{'\n'}), len(ls))
	}
	tab := map[string]messages.DigitEntry{}
	for _, l := range ls {
		if l.Err != nil {
			t.Fatalf("%s served a bad line: %v", addr, l.Err)
		}
		tab[l.Entry.Addr] = l.Entry
	}
	return tab
}

func holds(d *Digits, want messages.DigitEntry) bool {
	for _, e := range d.Entries() {
		if e.Addr == want.Addr {
			return e == want
		}
	}
	return false
}

func successes(d *Digits, addr string) int {
	d.records.mu.Lock()
	defer d.records.mu.Unlock()
	if rec := d.records.byAddr[addr]; rec != nil {
		return rec.successes
	}
	return 0
}

func ownEntry(t *testing.T, d *Digits) messages.DigitEntry {
	t.Helper()
	e, ok := d.table.own()
	if !ok {
		t.Fatal("no own entry")
	}
	return e
}

func checkTable(t *testing.T, d *Digits, want map[string]messages.DigitEntry) {
	t.Helper()
	got := pullTable(t, d.cfg.Self)
	for a, e := range want {
		if got[a] != e {
			t.Errorf("%s serves %+v for %s, want %+v", d.cfg.Self, got[a], a, e)
		}
	}
	for a, e := range got {
		if _, ok := want[a]; !ok {
			t.Errorf("%s serves %+v, which nobody sent", d.cfg.Self, e)
		}
	}
}

// TestLiarAboutAnotherNodeOverSockets: a liar serves owner B's address with
// B's time and a false digit. Node N1 takes the lie (it knows nothing
// better) and corrects it when it pulls B; node N2 takes the lie, then sees
// B's true line at the same time from an honest third party H, and pulls B
// by itself at once. After B has answered, the liar changes nothing and
// costs no further pull of B. Both end with the truth.
func TestLiarAboutAnotherNodeOverSockets(t *testing.T) {
	clock := &fixedClock{t: now}
	b := startNode(t, clock, nil, 5)
	h := startNode(t, clock, nil, 2)
	truth := ownEntry(t, b)
	h.Command("+" + b.cfg.Self)
	waitFor(t, "H learns B", func() bool { return holds(h, truth) })

	lie := truth
	lie.Digit = 1
	l := newLiar(t)
	liarOwn := messages.DigitEntry{Addr: l.addr, Time: now.Unix() - 5, Digit: 7}
	l.serve(lie, liarOwn)

	dial1, dial2 := &loopbackDialer{}, &loopbackDialer{}
	n1, n2 := startNode(t, clock, dial1, 3), startNode(t, clock, dial2, 4)
	for _, n := range []*Digits{n1, n2} {
		n.Command("+" + l.addr)
		waitFor(t, "the lie is taken before B is pulled", func() bool { return holds(n, lie) })
	}

	n1.Command("+" + b.cfg.Self)
	waitFor(t, "N1 holds B's own line after pulling B", func() bool { return holds(n1, truth) })

	n2.Command("+" + h.cfg.Self)
	waitFor(t, "N2 pulls B by itself and holds its own line", func() bool { return holds(n2, truth) })
	if dial2.count(b.cfg.Self) != 1 {
		t.Fatalf("N2 dialled %v; want exactly one pull of B, which the test never asked for", dial2.all())
	}

	for _, n := range []*Digits{n1, n2} {
		k := successes(n, l.addr)
		n.Command("+" + l.addr)
		waitFor(t, "the liar pulled again", func() bool { return successes(n, l.addr) > k })
	}
	if dial1.count(b.cfg.Self) != 1 || dial2.count(b.cfg.Self) != 1 {
		t.Errorf("pulls of B after the liar again: N1 %d, N2 %d; want one each", dial1.count(b.cfg.Self), dial2.count(b.cfg.Self))
	}
	hOwn := ownEntry(t, h)
	checkTable(t, n1, map[string]messages.DigitEntry{n1.cfg.Self: ownEntry(t, n1), b.cfg.Self: truth, l.addr: liarOwn})
	checkTable(t, n2, map[string]messages.DigitEntry{n2.cfg.Self: ownEntry(t, n2), b.cfg.Self: truth, l.addr: liarOwn, h.cfg.Self: hOwn})
}

// deadPort is a loopback port bound but not listening: a connection to it
// is refused, and no other process can take it until listen turns it into
// a live listener.
type deadPort struct {
	addr string
	fd   int
}

func newDeadPort(t *testing.T) *deadPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	p := &deadPort{addr: fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port), fd: fd}
	t.Cleanup(func() {
		if p.fd >= 0 {
			syscall.Close(p.fd)
		}
	})
	return p
}

// listen brings the port to life.
func (p *deadPort) listen(t *testing.T) net.Listener {
	t.Helper()
	if err := syscall.Listen(p.fd, 16); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(p.fd), p.addr)
	p.fd = -1
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestLiarOutOfScopeAndDeadAddressesOverSockets: a liar lists public,
// private and link-local addresses, one of them twice at the same time,
// and a dead loopback port. Our loopback node stores and serves them all
// but never dials one off loopback, tries the dead port a few times with
// back-off, then no more; when the port comes to life, a pull by the user
// puts it back in rotation.
func TestLiarOutOfScopeAndDeadAddressesOverSockets(t *testing.T) {
	clock := &fixedClock{t: now}
	dial := &loopbackDialer{}
	n := startNode(t, clock, dial, 3)
	dead := newDeadPort(t)
	l := newLiar(t)
	t0 := now.Unix() - 10
	served := []messages.DigitEntry{
		{Addr: l.addr, Time: t0, Digit: 7},
		{Addr: "8.8.8.8:80", Time: t0, Digit: 8},
		{Addr: "8.8.8.8:80", Time: t0, Digit: 9},
		{Addr: "10.1.2.3:80", Time: t0, Digit: 1},
		{Addr: "192.168.1.1:6410", Time: t0, Digit: 2},
		{Addr: "172.16.5.4:80", Time: t0, Digit: 3},
		{Addr: "169.254.1.1:80", Time: t0, Digit: 4},
		{Addr: "100.64.0.1:80", Time: t0, Digit: 5},
		{Addr: dead.addr, Time: t0, Digit: 6},
	}
	l.serve(served...)
	want := map[string]messages.DigitEntry{n.cfg.Self: ownEntry(t, n)}
	for _, e := range served {
		if _, ok := want[e.Addr]; !ok {
			want[e.Addr] = e
		}
	}
	n.Command("+" + l.addr)
	waitFor(t, "the liar's lines are stored", func() bool { return len(n.Entries()) == len(want) })
	n.settleQueued(context.Background()) // the 8.8.8.8 conflict, had it been queued

	// The rotation, run by hand on the node's clock: a pull a second.
	ctx := context.Background()
	for i := 0; i < 600; i++ {
		clock.advance(time.Second)
		n.pullRandom(ctx)
	}
	for _, a := range dial.all() {
		if ap := netip.MustParseAddrPort(a); !ap.Addr().IsLoopback() {
			t.Errorf("dialled %s, off loopback", a)
		}
	}
	if k := dial.count(dead.addr); k != retireAfter {
		t.Fatalf("dead port dialled %d times in 10 minutes, want %d", k, retireAfter)
	}
	if dial.count(l.addr) < 100 {
		t.Fatalf("the liar, alive and in scope, was pulled only %d times", dial.count(l.addr))
	}
	checkTable(t, n, want)

	// The port comes to life with a newer line; the user pulls it.
	alive := messages.DigitEntry{Addr: dead.addr, Time: t0 + 5, Digit: 0}
	serveOn(t, dead.listen(t)).serve(alive)
	n.Command("+" + dead.addr)
	waitFor(t, "the user's pull of the revived port", func() bool { return holds(n, alive) })
	k := dial.count(dead.addr)
	for i := 0; i < 60; i++ {
		clock.advance(time.Second)
		n.pullRandom(ctx)
	}
	if dial.count(dead.addr) == k {
		t.Fatal("the revived port did not return to the rotation")
	}
	want[dead.addr] = alive
	checkTable(t, n, want)
}
