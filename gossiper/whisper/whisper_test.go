package whisper

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/peerster-chat/Peerster/messages"
)

func TestRelaysToAllButAddrAndDedupes(t *testing.T) {
	a, b := startListener(t), startListener(t)
	n := startNode(t, Config{Peers: []string{a.addr(), b.addr()}})
	eventually(t, "both peers connected", func() bool {
		st := n.PeerStates()
		return len(st) == 2 && st[0].Connected && st[1].Connected
	})
	in := dialNode(t, n)
	msg := pdxgoMsg("id-1", a.addr(), "hello from a", "alice")
	sendJSON(t, in, msg, msg)
	eventually(t, "relay to b", func() bool { return b.countBody("hello from a") == 1 })
	sendJSON(t, in, pdxgoMsg("id-2", a.addr(), "marker", "alice"))
	eventually(t, "marker relayed", func() bool { return b.countBody("marker") == 1 })
	if got := b.countBody("hello from a"); got != 1 {
		t.Errorf("duplicate ID relayed %d times", got)
	}
	if got := a.countBody("hello from a") + a.countBody("marker"); got != 0 {
		t.Errorf("message relayed back to its own Addr %d times", got)
	}
	if got := n.host.Count(gossipertest.Contains("WHISPER origin alice from " + a.addr() + " contents hello from a")); got != 1 {
		t.Errorf("WHISPER line printed %d times: %q", got, n.host.Lines())
	}
	relayed := b.messages()[0]
	if relayed.Nick != "alice" || relayed.ID != "id-1" {
		t.Errorf("relayed as %+v", relayed)
	}
}

func TestDialsAddrOfNewMessagesButNeverItself(t *testing.T) {
	a := startListener(t)
	n := startNode(t, Config{})
	in := dialNode(t, n)
	sendJSON(t, in, pdxgoMsg("x1", a.addr(), "from a", "a"), pdxgoMsg("x2", n.Addr(), "claims to be us", "z"))
	eventually(t, "both printed", func() bool { return len(n.host.Lines()) == 2 })
	eventually(t, "a dialled", func() bool {
		st := n.PeerStates()
		return len(st) == 1 && st[0].Addr == a.addr() && st[0].Connected
	})
	// a was dialled after its message arrived, so it gets the second one
	// from the backlog but never its own.
	eventually(t, "backlog to a", func() bool { return a.countBody("claims to be us") == 1 })
	if a.countBody("from a") != 0 {
		t.Error("a got its own message back")
	}
}

func TestNeverSendsAnEmptyBody(t *testing.T) {
	a := startListener(t)
	n := startNode(t, Config{Peers: []string{a.addr()}})
	in := dialNode(t, n)
	sendJSON(t, in,
		map[string]any{"ID": "e1", "Addr": "127.0.0.1:9", "Body": ""},
		map[string]any{"ID": "e2", "Addr": "127.0.0.1:9"},
		map[string]any{"ID": "e3", "Addr": "127.0.0.1:9", "FileType": "text/plain", "FileContents": "aGk="},
		pdxgoMsg("e4", "127.0.0.1:9", "marker", ""),
	)
	eventually(t, "marker relayed", func() bool { return a.countBody("marker") == 1 })
	if err := n.Say(""); err == nil {
		t.Error("Say of an empty text accepted")
	}
	for _, m := range a.messages() {
		if m.Body == "" {
			t.Errorf("empty Body sent: %+v", m)
		}
	}
	if len(a.messages()) != 1 {
		t.Errorf("sent %d messages, want only the marker", len(a.messages()))
	}
	// The file without a Body is shown, not relayed.
	if n.host.Count(gossipertest.Contains("[file text/plain, 2 bytes, not saved: no -dataDir]")) != 1 {
		t.Errorf("file without Body not shown: %q", n.host.Lines())
	}
}

