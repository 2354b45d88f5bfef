package peerster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/peerster-chat/Peerster/messages"
)

func TestRumorWithAHugeOriginIsRefusedUnprintedAndUnacked(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads()})
	huge := strings.Repeat("x", 30_000)
	a.send(g.Addr(), rumor(huge, 1, "junk"))
	a.expectNothing(50 * time.Millisecond)
	a.send(g.Addr(), rumor("honest", 1, "hi"))
	wantStatus(t, untilStatus(a), "honest", 2) // the huge origin was never stored
	if len(rec.Messages()) != 1 || rec.Count(func(l string) bool { return strings.Contains(l, huge) }) != 0 {
		t.Fatalf("a refused origin was stored or printed: %d messages", len(rec.Messages()))
	}
}

// TestStatusFitsOneDatagramWhateverPeersSend is the attack that once
// stopped anti-entropy at every node: origins as long and as many as a
// peer likes, from one address and then from many.
func TestStatusFitsOneDatagramWhateverPeersSend(t *testing.T) {
	n := NewMemNetwork(1)
	g, _ := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads(), NewOriginBurst: 1 << 20})
	for i := range 3 {
		g.post(func() { g.handleRumor(addr(peerA), rumor(strings.Repeat(string(rune('a'+i)), 30_000), 1, "x").Rumor) })
	}
	for i := range 10_000 {
		from := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(6000+i%500))
		origin := fmt.Sprintf("%s%05d", strings.Repeat("o", 100), i)
		g.post(func() { g.handleRumor(from, rumor(origin, 1, "x").Rumor) })
	}
	var size, origins int
	if err := g.call(func() error {
		b, err := messages.EncodePacket(&messages.GossipPacket{Status: g.store.vector.Status()})
		size, origins = len(b), g.store.vector.Len()
		return err
	}); err != nil {
		t.Fatalf("status no longer encodes: %v", err)
	}
	if size > g.cfg.MaxStatusBytes {
		t.Fatalf("status of %d origins is %d bytes, over the %d-byte budget", origins, size, g.cfg.MaxStatusBytes)
	}
	if origins < 200 {
		t.Fatalf("only %d origins of 105 bytes fit a 32 KiB status", origins)
	}
	t.Logf("%d origins of 105 bytes kept, status %d bytes", origins, size)
}

func TestNewOriginsFromOneAddressAreRationedOthersStillGetIn(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: heads(), NewOriginBurst: 3, NewOriginEvery: 10 * time.Second})
	for i := range 3 {
		a.send(g.Addr(), rumor(fmt.Sprintf("junk%d", i), 1, "x"))
		untilStatus(a)
	}
	a.send(g.Addr(), rumor("junk3", 1, "x"))
	// Refused, and not acked, so the sender does not send it straight back.
	b.send(g.Addr(), rumor("honest", 1, "hello"))
	untilStatus(b)
	msgs := rec.Messages()
	var origins []string
	for _, m := range msgs {
		origins = append(origins, m.Origin)
	}
	if slices.Contains(origins, "junk3") || !slices.Contains(origins, "honest") {
		t.Fatalf("kept %v: want junk0-2 and honest, not junk3", origins)
	}
	clock.Advance(10 * time.Second)
	a.send(g.Addr(), rumor("junk3", 1, "x"))
	got := untilStatus(a).Status.Want
	if !slices.ContainsFunc(got, func(ps messages.PeerStatus) bool { return ps.Identifier == "junk3" }) {
		t.Fatalf("status %v lacks junk3 once the quota refilled", got)
	}
}

// untilStatus skips what else p receives (rumors mongered to it) until a
// status comes.
func untilStatus(p *fakePeer) *messages.GossipPacket {
	p.t.Helper()
	for {
		select {
		case r := <-p.in:
			if r.pkt.Status != nil {
				return r.pkt
			}
		case <-time.After(5 * time.Second):
			p.t.Fatal("no status packet arrived")
		}
	}
}

