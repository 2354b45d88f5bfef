package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRTTFollowsTheRoundTripWithinBounds(t *testing.T) {
	var r rtt
	lo, hi := 50*time.Millisecond, time.Second
	if got := r.timeout(lo, hi); got != hi {
		t.Fatalf("never measured: %v, want the handout's %v", got, hi)
	}
	r.sample(time.Millisecond)
	if got := r.timeout(lo, hi); got != lo {
		t.Fatalf("1 ms round trips: %v, want the floor %v", got, lo)
	}
	for range 20 {
		r.sample(100 * time.Millisecond)
	}
	if got := r.timeout(lo, hi); got < 100*time.Millisecond || got > 200*time.Millisecond {
		t.Fatalf("100 ms round trips: %v, want a little above 100 ms", got)
	}
	r.timedOut()
	r.timedOut()
	if got := r.timeout(lo, hi); got < 400*time.Millisecond || got > hi {
		t.Fatalf("after two timeouts in a row: %v, want four times longer, at most %v", got, hi)
	}
	for range 10 {
		r.timedOut()
	}
	if got, base := r.timeout(lo, hi), (&rtt{srtt: r.srtt, rttvar: r.rttvar, measured: true}).timeout(lo, hi); got != min(4*base, hi) {
		t.Fatalf("after many timeouts: %v, want four times %v at most, under %v", got, base, hi)
	}
	var slow rtt
	slow.sample(400 * time.Millisecond)
	for range 10 {
		slow.timedOut()
	}
	if got := slow.timeout(lo, hi); got != hi {
		t.Fatalf("400 ms round trips after many timeouts: %v, want the ceiling", got)
	}
	r.sample(100 * time.Millisecond)
	if got := r.timeout(lo, hi); got > 200*time.Millisecond {
		t.Fatalf("an ack resets the back-off: %v", got)
	}
}

// A rumor the peer's status showed it lacks is sent again when its ack does
// not come, instead of ending in a coin flip; once the round trip is known,
// again after a few round trips rather than a second.
func TestRepairIsResentUntilAcked(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails(), MinAckTimeout: 50 * time.Millisecond})
	if err := g.Say("one"); err != nil {
		t.Fatal(err)
	}
	a.send(g.Addr(), status())
	if r := a.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("sent %+v", r)
	}
	// The ack is lost; at the ack timeout the same rumor goes again.
	clock.waitTimers(t, 1)
	clock.Advance(time.Second)
	if r := a.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("resent %+v", r)
	}
	a.send(g.Addr(), status("G", 2))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
	if rec.Count(gossipertest.Prefix("FLIPPED COIN")) != 0 {
		t.Fatal("flipped while the peer still lacked the rumor")
	}

	// Now the round trip is known (the fake clock stood still: the
	// floor). A rumor mongered to A is lost: its exchange times out after
	// 50 ms, not a second, and ends in a flip (tails); since A never acked
	// it, A is probed with our status, and its answer makes it a repair.
	if err := g.Say("two"); err != nil {
		t.Fatal(err)
	}
	if r := a.expect("rumor").Rumor; r.ID != 2 { // mongered: G's only peer is A
		t.Fatalf("mongered %+v", r)
	}
	clock.waitTimers(t, 1)
	clock.Advance(50 * time.Millisecond)
	wantStatus(t, a.expect("status"), "G", 3)
	a.send(g.Addr(), status("G", 2))
	if r := a.expect("rumor").Rumor; r.ID != 2 {
		t.Fatalf("repair sent %+v", r)
	}
	// After a timeout in a row, the wait doubles.
	clock.waitTimers(t, 1)
	clock.Advance(50 * time.Millisecond)
	a.expectNothing(50 * time.Millisecond)
	clock.Advance(50 * time.Millisecond)
	if r := a.expect("rumor").Rumor; r.ID != 2 {
		t.Fatalf("resent after 100 ms: %+v, want ID 2", r)
	}
}