func TestOwnMessagesHashedAndEchoesShownOnce(t *testing.T) {
	a := startListener(t)
	n := startNode(t, Config{Peers: []string{a.addr()}, Nick: "me"})
	for i := 0; i < 3; i++ {
		if err := n.Say("same text"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three sent", func() bool { return a.countBody("same text") == 3 })
	ids := map[string]bool{}
	for _, m := range a.messages() {
		if err := m.CheckHash(); err != nil || !strings.HasPrefix(m.ID, messages.HashIDPrefix) {
			t.Errorf("own message %+v: ID not a matching hash (%v)", m, err)
		}
		if m.Nick != "me" || m.Addr != n.Addr() || m.Timestamp == 0 {
			t.Errorf("own message %+v", m)
		}
		ids[m.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("the same text three times got %d distinct IDs", len(ids))
	}
	// pdxgo echoes our messages back: none is shown.
	in := dialNode(t, n)
	for _, m := range a.messages() {
		sendJSON(t, in, map[string]any{"ID": m.ID, "Addr": m.Addr, "Body": m.Body, "omitempty": m.Nick, "Timestamp": m.Timestamp})
	}
	sendJSON(t, in, pdxgoMsg("after-echo", "127.0.0.1:9", "after echo", ""))
	eventually(t, "marker shown", func() bool { return n.host.Count(gossipertest.Contains("after echo")) == 1 })
	if got := n.host.Count(gossipertest.Contains("same text")); got != 0 {
		t.Errorf("own echoed messages shown %d times", got)
	}
}

func TestDropsTamperedHashedIDs(t *testing.T) {
	n := startNode(t, Config{})
	in := dialNode(t, n)
	id := messages.WhisperHashID("127.0.0.1:9", "original", 1795238300)
	sendJSON(t, in,
		map[string]any{"ID": id, "Addr": "127.0.0.1:9", "Body": "tampered", "Timestamp": 1795238300},
		map[string]any{"ID": "hash:md5:whatever", "Addr": "127.0.0.1:9", "Body": "opaque hash name"},
	)
	eventually(t, "opaque shown", func() bool { return n.host.Count(gossipertest.Contains("opaque hash name")) == 1 })
	if n.host.Count(gossipertest.Contains("tampered")) != 0 {
		t.Error("a message whose hash does not match was shown")
	}
}

func TestMalformedInputClosesOnlyThatConnection(t *testing.T) {
	n := startNode(t, Config{})
	good := dialNode(t, n)
	sendJSON(t, good, pdxgoMsg("g1", "127.0.0.1:9", "before", ""))
	for i, bad := range []string{
		`{"ID":"f","Addr":"127.0.0.1:9","Body":"float ts","Timestamp":1.5}`,
		`{"ID":"x",`, "]", `{"ID":5,"Addr":"127.0.0.1:9","Body":"b"}`, "\x00\xff garbage",
	} {
		c := dialNode(t, n)
		c.Write([]byte(bad + "\n" + `{"ID":"after-bad-` + fmt.Sprint(i) + `","Addr":"127.0.0.1:9","Body":"after bad"}` + "\n"))
		if !closedByPeer(c, 5*time.Second) {
			t.Errorf("%q: connection left open", bad)
		}
	}
	sendJSON(t, good, pdxgoMsg("g2", "127.0.0.1:9", "after", ""))
	eventually(t, "good connection still served", func() bool { return n.host.Count(gossipertest.Contains("contents after")) == 1 })
	if n.host.Count(gossipertest.Contains("after bad")) != 0 || n.host.Count(gossipertest.Contains("float ts")) != 0 {
		t.Errorf("messages from a closed connection were taken: %q", n.host.Lines())
	}
}

func TestFloodDisconnectsAndBans(t *testing.T) {
	a := startListener(t)
	n := startNode(t, Config{Rate: 20, Burst: 50, BanFor: time.Hour})
	flood := dialNode(t, n)
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, `{"ID":"f%d","Addr":"%s","Body":"flood %d"}`+"\n", i, a.addr(), i)
	}
	go flood.Write([]byte(b.String()))
	if !closedByPeer(flood, 10*time.Second) {
		t.Fatal("flooding connection left open")
	}
	shown := n.host.Count(gossipertest.Contains("contents flood"))
	if shown > 60 {
		t.Errorf("%d flood messages taken, burst is 50", shown)
	}
	// It comes back on a new connection: refused at its first message.
	again := dialNode(t, n)
	sendJSON(t, again, pdxgoMsg("back", a.addr(), "back again", ""))
	if !closedByPeer(again, 5*time.Second) {
		t.Error("banned peer's new connection left open")
	}
	// Others are still served, even a message naming the flooder's Addr:
	// a flooder can name any Addr and must not get an honest one cut off.
	other := dialNode(t, n)
	sendJSON(t, other, pdxgoMsg("o1", "127.0.0.1:9", "other peer", ""), pdxgoMsg("o2", a.addr(), "relayed from a", ""))
	eventually(t, "other peer served", func() bool { return n.host.Count(gossipertest.Contains("relayed from a")) == 1 })
	if n.host.Count(gossipertest.Contains("back again")) != 0 {
		t.Error("the banned peer's new connection was read")
	}
}

func TestSlowPeerNeverStallsOthers(t *testing.T) {
	// A peer that accepts and never reads: its socket buffers fill, then
	// its queue, and it is dropped while the fast peer gets everything.
	slow, err := listenNoRead(t)
	if err != nil {
		t.Fatal(err)
	}
	fast := startListener(t)
	n := startNode(t, Config{Peers: []string{slow, fast.addr()}, QueueLen: 16, WriteTimeout: time.Minute})
	eventually(t, "connected", func() bool {
		st := n.PeerStates()
		return len(st) == 2 && st[0].Connected && st[1].Connected
	})
	body := strings.Repeat("x", 64<<10)
	const count = 400 // 25.6 MB: more than loopback socket buffers hold
	for i := 0; i < count; i++ {
		if err := n.Say(fmt.Sprintf("%d %s", i, body)); err != nil {
			t.Fatal(err)
		}
		// Paced by the fast peer, whose queue must not overflow; the
		// slow one's does, long before its write deadline.
		if i%8 == 7 {
			eventually(t, "fast peer keeps up", func() bool { return len(fast.messages()) > i-8 })
		}
	}
	eventually(t, "fast peer got all", func() bool { return len(fast.messages()) == count })
	eventually(t, "slow peer dropped", func() bool { return n.logged("peer cannot keep up") })
}

// listenNoRead accepts connections and never reads from them.
func listenNoRead(t *testing.T) (string, error) {
	l := startListener(t)
	l.ln.Close()
	l.wg.Wait()
	ln, err := netListen()
	if err != nil {
		return "", err
	}
	held := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				<-held
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		close(held)
		ln.Close()
	})
	return ln.Addr().String(), nil
}

