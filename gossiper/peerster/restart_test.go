package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
	"time"
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
