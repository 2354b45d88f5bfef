package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// TestLossyNetworkDeliversEveryMessage runs 20 gossipers on a network that
// drops 30% of datagrams, duplicates and reorders others, and checks that
// every node ends up with every message exactly once.
func TestLossyNetworkDeliversEveryMessage(t *testing.T) {
	const nodes = 20
	n := NewMemNetwork(7)
	n.Loss, n.Duplicate, n.MaxDelay = 0.30, 0.05, 3*time.Millisecond
	addrs := make([]netip.AddrPort, nodes)
	for i := range addrs {
		addrs[i] = addr(fmt.Sprintf("10.0.0.%d:5000", i+1))
	}
	gossipers := make([]*Gossiper, nodes)
	recs := make([]*recorder, nodes)
	for i := range addrs {
		// A ring with chords: every node knows two or three others, and
		// learns the rest of its neighbours from their packets.
		peers := []netip.AddrPort{addrs[(i+1)%nodes]}
		if i%2 == 0 {
			peers = append(peers, addrs[(i+7)%nodes])
		}
		gossipers[i], recs[i] = startGossiper(t, n, addrs[i].String(), Config{
			Name:        fmt.Sprintf("N%02d", i),
			Peers:       peers,
			AntiEntropy: 100 * time.Millisecond,
			AckTimeout:  50 * time.Millisecond,
			Rand:        rand.New(rand.NewSource(int64(i))),
		})
	}
	want := 0
	for i, g := range gossipers {
		for k := 0; k < 1+i%3; k++ {
			if err := g.Say(fmt.Sprintf("m%d-%d", i, k)); err != nil {
				t.Fatal(err)
			}
			want++
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		complete := 0
		for _, r := range recs {
			if len(r.Messages()) >= want {
				complete++
			}
		}
		if complete == nodes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s only %d of %d nodes have all %d messages", complete, nodes, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, r := range recs {
		seen := map[string]bool{}
		for _, m := range r.Messages() {
			key := fmt.Sprintf("%s/%d", m.Origin, m.ID)
			if seen[key] {
				t.Errorf("node %d stored %s twice", i, key)
			}
			seen[key] = true
		}
		if len(seen) != want {
			t.Errorf("node %d has %d distinct messages, want %d", i, len(seen), want)
		}
	}
	t.Logf("%d datagrams sent for %d messages on %d nodes", n.Sent(), want, nodes)
}

// TestSimpleModeRingStopsAtTheOriginator checks the handout's simple mode on
// a ring: every node prints the message with its predecessor as relay, and
// the originator does not send it round again.
func TestSimpleModeRingStopsAtTheOriginator(t *testing.T) {
	n := NewMemNetwork(1)
	const a, b, c = "127.0.0.1:5040", "127.0.0.1:5041", "127.0.0.1:5042"
	ga, ra := startGossiper(t, n, a, Config{Name: "A", Simple: true, Peers: []netip.AddrPort{addr(b)}})
	_, rb := startGossiper(t, n, b, Config{Name: "B", Simple: true, Peers: []netip.AddrPort{addr(c)}})
	_, rc := startGossiper(t, n, c, Config{Name: "C", Simple: true, Peers: []netip.AddrPort{addr(a)}})
	if err := ga.Say("hello_simple"); err != nil {
		t.Fatal(err)
	}
	ra.WaitLine(t, "CLIENT MESSAGE hello_simple", 5*time.Second)
	rb.WaitLine(t, "SIMPLE MESSAGE origin A from 127.0.0.1:5040 contents hello_simple", 5*time.Second)
	rb.WaitLine(t, "PEERS 127.0.0.1:5042,127.0.0.1:5040", 5*time.Second)
	rc.WaitLine(t, "SIMPLE MESSAGE origin A from 127.0.0.1:5041 contents hello_simple", 5*time.Second)
	ra.WaitLine(t, "SIMPLE MESSAGE origin A from 127.0.0.1:5042 contents hello_simple", 5*time.Second)
	ra.WaitLine(t, "PEERS 127.0.0.1:5041,127.0.0.1:5042", 5*time.Second)
	sent := n.Sent()
	time.Sleep(100 * time.Millisecond)
	if n.Sent() != sent || ra.Count(gossipertest.Prefix("SIMPLE MESSAGE")) != 1 {
		t.Fatalf("the message kept circling: %d datagrams, then %d", sent, n.Sent())
	}
	if sent != 3 {
		t.Fatalf("%d datagrams for one message round a 3-ring, want 3", sent)
	}
}
