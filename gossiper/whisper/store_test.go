package whisper

import (
	"fmt"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/sirupsen/logrus"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func storedKeys(t *testing.T, ns *gossiper.Namespace, prefix string) []string {
	t.Helper()
	var vals []string
	if err := ns.ForEach([]byte(prefix), func(k, v []byte) error {
		vals = append(vals, string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return vals
}

// TestRestartRelaysNoSeenIDAgainAndReplaysTheBacklog: after a restart
// with the same store, a message seen before is neither shown nor relayed
// again, and a newly connected peer gets the backlog of the last run.
func TestRestartRelaysNoSeenIDAgainAndReplaysTheBacklog(t *testing.T) {
	dir := t.TempDir()
	origin := startListener(t) // the Addr of the peer's messages
	before := startListener(t)
	s := gossipertest.OpenStore(t, dir)
	a := startNode(t, Config{Peers: []string{before.addr()}, Store: s.Namespace("whisper")})
	sender := dialNode(t, a)
	sendJSON(t, sender, pdxgoMsg("1d405e51bf7f6593", origin.addr(), "before the restart", "bob"))
	eventually(t, "the message relayed", func() bool { return before.countBody("before the restart") == 1 })
	if err := a.Say("ours, before the restart"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ours sent", func() bool { return before.countBody("ours, before the restart") == 1 })
	a.stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = gossipertest.OpenStore(t, dir)
	defer s.Close()
	after := startListener(t)
	b := startNode(t, Config{Peers: []string{after.addr()}, Store: s.Namespace("whisper")})
	eventually(t, "the backlog replayed", func() bool { return len(after.messages()) == 2 })
	if got := after.messages(); got[0].Body != "before the restart" || got[0].Nick != "bob" || got[1].Body != "ours, before the restart" {
		t.Fatalf("backlog %+v", got)
	}
	sender = dialNode(t, b)
	sendJSON(t, sender,
		pdxgoMsg("1d405e51bf7f6593", origin.addr(), "before the restart", "bob"),
		pdxgoMsg("2d405e51bf7f6593", origin.addr(), "after the restart", "bob"))
	eventually(t, "the new message relayed", func() bool { return after.countBody("after the restart") == 1 })
	if n := after.countBody("before the restart"); n != 1 {
		t.Fatalf("the message seen before the restart went out %d times", n)
	}
	if n := b.host.Count(gossipertest.Contains("before the restart")); n != 0 {
		t.Fatalf("the message seen before the restart was shown again: %q", b.host.Lines())
	}
	if n := b.host.Count(gossipertest.Contains("after the restart")); n != 1 {
		t.Fatalf("printed %q", b.host.Lines())
	}
}

// manualClock is a clock moved by hand; its timers never fire.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *manualClock) AfterFunc(time.Duration, func()) gossiper.Timer { return stoppedTimer{} }

type stoppedTimer struct{}

func (stoppedTimer) Stop() bool { return false }

// TestStoredSeenIDsStayWithinTheWindowAndTheCap: the store keeps what the
// memory keeps, and a restart loads no ID the memory had forgotten.
func TestStoredSeenIDsStayWithinTheWindowAndTheCap(t *testing.T) {
	dir := t.TempDir()
	s := gossipertest.OpenStore(t, dir)
	defer s.Close()
	ns := s.Namespace("whisper")
	t0 := time.Unix(1795238500, 0)
	clock := &manualClock{t: t0}
	newNode := func() *Whisper {
		ln, err := netListen()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		w, err := New(Config{
			Addr: ln.Addr().String(), SeenWindow: time.Hour, SeenMax: 2, Store: ns,
			Clock: clock, Rand: rand.New(rand.NewSource(1)), Log: quiet(),
		}, ln, gossipertest.NewHost(ProtocolName))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := newNode()
	for i, id := range []string{"a", "b", "c", "d", strings.Repeat("e", 40000)} {
		w.mu.Lock()
		w.rememberLocked(id, t0.Add(time.Duration(i)*10*time.Minute))
		w.mu.Unlock()
	}
	gossipertest.Committed(t, ns)
	if got := storedKeys(t, ns, seenPrefix); len(got) != 5 {
		t.Fatalf("stored %d IDs, want 5", len(got))
	}
	// 62 minutes on, "a" is out of the window; of the rest, the cap
	// keeps the two latest.
	clock.set(t0.Add(62 * time.Minute))
	w.pruneSeen()
	gossipertest.Committed(t, ns)
	if got := storedKeys(t, ns, seenPrefix); len(got) != 2 || got[0] != "d" || len(got[1]) != 40000 {
		t.Fatalf("stored after pruning: %.20q", got)
	}
	// 95 minutes on, "d" (seen at 30) is out of the window too.
	clock.set(t0.Add(95 * time.Minute))
	w = newNode()
	if n := w.seen.Len(); n != 1 {
		t.Fatalf("a restart loaded %d IDs, want 1", n)
	}
	w.mu.Lock()
	again := w.rememberLocked(strings.Repeat("e", 40000), clock.Now())
	w.mu.Unlock()
	if again {
		t.Fatal("an ID stored before the restart was taken as new")
	}
	gossipertest.Committed(t, ns)
	if got := storedKeys(t, ns, seenPrefix); len(got) != 1 {
		t.Fatalf("stored after the restart: %.20q", got)
	}
}

// TestDamagedStoredStateIsAnError: New refuses what it cannot read,
// naming the namespace and key, rather than relay old messages again.
func TestDamagedStoredStateIsAnError(t *testing.T) {
	for name, kv := range map[string][2]string{
		"seen key":     {"seen/xyz", "a"},
		"seen value":   {string(seenKey(time.Unix(1795238500, 0), "a")), "b"},
		"backlog json": {string(backlogKey(7)), "{not json"},
		"backlog body": {string(backlogKey(7)), `{"ID":"x","Addr":"127.0.0.1:1","Body":""}`},
		"backlog addr": {string(backlogKey(7)), `{"ID":"x","Addr":"nowhere","Body":"hi"}`},
		"backlog key":  {"backlog/7", `{"ID":"x","Addr":"127.0.0.1:1","Body":"hi"}`},
	} {
		dir := t.TempDir()
		s := gossipertest.OpenStore(t, dir)
		s.Namespace("whisper").Put([]byte(kv[0]), []byte(kv[1]))
		s.Close()
		s = gossipertest.OpenStore(t, dir)
		ln, err := netListen()
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(Config{Addr: ln.Addr().String(), Store: s.Namespace("whisper"), Log: quiet()}, ln, gossipertest.NewHost(ProtocolName))
		ln.Close()
		s.Close()
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("namespace %q key %q", "whisper", kv[0])) {
			t.Errorf("%s: New error %v, want one naming the namespace and key", name, err)
		}
	}
}