// A status crossing rumors on their way does not make us send them again.
func TestRumorsInFlightAreNotSentTwice(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, _ := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails()})
	for _, text := range []string{"one", "two"} {
		if err := g.Say(text); err != nil {
			t.Fatal(err)
		}
	}
	a.send(g.Addr(), status())
	a.expect("rumor")
	a.send(g.Addr(), status("G", 2)) // the ack: ID 2 goes
	a.expect("rumor")
	a.send(g.Addr(), status("G", 2)) // sent before ID 2 arrived
	a.expectNothing(100 * time.Millisecond)
}

// A status that shows the peer lacks several origins is answered with the
// next message of each at once.
func TestPeerFarBehindGetsOneMessageOfEachOriginAtOnce(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	clock := newFakeClock()
	// tails() would spin in Intn(3): a seeded source draws the exchange.
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: rand.New(rand.NewSource(1))})
	for _, origin := range []string{"X", "Y", "Z"} {
		b.send(g.Addr(), rumor(origin, 1, "from "+origin))
		rec.WaitLine(t, "RUMOR origin "+origin+" from 127.0.0.1:5002 ID 1 contents from "+origin, 5*time.Second)
	}
	a.send(g.Addr(), status())
	got := map[string]bool{}
	for range 3 {
		r := a.expect("rumor").Rumor
		got[r.Origin] = true
	}
	if len(got) != 3 {
		t.Fatalf("sent rumors of %v, want one of each of X, Y, Z", got)
	}
}

// When we asked a peer for what it has and nothing came, we ask again after
// its ack timeout, and stop once it answers.
func TestAskIsRepeatedUntilAnswered(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, _ := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails()})
	a.send(g.Addr(), status("X", 2))
	a.expect("status")
	clock.waitTimers(t, 1)
	clock.Advance(time.Second)
	a.expect("status")
	a.send(g.Addr(), rumor("X", 1, "here"))
	a.expect("status") // the ack
	a.expect("rumor")  // mongered back to the only peer, which acks it
	a.send(g.Addr(), status("X", 2))
	clock.Advance(10 * time.Second)
	a.expectNothing(100 * time.Millisecond)
}

// Rumors we sent past the ID a peer still needs were dropped there (it
// stores only in order): they go again right behind the repair.
func TestRumorsSentPastAGapGoAgainBehindTheRepair(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, _ := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: clock, Rand: tails()})
	if err := g.Say("one"); err != nil {
		t.Fatal(err)
	}
	a.expect("rumor") // lost, as far as the test goes
	clock.waitTimers(t, 1)
	clock.Advance(time.Second) // its exchange times out
	a.expect("status")         // tails: A is probed
	for _, text := range []string{"two", "three"} {
		if err := g.Say(text); err != nil {
			t.Fatal(err)
		}
		a.expect("rumor") // arrive past the gap, dropped
	}
	a.send(g.Addr(), status())
	for want := uint32(1); want <= 3; want++ {
		if r := a.expect("rumor").Rumor; r.ID != want {
			t.Fatalf("after the status that needs G/1: got G/%d, want G/%d", r.ID, want)
		}
	}
}

// A status the network delayed behind the peer's ack shows the peer lacking
// a rumor it already acked: that must not send the rumor (and a run behind
// it) again, until the wait for an ack has passed.
func TestAStatusDelayedBehindTheAckSendsNothingAgain(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails()})
	if err := g.Say("one"); err != nil {
		t.Fatal(err)
	}
	a.send(g.Addr(), status())
	if r := a.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("sent %+v", r)
	}
	a.send(g.Addr(), status("G", 2))
	a.send(g.Addr(), status()) // sent before the rumor arrived
	waitCount(t, rec, "STATUS from "+peerA, 3)
	a.expectNothing(100 * time.Millisecond)
	// Past the wait (the round trip measured 0 on the fake clock: the
	// 20 ms floor), the peer is asked for its status, and a status that
	// shows it lacking then means it lost the rumor.
	clock.Advance(60 * time.Millisecond)
	wantStatus(t, a.expect("status"), "G", 2)
	a.send(g.Addr(), status())
	if r := a.expect("rumor").Rumor; r.ID != 1 {
		t.Fatalf("sent %+v after the wait", r)
	}
}

