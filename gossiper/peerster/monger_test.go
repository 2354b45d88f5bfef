package peerster

import (
	"math/rand"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

const (
	us    = "127.0.0.1:5000"
	peerA = "127.0.0.1:5001"
	peerB = "127.0.0.1:5002"
)

// betweenAAndB runs gossiper G with the fake peers A and B as its -peers.
func betweenAAndB(t *testing.T, clock *fakeClock, coin *rand.Rand) (*Gossiper, *recorder, *fakePeer, *fakePeer) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA), addr(peerB)}, Clock: clock, Rand: coin})
	return g, rec, a, b
}

func TestRumorIsPrintedAckedAndMongeredToAnotherPeer(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerB)}, Clock: newFakeClock(), Rand: heads()})

	a.send(g.Addr(), rumor("Z", 1, "probe"))
	wantStatus(t, a.expect("status"), "Z", 2)
	got := b.expect("rumor").Rumor
	if got.Origin != "Z" || got.ID != 1 || got.Text != "probe" {
		t.Fatalf("mongered %+v", got)
	}
	rec.WaitLine(t, "RUMOR origin Z from 127.0.0.1:5001 ID 1 contents probe", 5*time.Second)
	rec.WaitLine(t, "PEERS 127.0.0.1:5002,127.0.0.1:5001", 5*time.Second)
	rec.WaitLine(t, "MONGERING with 127.0.0.1:5002", 5*time.Second)
	if c := rec.Messages(); len(c) != 1 || c[0].Origin != "Z" || c[0].From != peerA {
		t.Fatalf("chat log %+v", c)
	}
}

func TestRumorPastAGapIsNotStored(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads()})

	a.send(g.Addr(), rumor("Q", 5, "early"))
	wantStatus(t, a.expect("status"))
	rec.WaitLine(t, "RUMOR origin Q from 127.0.0.1:5001 ID 5 contents early", 5*time.Second)
	a.expectNothing(50 * time.Millisecond)
	if len(rec.Messages()) != 0 {
		t.Fatalf("stored a rumor past a gap: %+v", rec.Messages())
	}
	// Filling the gap in order stores every one of them.
	for id := 1; id <= 5; id++ {
		a.send(g.Addr(), rumor("Q", id, "m"))
		wantStatus(t, a.expect("status"), "Q", id+1)
		if id < 5 {
			// We are A's only peer, so A gets each new rumor mongered back.
			a.expect("rumor")
		}
	}
}

func TestStatusShowingPeerLacksAMessageSendsItInOrder(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: tails()})
	if err := g.Say("one"); err != nil {
		t.Fatal(err)
	}
	if err := g.Say("two"); err != nil {
		t.Fatal(err)
	}
	rec.WaitLine(t, "CLIENT MESSAGE one", 5*time.Second)
	rec.WaitLine(t, "CLIENT MESSAGE two", 5*time.Second)

	a.send(g.Addr(), status("G", 1))
	for {
		// The first exchange of G's messages is ours to see: G has no peers
		// until A speaks, so it mongers nothing until now.
		r := a.expect("rumor").Rumor
		if r.ID == 1 {
			break
		}
	}
	a.send(g.Addr(), status("G", 2))
	if r := a.expect("rumor").Rumor; r.ID != 2 || r.Text != "two" {
		t.Fatalf("sent %+v after ack of 1, want ID 2", r)
	}
	a.send(g.Addr(), status("G", 3))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
}

func TestStatusShowingPeerHasMoreAsksWithOurStatus(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads()})
	a.send(g.Addr(), status("X", 3))
	wantStatus(t, a.expect("status"))
	rec.WaitLine(t, "STATUS from 127.0.0.1:5001 peer X nextID 3", 5*time.Second)
	if rec.Count(gossipertest.Prefix("IN SYNC")) != 0 {
		t.Fatal("printed IN SYNC while the peer has more")
	}
}

func TestEmptyStatusPrintsTheTrailingSpaceOf2018Nodes(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: tails()})
	a.send(g.Addr(), status())
	rec.WaitLine(t, "STATUS from 127.0.0.1:5001 ", 5*time.Second)
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
}

func TestInSyncAckFlipsCoinTowardsTheOtherPeer(t *testing.T) {
	g, rec, a, b := betweenAAndB(t, newFakeClock(), heads())
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	// heads() picks the first candidate lacking the rumor: A.
	a.expect("rumor")
	a.send(g.Addr(), status("G", 2))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
	rec.WaitLine(t, "FLIPPED COIN sending rumor to 127.0.0.1:5002", 5*time.Second)
	if r := b.expect("rumor").Rumor; r.Origin != "G" || r.ID != 1 {
		t.Fatalf("flipped %+v", r)
	}
}