func TestBacklogReplayedToNewPeers(t *testing.T) {
	n := startNode(t, Config{Backlog: 3})
	in := dialNode(t, n)
	for i := 0; i < 5; i++ {
		sendJSON(t, in, pdxgoMsg(fmt.Sprint("b", i), "127.0.0.1:9", fmt.Sprint("old ", i), ""))
	}
	eventually(t, "all shown", func() bool { return n.host.Count(gossipertest.Contains("contents old")) == 5 })
	late := startListener(t)
	sendJSON(t, in, pdxgoMsg("from-late", late.addr(), "hello, I am new", ""))
	eventually(t, "backlog", func() bool { return len(late.messages()) == 2 })
	got := late.messages()
	if got[0].Body != "old 3" || got[1].Body != "old 4" {
		t.Errorf("backlog %+v, want the last 3 but the peer's own, oldest first", got)
	}
}

func TestReconnectsWithBackoff(t *testing.T) {
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := startNode(t, Config{Peers: []string{addr}})
	time.Sleep(100 * time.Millisecond)
	if n.PeerStates()[0].Connected {
		t.Fatal("connected to a closed port")
	}
	l := startListenerAt(t, addr)
	eventually(t, "reconnected", func() bool { return n.PeerStates()[0].Connected })
	if err := n.Say("after reconnect"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered", func() bool { return l.countBody("after reconnect") == 1 })
}

func TestFilesSavedSafely(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Config{DownloadDir: dir, MaxFile: 1000})
	in := dialNode(t, n)
	content := []byte("the file's contents\n")
	enc := base64.StdEncoding.EncodeToString(content)
	sendJSON(t, in,
		map[string]any{"ID": "file-1", "Addr": "127.0.0.1:9", "Body": "a file", "FileType": "text/plain", "FileContents": enc, "FileName": "../../etc/passwd"},
		map[string]any{"ID": "file-2", "Addr": "127.0.0.1:9", "Body": "same name", "FileType": "text/plain", "FileContents": enc, "FileName": "../../etc/passwd"},
		map[string]any{"ID": "file-3", "Addr": "127.0.0.1:9", "Body": "too big", "FileType": "text/plain", "FileContents": base64.StdEncoding.EncodeToString(make([]byte, 1001))},
		map[string]any{"ID": "file-4", "Addr": "127.0.0.1:9", "Body": "bad b64", "FileType": "image/gif", "FileContents": "!!!"},
		map[string]any{"ID": "file-5", "Addr": "127.0.0.1:9", "Body": "gif", "FileType": "image/gif", "FileContents": enc},
	)
	eventually(t, "five shown", func() bool { return len(n.host.Lines()) == 5 })
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || string(b) != string(content) {
			t.Errorf("%s: %q, %v", e.Name(), b, err)
		}
	}
	want := []string{"file-1-passwd", "file-2-passwd", "file-5-file.gif"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("saved %v, want %v", names, want)
	}
	for _, s := range []string{"too big [file of 1001 bytes not saved: over 1000]", "bad b64 [file not saved: bad base64]"} {
		if n.host.Count(gossipertest.Contains(s)) != 1 {
			t.Errorf("no line with %q in %q", s, n.host.Lines())
		}
	}
}

