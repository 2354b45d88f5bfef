package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// chatOf is a recorder's Peerster chat as "origin:ID text", sorted.
func chatOf(rec *recorder) []string {
	var out []string
	for _, m := range rec.Messages() {
		out = append(out, fmt.Sprintf("%s:%d %s", m.Origin, m.ID, m.Text))
	}
	slices.Sort(out)
	return out
}

func waitChat(t *testing.T, what string, rec *recorder, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := chatOf(rec)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: chat %q, want %q", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRestartWithoutDataReusesNoIDOfTheNetwork: C sends three messages,
// restarts with nothing and at once sends a fourth, which starts out as
// C:1 again. The network's C:1 proves the collision; C takes the network's
// messages and sends the fourth again as C:4, and both chats end the same.
func TestRestartWithoutDataReusesNoIDOfTheNetwork(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			n := NewMemNetwork(seed)
			aAddr, cAddr := addr("127.0.0.1:6001"), addr("127.0.0.1:6003")
			fast := func(name string, peer netip.AddrPort) Config {
				return Config{Name: name, Peers: []netip.AddrPort{peer}, AntiEntropy: 20 * time.Millisecond,
					AckTimeout: 50 * time.Millisecond, CatchUpWait: 5 * time.Second, Rand: rand.New(rand.NewSource(seed))}
			}
			_, aRec := startGossiper(t, n, aAddr.String(), fast("A", cAddr))
			c, cRec, stopC := runGossiper(t, n, cAddr, fast("C", aAddr))
			for _, text := range []string{"one", "two", "three"} {
				if err := c.Say(text); err != nil {
					t.Fatal(err)
				}
			}
			before := []string{"C:1 one", "C:2 two", "C:3 three"}
			waitChat(t, "A before the restart", aRec, before)
			stopC()

			c, cRec, stopC = runGossiper(t, n, cAddr, fast("C", aAddr))
			defer stopC()
			if err := c.Say("four"); err != nil {
				t.Fatal(err)
			}
			after := append(before, "C:4 four")
			waitChat(t, "A after the restart", aRec, after)
			waitChat(t, "C after the restart", cRec, after)
		})
	}
}

// TestAClaimOfOurIDsThatNeverComeDelaysUsOnce: a status may claim IDs of
// ours that nobody sends; our message waits CatchUpWait once, and the claim
// is then forgotten.
func TestAClaimOfOurIDsThatNeverComeDelaysUsOnce(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: clock, Rand: tails(), CatchUpWait: 2 * time.Second})
	a.send(g.Addr(), status("G", 50))
	untilStatus(a)
	if err := g.Say("waits"); err != nil {
		t.Fatal(err)
	}
	a.expectNothing(50 * time.Millisecond)
	if rec.Count(func(l string) bool { return l == "CLIENT MESSAGE waits" }) != 0 {
		t.Fatal("CLIENT MESSAGE printed before the message had an ID")
	}
	clock.waitTimers(t, 1)
	clock.Advance(2 * time.Second)
	if r := untilRumor(a).Rumor; r.ID != 1 || r.Text != "waits" {
		t.Fatalf("after the wait, sent %+v", r)
	}
	rec.WaitLine(t, "CLIENT MESSAGE waits", 5*time.Second)
	if err := g.Say("at once"); err != nil {
		t.Fatal(err)
	}
	if r := untilRumor(a).Rumor; r.ID != 2 || r.Text != "at once" {
		t.Fatalf("next message sent %+v", r)
	}
}

// untilProbe reads p's datagrams until a status shows origin at next, and
// returns that status.
func untilProbe(t *testing.T, p *fakePeer, origin string, next uint32) *messages.StatusPacket {
	t.Helper()
	for {
		s := untilStatus(p).Status
		for _, ps := range s.Want {
			if ps.Identifier == origin && ps.NextID == next {
				return s
			}
		}
	}
}