func TestTailsStopsMongeringAndProbesPeersThatMayLackIt(t *testing.T) {
	g, rec, a, b := betweenAAndB(t, newFakeClock(), tails())
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	// tails() picks the last candidate: B.
	b.expect("rumor")
	b.send(g.Addr(), status("G", 2))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5002", 5*time.Second)
	// No rumor to A on tails, only our status: anti-entropy started early.
	wantStatus(t, a.expect("status"), "G", 2)
	a.expectNothing(50 * time.Millisecond)
	// A's answer shows it lacks the rumor, which then goes to A.
	a.send(g.Addr(), status())
	if r := a.expect("rumor").Rumor; r.Origin != "G" || r.ID != 1 {
		t.Fatalf("sent %+v", r)
	}
	if rec.Count(gossipertest.Prefix("FLIPPED COIN")) != 0 {
		t.Fatal("flipped on tails")
	}
}

func TestAckTimeoutFlipsToAnotherPeer(t *testing.T) {
	clock := newFakeClock()
	g, rec, a, b := betweenAAndB(t, clock, heads())
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	a.expect("rumor")
	clock.waitTimers(t, 1)
	clock.Advance(999 * time.Millisecond)
	b.expectNothing(50 * time.Millisecond)
	clock.Advance(time.Millisecond)
	b.expect("rumor")
	rec.WaitLine(t, "FLIPPED COIN sending rumor to 127.0.0.1:5002", 5*time.Second)
}

func TestFreshRumorFlipsOnAnyInSyncStatusUntilItGoesStale(t *testing.T) {
	clock := newFakeClock()
	coin := &switchCoin{}
	g, rec, a, b := betweenAAndB(t, clock, rand.New(coin))

	a.send(g.Addr(), rumor("Z", 1, "news"))
	a.expect("status")
	b.expect("rumor") // mongered away from A
	coin.set(false)
	b.send(g.Addr(), status("Z", 2)) // B's ack ends the exchange: tails
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5002", 5*time.Second)
	a.expectNothing(50 * time.Millisecond) // A has Z1: no probe either

	// An in-sync status from A, with no exchange open with A, while Z1 is
	// fresh: it counts as the end of an exchange, and heads sends Z1 on.
	coin.set(true)
	a.send(g.Addr(), status("Z", 2))
	rec.WaitLine(t, "FLIPPED COIN sending rumor to 127.0.0.1:5002", 5*time.Second)
	if r := b.expect("rumor").Rumor; r.Origin != "Z" || r.ID != 1 {
		t.Fatalf("flipped %+v", r)
	}
	coin.set(false)
	b.send(g.Addr(), status("Z", 2))
	waitCount(t, rec, "IN SYNC WITH 127.0.0.1:5002", 2)

	// Eleven seconds on, Z1 is stale: the same status flips nothing.
	clock.Advance(11 * time.Second)
	coin.set(true)
	a.send(g.Addr(), status("Z", 2))
	waitCount(t, rec, "IN SYNC WITH 127.0.0.1:5001", 2)
	b.expectNothing(50 * time.Millisecond)
	if n := rec.Count(gossipertest.Prefix("FLIPPED COIN")); n != 1 {
		t.Fatalf("%d flips, want the one while Z1 was fresh", n)
	}
}

// switchCoin is a random source the test turns: heads (and the first
// candidate) or tails (and the second).
type switchCoin struct{ tails atomic.Bool }

func (c *switchCoin) set(heads bool) { c.tails.Store(!heads) }
func (c *switchCoin) Seed(int64)     {}
func (c *switchCoin) Int63() int64 {
	if c.tails.Load() {
		return 1 << 32 // Int31() == 1
	}
	return 0
}

func waitCount(t *testing.T, rec *recorder, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for rec.Count(gossipertest.Prefix(line)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q printed %d times, want %d", line, rec.Count(gossipertest.Prefix(line)), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAntiEntropySendsStatusEveryPeriod(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, AntiEntropy: time.Second, Clock: clock, Rand: heads()})
	// At start, every peer we were given learns us at once.
	wantStatus(t, a.expect("status"))
	a.expectNothing(20 * time.Millisecond)
	for i := 0; i < 3; i++ {
		clock.waitTimers(t, 1)
		clock.Advance(time.Second)
		wantStatus(t, a.expect("status"))
	}
}

func TestPreferPeersLackingTheRumor(t *testing.T) {
	n := NewMemNetwork(1)
	const peerC, peerD = "127.0.0.1:5003", "127.0.0.1:5004"
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	c, d := newFakePeer(t, n, peerC), newFakePeer(t, n, peerD)
	peers := []netip.AddrPort{addr(peerA), addr(peerB), addr(peerC), addr(peerD)}
	g, _ := startGossiper(t, n, us, Config{Name: "G", Peers: peers, Clock: newFakeClock(), Rand: heads()})

	d.send(g.Addr(), rumor("Z", 1, "one"))
	d.expect("status")
	a.expect("rumor") // heads() picks the first peer lacking it
	// A and B say they have Z1 and Z2 already; C says nothing. Each ack
	// ends an exchange: heads, Z1 goes on to a peer that lacks it.
	a.send(g.Addr(), status("Z", 3))
	a.expect("status")
	if r := b.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("flipped %+v to B", r)
	}
	b.send(g.Addr(), status("Z", 3))
	b.expect("status")
	if r := c.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("flipped %+v to C", r)
	}
	// Z2 from D: heads() would pick A, but only C lacks it.
	d.send(g.Addr(), rumor("Z", 2, "two"))
	d.expect("status")
	if r := c.expect("rumor").Rumor; r.ID != 2 {
		t.Fatalf("mongered %+v to C", r)
	}
}