func TestSendFile(t *testing.T) {
	a := startListener(t)
	n := startNode(t, Config{Peers: []string{a.addr()}, Nick: "me", MaxFile: 100})
	dir := t.TempDir()
	path := filepath.Join(dir, "note.txt")
	os.WriteFile(path, []byte("hello file"), 0o644)
	if err := n.SendFile(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "file sent", func() bool { return len(a.messages()) == 1 })
	m := a.messages()[0]
	if m.FileName != "note.txt" || !strings.HasPrefix(m.FileType, "text/plain") || m.FileContents != base64.StdEncoding.EncodeToString([]byte("hello file")) || m.Body == "" {
		t.Errorf("sent %+v", m)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 101), 0o644)
	for _, bad := range []string{big, dir, filepath.Join(dir, "missing")} {
		if err := n.SendFile(bad); err == nil {
			t.Errorf("SendFile(%s) accepted", bad)
		}
	}
}

func TestConnectionCap(t *testing.T) {
	n := startNode(t, Config{Accept: gossiper.ListenerLimits{MaxConns: 3, MaxPerIP: 2}})
	c1, c2 := dialNode(t, n), dialNode(t, n)
	sendJSON(t, c1, pdxgoMsg("c1", "127.0.0.1:9", "one", ""))
	sendJSON(t, c2, pdxgoMsg("c2", "127.0.0.1:9", "two", ""))
	eventually(t, "two served", func() bool { return len(n.host.Lines()) == 2 })
	c3 := dialNode(t, n)
	if !closedByPeer(c3, 5*time.Second) {
		t.Error("third connection over the cap left open")
	}
	c1.Close()
	eventually(t, "slot freed", func() bool {
		c := dialNode(t, n)
		sendJSON(t, c, pdxgoMsg(fmt.Sprint("c4-", time.Now().UnixNano()), "127.0.0.1:9", "four", ""))
		time.Sleep(20 * time.Millisecond)
		return n.host.Count(gossipertest.Contains("four")) >= 1
	})
}
