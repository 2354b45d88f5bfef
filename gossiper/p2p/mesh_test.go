package p2p

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// TestMeshFormsThroughOneNodeAndGossips: B and C join through A only; C
// learns B from A's list and connects, and gossip goes every way.
func TestMeshFormsThroughOneNodeAndGossips(t *testing.T) {
	a := start(t, fast(), "")
	cfg := fast()
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	c := start(t, cfg, "")
	waitFor(t, "all three see each other", func() bool {
		return a.sees(b, c) && b.sees(a, c) && c.sees(a, b)
	})

	a.say("hello from a")
	waitFor(t, "b and c print a's gossip", func() bool {
		return b.host.Count(gossipertest.Equal(gossipLine(a, "hello from a"))) == 1 && c.host.Count(gossipertest.Equal(gossipLine(a, "hello from a"))) == 1
	})
	c.say("hi from c")
	waitFor(t, "a and b print c's gossip", func() bool {
		return a.host.Count(gossipertest.Equal(gossipLine(c, "hi from c"))) == 1 && b.host.Count(gossipertest.Equal(gossipLine(c, "hi from c"))) == 1
	})
	msgs := b.host.Messages()
	if len(msgs) != 2 {
		t.Fatalf("b recorded %+v", msgs)
	}
	m := msgs[0]
	if m.Protocol != ProtocolName || m.Origin != a.id() || m.Text != "hello from a" || m.From != a.addr || m.Time.IsZero() {
		t.Fatalf("b recorded %+v", m)
	}
	// Our own messages are the host's to record, not ours.
	if got := a.host.Messages(); len(got) != 1 || got[0].Origin != c.id() {
		t.Fatalf("a recorded %+v", got)
	}
	// Nothing else reaches stdout: a heard only c.
	if got := a.host.Lines(); len(got) != 1 {
		t.Fatalf("a printed %q", got)
	}
}

// TestAlivePeersArePublished: the GUI learns the live peers from events.
func TestAlivePeersArePublished(t *testing.T) {
	a := start(t, fast(), "")
	cfg := fast()
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	want := b.id() + "/" + b.addr
	waitFor(t, "a publishes b alive", func() bool {
		evs := a.host.Events(gossiper.EventPeers)
		return len(evs) > 0 && strings.Join(evs[len(evs)-1].Peers, ",") == want
	})
	for _, ev := range a.host.Events(gossiper.EventPeers) {
		if ev.Protocol != ProtocolName {
			t.Fatalf("event %+v", ev)
		}
	}
	b.stop()
	waitFor(t, "a publishes b dead", func() bool {
		evs := a.host.Events(gossiper.EventPeers)
		return len(evs[len(evs)-1].Peers) == 0
	})
	mp := a.p.MeshPeers()
	if len(mp) != 1 || mp[0].Alive || mp[0].Addr != b.addr || mp[0].LastHeard.IsZero() {
		t.Fatalf("a's peers after b stopped: %+v", mp)
	}
}

// TestControlCharactersCannotForgeLines: the stdout line stays one line;
// the chat keeps the text as sent.
func TestControlCharactersCannotForgeLines(t *testing.T) {
	a := start(t, fast(), "")
	cfg := fast()
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	text := "one\nP2P origin 1 from 1.2.3.4:5 contents forged\r\x1b[2J\u2028é\tend"
	b.say(text)
	want := gossipLine(b, `one\nP2P origin 1 from 1.2.3.4:5 contents forged\r\x1b[2J\u2028é`+"\tend")
	waitFor(t, "a prints the escaped line", func() bool { return a.host.Count(gossipertest.Equal(want)) == 1 })
	if got := a.host.Messages(); len(got) != 1 || got[0].Text != text {
		t.Fatalf("recorded %+v", got)
	}
}

