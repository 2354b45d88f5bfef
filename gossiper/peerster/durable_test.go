package peerster

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

func TestClientMessageIsOnDiskBeforeItIsPrintedOrSent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := gossipertest.OpenStore(t, dir)
	defer s.Close()
	ns := s.Namespace("peerster")
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: newFakeClock(), Rand: tails(), Store: ns})
	for i := range 50 {
		text := string(rune('a' + i%26))
		if err := g.Say(text); err != nil {
			t.Fatal(err)
		}
		r := untilRumor(a).Rumor
		// Committed already: Get reads committed data only.
		if v, err := ns.Get(rumorKey("G", r.ID)); err != nil || v == nil {
			t.Fatalf("rumor G/%d was sent before it was on disk (%v)", r.ID, err)
		}
	}
	rec.WaitLine(t, "CLIENT MESSAGE x", 5*time.Second)
}

func TestRestartWithAStoreContinuesOurSequenceAndKnowsWhatWeIssued(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := gossipertest.OpenStore(t, dir)
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	cfg := Config{Name: "G", Peers: []netip.AddrPort{addr(peerA)}, Clock: newFakeClock(), Rand: tails(), Store: s.Namespace("peerster")}
	g, _, stop := runGossiper(t, n, addr(us), cfg)
	for _, text := range []string{"one", "two", "three"} {
		if err := g.Say(text); err != nil {
			t.Fatal(err)
		}
		untilRumor(a)
	}
	a.send(g.Addr(), rumor("Z", 1, "theirs"))
	untilStatus(a)
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = gossipertest.OpenStore(t, dir)
	defer s.Close()
	cfg.Store = s.Namespace("peerster")
	g, rec, stop := runGossiper(t, n, addr(us), cfg)
	defer stop()
	// A status with more than we hold makes the node answer with its own.
	a.send(g.Addr(), status("G", 4, "Q", 2, "Z", 2))
	wantStatus(t, untilStatus(a), "G", 4, "Z", 2)
	// An ID above what we issued before the restart is someone else's.
	a.send(g.Addr(), rumor("G", 4, "forged"))
	untilStatus(a)
	if err := g.Say("four"); err != nil {
		t.Fatal(err)
	}
	r := untilRumor(a).Rumor
	for r.Text != "four" {
		r = untilRumor(a).Rumor
	}
	if r.ID != 5 {
		t.Fatalf("our message after the restart went out as G/%d, want 5", r.ID)
	}
	if m := rec.Messages(); len(m) != 2 || m[0].Text != "forged" || !m[0].Suspect || m[1].Suspect {
		t.Fatalf("chat after the restart %+v, want the forgery marked suspect, then ours", m)
	}
}

// TestOldRumorsAreServedFromDisk: with a store, memory keeps only recent
// datagrams; older ones are read back from the database when a peer needs
// them.
func TestOldRumorsAreServedFromDisk(t *testing.T) {
	s := gossipertest.OpenStore(t, filepath.Join(t.TempDir(), "data"))
	defer s.Close()
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, _ := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails(), Store: s.Namespace("peerster")})
	const count = 3 * recentKept
	for id := 1; id <= count; id++ {
		a.send(g.Addr(), rumor("Z", id, fmt.Sprint("z", id)))
		untilStatus(a)
	}
	var inMemory int
	g.call(func() error { inMemory = len(g.store.recent); return nil })
	if inMemory > recentKept+1 {
		t.Fatalf("%d datagrams kept in memory, want at most about %d", inMemory, recentKept)
	}
	for _, id := range []int{1, count / 2, count} {
		// Long after G sent them: not taken for a status crossing them.
		clock.Advance(time.Second)
		a.send(g.Addr(), status("Z", id))
		// Skip what G mongered back to us, its only peer, meanwhile.
		r := untilRumor(a).Rumor
		for r.ID != uint32(id) {
			r = untilRumor(a).Rumor
		}
		if r.Origin != "Z" || r.Text != fmt.Sprint("z", id) {
			t.Fatalf("asked for Z/%d, got %+v", id, r)
		}
	}
}

// An origin numbering from 0 stays zero-based across a restart: its ID 0 is
// still held, still sent to a peer that lacks it, and not taken twice.
func TestZeroBasedOriginSurvivesARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := gossipertest.OpenStore(t, dir)
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	cfg := Config{Name: "G", Clock: newFakeClock(), Rand: tails(), Store: s.Namespace("peerster")}
	g, _, stop := runGossiper(t, n, addr(us), cfg)
	a.send(g.Addr(), rumor("vq", 0, "zero"))
	wantStatus(t, untilStatus(a), "vq", 1)
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = gossipertest.OpenStore(t, dir)
	defer s.Close()
	cfg.Store = s.Namespace("peerster")
	g, rec, stop := runGossiper(t, n, addr(us), cfg)
	defer stop()
	a.send(g.Addr(), status())
	if r := untilRumor(a).Rumor; r.Origin != "vq" || r.ID != 0 || r.Text != "zero" {
		t.Fatalf("after the restart an empty status got %+v", r)
	}
	a.send(g.Addr(), rumor("vq", 0, "zero"))
	wantStatus(t, untilStatus(a), "vq", 1)
	if len(rec.Messages()) != 0 {
		t.Fatalf("ID 0 taken again after the restart: %+v", rec.Messages())
	}
}