func TestSimpleMessageCannotInjectAPeer(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads()})
	a.send(g.Addr(), &messages.GossipPacket{Simple: &messages.SimpleMessage{OriginalName: "Spoof", RelayPeerAddr: "10.99.0.1:5000", Contents: "x"}})
	// The line shows the source, not the relay named; only the source
	// becomes a peer.
	rec.WaitLine(t, "SIMPLE MESSAGE origin Spoof from 127.0.0.1:5001 contents x", 5*time.Second)
	if got := g.Peers(); !slices.Equal(got, []string{peerA}) {
		t.Fatalf("peers %v, want only the source %s", got, peerA)
	}
}

func TestLearnedPeersThatFallSilentAreDroppedConfiguredOnesKept(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: clock, Rand: heads(), PeerTimeout: time.Minute})
	// Each packet is told apart by its status, and handled before the
	// clock moves on.
	say := func(p *fakePeer, mark string) {
		t.Helper()
		p.send(g.Addr(), status(mark, 1))
		rec.WaitLine(t, "STATUS from "+p.tr.LocalAddr().String()+" peer "+mark+" nextID 1", 5*time.Second)
	}
	say(b, "b1")
	waitPeers(t, g, peerA, peerB)
	clock.Advance(59 * time.Second)
	say(b, "b2") // still alive
	clock.Advance(59 * time.Second)
	say(a, "a1") // any packet lets the node look at its list
	waitPeers(t, g, peerA, peerB)
	// Peers are looked at every quarter of PeerTimeout.
	clock.Advance(16 * time.Second)
	say(a, "a2")
	waitPeers(t, g, peerA)
	// Speaking again makes it a peer again.
	say(b, "b3")
	waitPeers(t, g, peerA, peerB)
}

// unreachable fails every send to one address, as a socket does once the
// kernel knows the address cannot be reached.
type unreachable struct {
	Transport
	to netip.AddrPort
}

func (u unreachable) WriteTo(p []byte, to netip.AddrPort) error {
	if to == u.to {
		return errors.New("network is unreachable")
	}
	return u.Transport.WriteTo(p, to)
}

func TestLearnedPeerWhoseSendsKeepFailingIsDropped(t *testing.T) {
	n := NewMemNetwork(1)
	b := newFakePeer(t, n, peerB)
	tr, err := n.Listen(addr(us))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Name: "G", Clock: newFakeClock(), Rand: heads(), MaxSendFailures: 3},
		unreachable{tr, addr(peerB)}, gossipertest.NewHost(ProtocolName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); <-done }()

	b.send(g.Addr(), status("X", 2)) // asks for our status, which fails
	waitPeers(t, g, peerB)
	for i := range 2 {
		if err := g.Say(fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitPeers(t, g)
}

func waitPeers(t *testing.T, g *Gossiper, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := g.Peers()
		if slices.Equal(got, want) || (len(got) == 0 && len(want) == 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers %v, want %v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRumorSpeakingAsUsIsKeptMarkedSuspectAndOursTakesTheNextID(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: newFakeClock(), Rand: tails()})
	if err := g.Say("mine"); err != nil {
		t.Fatal(err)
	}
	untilRumor(a)
	a.send(g.Addr(), rumor("G", 2, "forged"))
	wantStatus(t, untilStatus(a), "G", 3)
	if err := g.Say("real"); err != nil {
		t.Fatal(err)
	}
	r := untilRumor(a).Rumor
	for r.Text != "real" { // the forgery is mongered to a too
		r = untilRumor(a).Rumor
	}
	if r.ID != 3 {
		t.Fatalf("our next message went out as %+v, want ID 3", r)
	}
	var got []string
	for _, m := range rec.Messages() {
		got = append(got, fmt.Sprintf("%s:%d %s suspect=%v", m.Origin, m.ID, m.Text, m.Suspect))
	}
	want := []string{"G:1 mine suspect=false", "G:2 forged suspect=true", "G:3 real suspect=false"}
	if !slices.Equal(got, want) {
		t.Fatalf("chat %q, want %q", got, want)
	}
}

func untilRumor(p *fakePeer) *messages.GossipPacket {
	p.t.Helper()
	for {
		select {
		case r := <-p.in:
			if r.pkt.Rumor != nil {
				return r.pkt
			}
		case <-time.After(5 * time.Second):
			p.t.Fatal("no rumor arrived")
		}
	}
}