func TestCrossingStatusWaitsForTheAckButStillAsksForMore(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, _ := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: newFakeClock(), Rand: tails()})
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	a.expect("rumor")
	// A's status was sent before our rumor arrived: it lacks G1, which is
	// on its way, and has X1, which we lack.
	a.send(g.Addr(), status("X", 2))
	wantStatus(t, a.expect("status"), "G", 2)
	a.expectNothing(50 * time.Millisecond)
}

func TestNoFlipBackToTheOnlyPeerThatJustShowedItHasTheRumor(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: clock, Rand: heads()})
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	a.expect("rumor")
	a.send(g.Addr(), status("G", 2))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
	a.expectNothing(50 * time.Millisecond)
	if rec.Count(gossipertest.Prefix("FLIPPED COIN")) != 0 {
		t.Fatalf("flipped back to the only peer: %q", rec.Lines())
	}
	// A lost rumor is another matter: on timeout the only peer gets it again.
	if err := g.Say("again"); err != nil {
		t.Fatal(err)
	}
	a.expect("rumor")
	clock.waitTimers(t, 1)
	clock.Advance(time.Second)
	if r := a.expect("rumor").Rumor; r.ID != 2 {
		t.Fatalf("resent %+v", r)
	}
	rec.WaitLine(t, "FLIPPED COIN sending rumor to 127.0.0.1:5001", 5*time.Second)
}

func TestRelayedMessageIsOurRumorButNotAClientMessage(t *testing.T) {
	for _, simple := range []bool{false, true} {
		n := NewMemNetwork(1)
		a := newFakePeer(t, n, peerA)
		g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Simple: simple, Clock: newFakeClock(), Rand: heads()})
		if err := g.Relay("bob", "hi from whisper"); err != nil {
			t.Fatal(err)
		}
		if g.Relay("bob", "") == nil {
			t.Error("an empty relayed text was accepted")
		}
		if simple {
			m := a.expect("simple").Simple
			if m.OriginalName != "G" || m.Contents != "bob: hi from whisper" {
				t.Errorf("simple mode relayed %+v", m)
			}
		} else {
			r := a.expect("rumor").Rumor
			if r.Origin != "G" || r.ID != 1 || r.Text != "bob: hi from whisper" {
				t.Errorf("relayed %+v", r)
			}
		}
		// It is neither a CLIENT MESSAGE nor a second chat entry: the
		// chat already has it under the protocol it came from.
		if rec.Count(gossipertest.Prefix("CLIENT MESSAGE")) != 0 || len(rec.Messages()) != 0 {
			t.Errorf("relay printed %q, chat %+v", rec.Lines(), rec.Messages())
		}
	}
}

// A peer that sends no status of its own is sent the fresh rumor at
// anti-entropy rounds: its ack ends an exchange of ours, which flips the
// coin. A peer that does send statuses gets only our status.
func TestQuietPeerIsProbedWithTheFreshRumor(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	clock := newFakeClock()
	g, _ := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA), addr(peerB)}, Clock: clock,
		Rand: tails(), AntiEntropy: time.Second})
	if err := g.Say("hi"); err != nil {
		t.Fatal(err)
	}
	// Whoever got it acks; tails ends the mongering there.
	drain := func() (toA, toB []string) {
		for {
			select {
			case r := <-a.in:
				toA = append(toA, r.pkt.Kind())
				if r.pkt.Rumor != nil {
					a.send(g.Addr(), status("G", 2))
				}
				continue
			case r := <-b.in:
				toB = append(toB, r.pkt.Kind())
				if r.pkt.Rumor != nil {
					b.send(g.Addr(), status("G", 2))
				}
				continue
			case <-time.After(100 * time.Millisecond):
			}
			return toA, toB
		}
	}
	drain()
	// From now on B volunteers its status every round; A never does.
	for round := range 4 {
		b.send(g.Addr(), status("G", 2))
		drain()
		clock.waitTimers(t, 1)
		clock.Advance(time.Second)
		toA, toB := drain()
		// A was added at the start: it is quiet two periods later.
		if quiet := round >= 1; quiet != contains(toA, "rumor") {
			t.Errorf("round %d (%d s in): A got %v", round, round+1, toA)
		}
		if contains(toB, "rumor") {
			t.Errorf("round %d: B, which sends statuses, was probed with a rumor: %v", round, toB)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