// TestACollisionIsProvenAfterTheNetworkBroughtLaterIDs is the path that
// lost a message after a restart: C's first message after the restart goes
// out as C:1 before any status came, the peer answers C's probe with
// another origin C lacks, and then sends the network's C:2 and C:3, which C
// stores above its own C:1. C then holds as many IDs as the network, so the
// network's C:1 had to be asked for again, and the probe must leave the
// peer only C:1 to send.
func TestACollisionIsProvenAfterTheNetworkBroughtLaterIDs(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "C", Peers: []netip.AddrPort{addr(peerA)}, Clock: newFakeClock(), Rand: tails(), CatchUpWait: time.Hour})
	if err := g.Say("four"); err != nil {
		t.Fatal(err)
	}
	if r := untilRumor(a).Rumor; r.Origin != "C" || r.ID != 1 || r.Text != "four" {
		t.Fatalf("first message after the restart sent as %+v, want C:1", r)
	}
	peerStatus := status("A", 3, "C", 4, "E", 2)
	a.send(g.Addr(), peerStatus)
	probe := untilProbe(t, a, "C", 1)
	// Claiming at least what the peer has of A and E leaves C:1 the only
	// message the peer sees us lack: it cannot answer with another.
	for _, o := range []string{"A", "E"} {
		var next uint32
		for _, ps := range probe.Want {
			if ps.Identifier == o {
				next = max(next, ps.NextID)
			}
		}
		if next < nextIn(peerStatus, o) {
			t.Fatalf("probe %v shows %s at %d: the peer would see us lack %s:%d and may send that instead of C:1", probe.Want, o, next, o, max(next, 1))
		}
	}
	// As a peer that answered with something else: the network's later
	// IDs come, and C holds as many IDs as the network.
	a.send(g.Addr(), rumor("C", 2, "two"))
	a.send(g.Addr(), rumor("C", 3, "three"))
	untilProbe(t, a, "C", 4)
	a.send(g.Addr(), peerStatus)
	untilProbe(t, a, "C", 1)
	if err := g.Say("five"); err != nil {
		t.Fatal(err)
	}
	a.send(g.Addr(), rumor("C", 1, "one"))
	for _, m := range []*messages.GossipPacket{rumor("C", 2, "two"), rumor("C", 3, "three")} {
		untilProbe(t, a, "C", m.Rumor.ID)
		a.send(g.Addr(), m)
	}
	for want := uint32(4); want <= 5; {
		r := untilRumor(a).Rumor
		if r.Origin == "C" && r.ID >= 4 {
			if r.ID != want {
				t.Fatalf("sent %+v, want C:%d", r, want)
			}
			want++
		}
	}
	waitChat(t, "C", rec, []string{"C:1 one", "C:2 two", "C:3 three", "C:4 four", "C:5 five"})
}

// nextIn is origin's NextID in the status pkt.
func nextIn(pkt *messages.GossipPacket, origin string) uint32 {
	for _, ps := range pkt.Status.Want {
		if ps.Identifier == origin {
			return ps.NextID
		}
	}
	return 1
}

// TestRestartWithoutDataAmongTalkers: C restarts between A and E, which
// have messages of their own that C lacks, and at once sends a message:
// whatever the peers pick to send first, it reaches both under a new ID.
func TestRestartWithoutDataAmongTalkers(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			n := NewMemNetwork(seed)
			n.MaxDelay = time.Millisecond
			aAddr, cAddr, eAddr := addr("127.0.0.1:6001"), addr("127.0.0.1:6003"), addr("127.0.0.1:6005")
			cfg := func(name string, i int64, peers ...netip.AddrPort) Config {
				return Config{Name: name, Peers: peers, AntiEntropy: 20 * time.Millisecond, AckTimeout: 50 * time.Millisecond,
					CatchUpWait: 5 * time.Second, Rand: rand.New(rand.NewSource(seed*10 + i))}
			}
			ga, aRec := startGossiper(t, n, aAddr.String(), cfg("A", 1))
			c, _, stopC := runGossiper(t, n, cAddr, cfg("C", 2, aAddr))
			ge, eRec := startGossiper(t, n, eAddr.String(), cfg("E", 3, cAddr))
			say := func(g *Gossiper, text string) {
				if err := g.Say(text); err != nil {
					t.Fatal(err)
				}
			}
			say(ga, "a1")
			say(ga, "a2")
			say(ge, "e1")
			for _, text := range []string{"one", "two", "three"} {
				say(c, text)
			}
			before := []string{"A:1 a1", "A:2 a2", "C:1 one", "C:2 two", "C:3 three", "E:1 e1"}
			waitChat(t, "A before the restart", aRec, before)
			waitChat(t, "E before the restart", eRec, before)
			stopC()

			c, cRec, stopC := runGossiper(t, n, cAddr, cfg("C", 4, aAddr))
			defer stopC()
			say(c, "four")
			after := append(before, "C:4 four")
			slices.Sort(after)
			for _, r := range []struct {
				name string
				rec  *recorder
			}{{"A", aRec}, {"E", eRec}, {"C", cRec}} {
				waitChat(t, r.name+" after the restart", r.rec, after)
			}
		})
	}
}
