package peerster

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/vclock"
)

// The panel counts a peer as holding a message once it sent it to us or
// its status shows it, and tells the page when the count grows.
func TestDisseminationPanelCountsHoldersFromTheirStatuses(t *testing.T) {
	n := NewMemNetwork(1)
	a, b := newFakePeer(t, n, peerA), newFakePeer(t, n, peerB)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA), addr(peerB)}, Clock: clock, Rand: heads()})

	a.send(g.Addr(), rumor("Z", 1, "spread me"))
	a.expect("status")
	row := func() []string {
		t.Helper()
		panels := g.Panels()
		if len(panels) != 1 || len(panels[0].Rows) != 1 {
			t.Fatalf("panels %+v, want one with one row", panels)
		}
		return panels[0].Rows[0].Cells
	}
	if c := row(); c[0] != "Z #1" || c[1] != fmt.Sprint(clock.Now().Unix()) || c[2] != "1 of 2" || c[3] != "1 at +0.0s" {
		t.Fatalf("after A sent it: %q", c)
	}

	clock.Advance(1500 * time.Millisecond)
	b.send(g.Addr(), status("Y", 3)) // B says nothing of Z: not a holder
	b.send(g.Addr(), status("Z", 2))
	waitFor(t, "B counted", func() bool { return row()[2] == "2 of 2" })
	if c := row(); c[3] != "1 at +0.0s, 2 at +1.5s" {
		t.Fatalf("timeline %q", c[3])
	}
	waitFor(t, "two spread events", func() bool { return spreadEvents(rec) == 2 })
}

// A burst of statuses makes one event a second, and the last change is
// never left untold.
func TestSpreadEventsAreSpacedAndTheLastIsTold(t *testing.T) {
	n := NewMemNetwork(1)
	peers := []netip.AddrPort{}
	var fakes []*fakePeer
	for i := 0; i < 5; i++ {
		a := fmt.Sprintf("127.0.0.1:%d", 5101+i)
		peers = append(peers, addr(a))
		fakes = append(fakes, newFakePeer(t, n, a))
	}
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: peers, Clock: clock, Rand: heads()})
	if err := g.Say("ours"); err != nil {
		t.Fatal(err)
	}
	for _, p := range fakes {
		p.send(g.Addr(), status("G", 2))
	}
	waitFor(t, "every peer counted", func() bool {
		panels := g.Panels()
		return len(panels[0].Rows) == 1 && panels[0].Rows[0].Cells[2] == "5 of 5"
	})
	if got := spreadEvents(rec); got != 1 {
		t.Fatalf("%d spread events within a second, want 1", got)
	}
	clock.Advance(time.Second)
	waitFor(t, "the held-back event", func() bool { return spreadEvents(rec) == 2 })
}

func TestTrackingKeepsTheNewestMessagesAndBoundedTimelines(t *testing.T) {
	var s spread
	start := time.Unix(1795238500, 0)
	for i := 1; i <= spreadMessages+3; i++ {
		s.track(vclock.Message{Origin: "O", ID: uint32(i)}, start)
	}
	if len(s.tracked) != spreadMessages || s.tracked[0].msg.ID != 4 {
		t.Fatalf("tracked %d from ID %d, want the newest %d", len(s.tracked), s.tracked[0].msg.ID, spreadMessages)
	}
	all := func(vclock.Message) bool { return true }
	for i := 0; i < spreadPoints+10; i++ {
		peer := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(6000+i))
		if !s.observe(peer, all, start.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("peer %d not counted", i)
		}
	}
	m := s.tracked[0]
	if len(m.points) != spreadPoints || m.points[0].holders != 1 || m.points[spreadPoints-1].holders != spreadPoints+10 {
		t.Fatalf("points %v: want the first ones and the newest", m.points)
	}
	if s.observe(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 6000), all, start) {
		t.Fatal("a holder counted twice")
	}
}

func spreadEvents(rec *recorder) int {
	count := 0
	for _, ev := range rec.Events(gossiper.EventUpdate) {
		if ev.Update == spreadEvent {
			count++
		}
	}
	return count
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