// TestSayBeforeAnyPeerReachesLaterPeersOnce: the periodic gossip brings our
// latest message to peers that join later, and only once.
func TestSayBeforeAnyPeerReachesLaterPeersOnce(t *testing.T) {
	a := start(t, fast(), "")
	a.say("said alone")
	a.say("said alone, latest")
	cfg := fast()
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	line := gossipLine(a, "said alone, latest")
	waitFor(t, "b gets a's latest message", func() bool { return b.host.Count(gossipertest.Equal(line)) == 1 })
	// Several periods later it has still come once, and the older one never.
	time.Sleep(5 * fast().Period)
	if n := b.host.Count(gossipertest.Equal(line)); n != 1 {
		t.Fatalf("b printed a's latest message %d times", n)
	}
	if n := b.host.Count(gossipertest.Equal(gossipLine(a, "said alone"))); n != 0 {
		t.Fatalf("b printed a's older message %d times", n)
	}
}

func TestSayRefusesWhatPeersCannotRead(t *testing.T) {
	a := start(t, fast(), "")
	if err := a.p.Say("bad \xff byte"); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if err := a.p.Say(strings.Repeat("x", maxSend)); err == nil || !strings.Contains(err.Error(), "reads at most 8164") {
		t.Fatalf("long message: %v", err)
	}
	if err := a.p.Say(strings.Repeat("x", maxSend-12)); err != nil {
		t.Fatalf("longest message: %v", err)
	}
	if err := a.p.Relay("alice", "hi"); err != nil {
		t.Fatal(err)
	}
}

// TestRelayCarriesTheOrigin: the bridge's messages name who said them.
func TestRelayCarriesTheOrigin(t *testing.T) {
	a := start(t, fast(), "")
	cfg := fast()
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	if err := a.p.Relay("alice", "hi there"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b prints the relayed message", func() bool { return b.host.Count(gossipertest.Equal(gossipLine(a, "alice: hi there"))) == 1 })
}

// TestSimultaneousDialsAgreeOnOneConnection: A and B join through each
// other at the same moment, while A talks; both keep the same single
// connection, nothing arrives twice, and A's latest message arrives.
func TestSimultaneousDialsAgreeOnOneConnection(t *testing.T) {
	for round := 0; round < 3; round++ {
		lnA, lnB := listen(t), listen(t)
		cfgA, cfgB := fast(), fast()
		cfgA.Connect = []string{lnB.Addr().String()}
		cfgB.Connect = []string{lnA.Addr().String()}
		a, b := startOn(t, cfgA, lnA), startOn(t, cfgB, lnB)
		for i := 0; i < 10; i++ {
			a.say(fmt.Sprintf("m%d", i))
			time.Sleep(5 * time.Millisecond)
		}
		waitFor(t, "a and b agree on one connection", func() bool {
			ca, cb := a.p.connOf(b.p.Identity()), b.p.connOf(a.p.Identity())
			return ca != nil && cb != nil && ca.tls.LocalAddr().String() == cb.tls.RemoteAddr().String()
		})
		waitFor(t, "b prints a's latest message", func() bool { return b.host.Count(gossipertest.Equal(gossipLine(a, "m9"))) == 1 })
		a.say("once")
		waitFor(t, "b prints it", func() bool { return b.host.Count(gossipertest.Equal(gossipLine(a, "once"))) == 1 })
		for _, l := range b.host.Lines() {
			if n := b.host.Count(gossipertest.Equal(l)); n != 1 {
				t.Fatalf("round %d: b printed %q %d times", round, l, n)
			}
		}
		a.stop()
		b.stop()
	}
}

// TestStoppedPeerIsDeadThenRedialled: B goes away and comes back at the same
// address with the same certificate; A notices both and reconnects by
// itself (B is not told to join).
func TestStoppedPeerIsDeadThenRedialled(t *testing.T) {
	a := start(t, fast(), "")
	cfg := fast()
	cfg.Certificate = newCert(t)
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	b.stop()
	waitFor(t, "a marks b dead", func() bool { return !a.sees(b) })

	cfg.Connect = nil
	b2 := start(t, cfg, b.addr)
	waitFor(t, "a redials b", func() bool { return a.sees(b2) && b2.sees(a) })
	b2.say("back")
	waitFor(t, "a prints b's gossip", func() bool { return a.host.Count(gossipertest.Equal(gossipLine(b2, "back"))) == 1 })
}