// A peer whose status shows it lacks only rumors on their way is asked for
// its status again once they should have arrived: a rumor dropped past a
// gap shows nowhere else. If a status of its own shows by then that it has
// them, nothing is sent.
func TestAPeerLackingRumorsOnTheirWayIsRecheckedAfterTheWait(t *testing.T) {
	for _, caughtUp := range []bool{false, true} {
		t.Run(fmt.Sprintf("caught up %v", caughtUp), func(t *testing.T) {
			n := NewMemNetwork(1)
			a := newFakePeer(t, n, peerA)
			clock := newFakeClock()
			g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: clock, Rand: tails()})
			for i, text := range []string{"one", "two"} {
				if err := g.Say(text); err != nil {
					t.Fatal(err)
				}
				if r := a.expect("rumor").Rumor; r.ID != uint32(i+1) {
					t.Fatalf("mongered %+v", r)
				}
			}
			// Sent before either arrived: both are on their way.
			a.send(g.Addr(), status())
			rec.WaitLine(t, "STATUS from "+peerA+" ", 5*time.Second)
			a.expectNothing(50 * time.Millisecond)
			if caughtUp {
				a.send(g.Addr(), status("G", 3))
				rec.WaitLine(t, "IN SYNC WITH "+peerA, 5*time.Second)
			}
			// The round trip measured 0 on the fake clock: the wait is
			// the 20 ms floor, far from the anti-entropy's second.
			clock.Advance(60 * time.Millisecond)
			if caughtUp {
				a.expectNothing(100 * time.Millisecond)
			} else {
				wantStatus(t, a.expect("status"), "G", 3)
			}
			if got, want := testutil.ToFloat64(g.metrics.rechecks), map[bool]float64{false: 1, true: 0}[caughtUp]; got != want {
				t.Fatalf("%v rechecks, want %v", got, want)
			}
		})
	}
}

// A peer far behind on an origin is sent runs of its IDs, as TCP's window:
// a run that arrived whole doubles the next, one that arrived in part
// halves it.
func TestAPeerFarBehindIsSentRunsThatFollowWhatArrived(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails()})
	// peerStatus sends the peer's status and waits until it is handled,
	// so that the clock does not move before.
	sent := 0
	peerStatus := func(pairs ...any) {
		t.Helper()
		a.send(g.Addr(), status(pairs...))
		sent++
		waitCount(t, rec, "STATUS from "+peerA, sent)
	}
	texts := make([]string, 600)
	for i := range texts {
		texts[i] = fmt.Sprintf("m%d", i)
	}
	if err := g.SayAll(texts); err != nil {
		t.Fatal(err)
	}
	// run checks the rumors that come next, ignoring statuses (rechecks,
	// anti-entropy).
	run := func(from, want int) {
		t.Helper()
		var got []uint32
		for deadline := time.After(5 * time.Second); len(got) < want; {
			select {
			case r := <-a.in:
				if r.pkt.Rumor != nil {
					got = append(got, r.pkt.Rumor.ID)
				}
			case <-deadline:
				t.Fatalf("run from %d: %d rumors, want %d", from, len(got), want)
			}
		}
		for i, id := range got {
			if id != uint32(from+i) {
				t.Fatalf("run from %d: rumors %v", from, got)
			}
		}
		for quiet := time.After(50 * time.Millisecond); ; {
			select {
			case r := <-a.in:
				if r.pkt.Rumor != nil {
					t.Fatalf("run from %d of %d: then rumor %d", from, want, r.pkt.Rumor.ID)
				}
				continue
			case <-quiet:
			}
			break
		}
	}
	peerStatus()
	run(1, repairWindow)
	peerStatus("G", 1+repairWindow) // all arrived
	run(1+repairWindow, 2*repairWindow)
	// Rumors from 100 on were lost: the ack shows it, and once the wait
	// has passed, so does the next status: the run halves.
	peerStatus("G", 100)
	clock.Advance(time.Second)
	peerStatus("G", 100)
	run(100, repairWindow)
	peerStatus("G", 100+repairWindow)
	run(100+repairWindow, 2*repairWindow)
	// A peer only a few behind gets one rumor at a time.
	peerStatus("G", 601-farBehind)
	run(601-farBehind, 1)
}
