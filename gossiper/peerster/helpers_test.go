package peerster

import (
	"context"
	"math/rand"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/peerster-chat/Peerster/messages"
)

// fakeClock fires timers only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1795238500, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) gossiper.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// waitTimers waits until n timers are pending, so that Advance does not race
// the gossiper's goroutine arming them.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		pending := 0
		for _, tm := range c.timers {
			if !tm.stopped {
				pending++
			}
		}
		c.mu.Unlock()
		if pending >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d timers pending, want %d", pending, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Advance moves time forward and runs the timers that fall due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// constSource makes every coin flip and every random choice the same: 0
// gives heads and the first candidate, a large value tails and the last.
type constSource int64

func (s constSource) Int63() int64 { return int64(s) }
func (s constSource) Seed(int64)   {}

func heads() *rand.Rand { return rand.New(constSource(0)) }
func tails() *rand.Rand { return rand.New(constSource(1<<63 - 1)) }

// recorder is the host of a gossiper under test.
type recorder = gossipertest.Host

func addr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// fakePeer is a raw socket on the in-memory network, standing in for
// another implementation.
type fakePeer struct {
	t  *testing.T
	tr Transport
	in chan received
}

type received struct {
	from netip.AddrPort
	pkt  *messages.GossipPacket
}

func newFakePeer(t *testing.T, n *MemNetwork, a string) *fakePeer {
	tr, err := n.Listen(addr(a))
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{t: t, tr: tr, in: make(chan received, 1024)}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			k, from, err := tr.ReadFrom(buf)
			if err != nil {
				return
			}
			pkt, err := messages.DecodePacket(buf[:k])
			if err != nil {
				t.Errorf("gossiper sent an undecodable datagram: %v", err)
				continue
			}
			p.in <- received{from, pkt}
		}
	}()
	t.Cleanup(func() { tr.Close() })
	return p
}

func (p *fakePeer) send(to netip.AddrPort, pkt *messages.GossipPacket) {
	b, err := messages.EncodePacket(pkt)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.tr.WriteTo(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakePeer) sendRaw(to netip.AddrPort, b []byte) {
	if err := p.tr.WriteTo(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakePeer) expect(kind string) *messages.GossipPacket {
	p.t.Helper()
	select {
	case r := <-p.in:
		if r.pkt.Kind() != kind {
			p.t.Fatalf("got a %s packet %+v, want a %s", r.pkt.Kind(), r.pkt, kind)
		}
		return r.pkt
	case <-time.After(5 * time.Second):
		p.t.Fatalf("no %s packet arrived", kind)
	}
	return nil
}

func (p *fakePeer) expectNothing(d time.Duration) {
	p.t.Helper()
	select {
	case r := <-p.in:
		p.t.Fatalf("unexpected %s packet %+v", r.pkt.Kind(), r.pkt)
	case <-time.After(d):
	}
}

// startGossiper runs a gossiper at a on n until the test ends.
func startGossiper(t *testing.T, n *MemNetwork, a string, cfg Config) (*Gossiper, *recorder) {
	t.Helper()
	g, rec, stop := runGossiper(t, n, addr(a), cfg)
	t.Cleanup(stop)
	return g, rec
}

// runGossiper runs a gossiper at a on n until stop is called.
func runGossiper(t testing.TB, n *MemNetwork, a netip.AddrPort, cfg Config) (*Gossiper, *recorder, func()) {
	t.Helper()
	tr, err := n.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := gossipertest.NewHost(ProtocolName)
	g, err := New(cfg, tr, rec)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		if err := g.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return g, rec, func() {
		cancel()
		<-done
	}
}

func status(pairs ...any) *messages.GossipPacket {
	s := &messages.StatusPacket{}
	for i := 0; i < len(pairs); i += 2 {
		s.Want = append(s.Want, messages.PeerStatus{Identifier: pairs[i].(string), NextID: uint32(pairs[i+1].(int))})
	}
	return &messages.GossipPacket{Status: s}
}

func rumor(origin string, id int, text string) *messages.GossipPacket {
	return &messages.GossipPacket{Rumor: &messages.RumorMessage{Origin: origin, ID: uint32(id), Text: text}}
}

func wantStatus(t *testing.T, pkt *messages.GossipPacket, pairs ...any) {
	t.Helper()
	want := status(pairs...).Status.Want
	got := pkt.Status.Want
	if len(got) != len(want) {
		t.Fatalf("status %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("status %v, want %v", got, want)
		}
	}
}
