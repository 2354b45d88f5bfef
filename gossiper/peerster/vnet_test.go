package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

// virtualRing runs one message round a ring of n virtual nodes, each told
// both neighbours, and returns when each node stored it and how many
// datagrams were sent.
func virtualRing(t *testing.T, n int, link Link, ae time.Duration) ([]time.Duration, int) {
	t.Helper()
	v := NewVirtualNet(1)
	v.DefaultLink = link
	got := make([]time.Duration, n)
	for i := range got {
		got[i] = -1
	}
	stored, sent := 0, 0
	v.OnStore = func(node int, _ string, _ uint32, at time.Time) {
		got[node] = v.Elapsed()
		stored++
	}
	v.OnSend = func(int, int, string, int) { sent++ }
	for i := range n {
		if _, err := v.Add(Config{
			Name:        fmt.Sprintf("N%d", i),
			Peers:       []netip.AddrPort{VirtualAddr((i + 1) % n), VirtualAddr((i + n - 1) % n)},
			AntiEntropy: ae,
			Rand:        rand.New(rand.NewSource(int64(i))),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Say(0, "hello"); err != nil {
		t.Fatal(err)
	}
	v.Run(time.Hour, func() bool { return stored == n })
	return got, sent
}

// TestVirtualNetDeliversAndRepeats checks that the protocol code, driven in
// virtual time over a lossy link, reaches every node, and that the same
// seeds give the same run to the datagram.
func TestVirtualNetDeliversAndRepeats(t *testing.T) {
	link := Link{Loss: 0.3, Duplicate: 0.05, Latency: time.Millisecond, Jitter: 2 * time.Millisecond}
	a, sentA := virtualRing(t, 30, link, time.Second)
	b, sentB := virtualRing(t, 30, link, time.Second)
	for i := range a {
		if a[i] < 0 {
			t.Fatalf("node %d never stored the message", i)
		}
		if a[i] != b[i] {
			t.Fatalf("node %d stored it at %v, then at %v with the same seeds", i, a[i], b[i])
		}
	}
	if sentA != sentB {
		t.Fatalf("%d datagrams, then %d with the same seeds", sentA, sentB)
	}
}

// TestVirtualNetEndsWhenQuiet checks that without anti-entropy nothing is
// left to do once mongering ends, so Run returns by itself.
func TestVirtualNetEndsWhenQuiet(t *testing.T) {
	v := NewVirtualNet(2)
	v.DefaultLink = Link{Latency: time.Millisecond}
	for i := range 5 {
		if _, err := v.Add(Config{Name: fmt.Sprintf("N%d", i), Peers: []netip.AddrPort{VirtualAddr((i + 1) % 5)}, Rand: rand.New(rand.NewSource(int64(i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Say(2, "x"); err != nil {
		t.Fatal(err)
	}
	if v.Run(time.Hour, nil) || v.Pending() {
		t.Fatal("events left after the network went quiet")
	}
	if v.Elapsed() >= time.Hour {
		t.Fatalf("ran until the limit: %v", v.Elapsed())
	}
}
