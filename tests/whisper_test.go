package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWhisperTwoDaemons: two of our daemons over the whispernet, chat both
// ways, nicks as names, a rename, a file, the chat API.
func TestWhisperTwoDaemons(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	nodes := startChatNodes(t, []chatSpec{
		{name: "Alice", args: []string{"-dataDir=" + dataDir}},
		{name: "Bob", whisperPeers: []int{0}},
	})
	a, b := nodes[0], nodes[1]

	sendClient(t, b.node, "hello_from_Bob")
	waitLine(t, a.node, exactLine("WHISPER origin Bob from "+b.whisperAddr+" contents hello_from_Bob"), waitTimeout)
	// Alice dials Bob's Addr once his message arrives; her answer goes back.
	sendClient(t, a.node, "hello_from_Alice")
	waitLine(t, b.node, exactLine("WHISPER origin Alice from "+a.whisperAddr+" contents hello_from_Alice"), waitTimeout)

	if r := runClient(t, "-UIPort="+strconv.Itoa(b.uiPort), "-name=Robert"); r.code != 0 {
		t.Fatalf("client -name: %+v", r)
	}
	sendClient(t, b.node, "after_rename")
	waitLine(t, a.node, exactLine("WHISPER origin Robert from "+b.whisperAddr+" contents after_rename"), waitTimeout)

	file := filepath.Join(t.TempDir(), "notes.txt")
	content := []byte("line one\nline two\n")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runClient(t, "-UIPort="+strconv.Itoa(b.uiPort), "-file="+file); r.code != 0 {
		t.Fatalf("client -file: %+v", r)
	}
	got := waitLine(t, a.node, regexp.MustCompile(`^WHISPER origin Robert from \S+ contents sent a file: notes\.txt .*saved as (\S+)\]$`), waitTimeout)
	saved := regexp.MustCompile(`saved as (\S+)\]$`).FindStringSubmatch(got)[1]
	if !strings.HasPrefix(saved, filepath.Join(dataDir, "downloads")+"/") {
		t.Errorf("file saved as %s, outside %s/downloads", saved, dataDir)
	}
	if b, err := os.ReadFile(saved); err != nil || !bytes.Equal(b, content) {
		t.Errorf("saved file %s: %q, %v", saved, b, err)
	}
	for _, bad := range [][]string{{"-file=" + t.TempDir()}, {"-file=/nonexistent/file"}, {"-file="}} {
		if r := runClient(t, append([]string{"-UIPort=" + strconv.Itoa(b.uiPort)}, bad...)...); r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("client %v: exit %d, stderr %q; want 2 and one line", bad, r.code, r.stderr)
		}
	}

	time.Sleep(500 * time.Millisecond) // room for duplicates to show
	for _, n := range nodes {
		checkStdoutGrammar(t, n.node)
	}
	if c := countLines(t, a.node, "WHISPER origin Bob from "+b.whisperAddr+" contents hello_from_Bob"); c != 1 {
		t.Errorf("Alice printed Bob's message %d times", c)
	}
	if c := countLines(t, b.node, regexp.MustCompile(`^WHISPER .* contents (hello_from_Bob|after_rename)$`)); c != 0 {
		t.Errorf("Bob was shown his own messages %d times", c)
	}
	chat := a.chat(t)
	if countChat(chat, "whisper", "hello_from_Bob") != 1 || countChat(chat, "peerster", "hello_from_Alice") != 1 {
		t.Errorf("Alice's /message: %+v", chat)
	}
	for _, e := range chat {
		if e.Protocol == "whisper" && e.Text == "hello_from_Bob" && (e.Origin != "Bob" || e.From != b.whisperAddr) {
			t.Errorf("whisper chat entry %+v", e)
		}
	}
}

// TestWhisperWithPdxgoPeer: a peer that behaves as the real program does on
// the wire (see fakePdxgo) and our daemon exchange messages both ways.
func TestWhisperWithPdxgoPeer(t *testing.T) {
	t.Parallel()
	n := startChatNodes(t, []chatSpec{{name: "ours"}})[0]
	gopher := startFakePdxgo(t, "gopher")
	gopher.connect(n.whisperAddr)
	gopher.say("hello from gopher")
	waitLine(t, n.node, exactLine("WHISPER origin gopher from "+gopher.addr()+" contents hello from gopher"), waitTimeout)

	// Our node dials gopher's Addr; what we type reaches it under our nick,
	// and its echo back to us is not shown again.
	sendClient(t, n.node, "hi gopher")
	waitFor(t, "gopher got our message", waitTimeout, func() bool { return len(gopher.received("hi gopher")) == 1 })
	m := gopher.received("hi gopher")[0]
	if m.Nick != "ours" || m.Addr != n.whisperAddr || !strings.HasPrefix(m.ID, "hash:sha256:") || m.Timestamp == 0 {
		t.Errorf("gopher received %+v", m)
	}
	gopher.say("second from gopher")
	waitLine(t, n.node, exactLine("WHISPER origin gopher from "+gopher.addr()+" contents second from gopher"), waitTimeout)
	time.Sleep(500 * time.Millisecond)
	if c := countLines(t, n.node, regexp.MustCompile(`^WHISPER .*contents hi gopher$`)); c != 0 {
		t.Errorf("our own message, echoed back by pdxgo, shown %d times", c)
	}
	if c := countLines(t, n.node, regexp.MustCompile(`^WHISPER .*contents hello from gopher$`)); c != 1 {
		t.Errorf("gopher's message shown %d times", c)
	}
	if len(gopher.received("hello from gopher")) != 0 {
		t.Error("gopher's own message relayed back to its Addr")
	}
	if gopher.hasCrashed() {
		t.Error("an empty Body reached pdxgo")
	}
}

// TestWhisperHostilePeers: through the real socket, malformed JSON closes
// only its connection, an empty Body is neither shown nor sent on, a
// duplicated ID shows once, and a burst of 10,000 messages gets its sender
// disconnected while the node goes on serving others.
func TestWhisperHostilePeers(t *testing.T) {
	t.Parallel()
	n := startChatNodes(t, []chatSpec{{name: "target"}})[0]
	watcher := startFakePdxgo(t, "watcher")
	watcher.connect(n.whisperAddr)
	watcher.say("watching")
	waitLine(t, n.node, exactLine("WHISPER origin watcher from "+watcher.addr()+" contents watching"), waitTimeout)

	dial := func() net.Conn {
		c, err := net.Dial("tcp4", n.whisperAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closed := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		var b [1]byte
		_, err := c.Read(b[:])
		ne, ok := err.(net.Error)
		return err != nil && !(ok && ne.Timeout())
	}
	honest := dial()
	send := func(c net.Conn, s string) { c.Write([]byte(s + "\n")) }
	msg := func(id, body string) string {
		return fmt.Sprintf(`{"ID":%q,"Addr":"127.0.0.1:9","Body":%q,"omitempty":"h","Timestamp":%d}`, id, body, time.Now().Unix())
	}

	bad := dial()
	send(bad, `{"ID":"m1","Addr":"127.0.0.1:9","Body":"half`+"\x00"+`"`+`,,}`)
	send(bad, msg("after-bad", "after malformed"))
	if !closed(bad) {
		t.Error("malformed JSON left the connection open")
	}
	send(honest, msg("e1", ""))
	send(honest, msg("d1", "duplicated"))
	send(honest, msg("d1", "duplicated"))
	dial2 := dial()
	send(dial2, msg("d1", "duplicated"))

	flood := dial()
	var burst strings.Builder
	for i := 0; i < 10000; i++ {
		burst.WriteString(msg(fmt.Sprint("flood-", i), fmt.Sprint("flood ", i)))
		burst.WriteByte('\n')
	}
	go flood.Write([]byte(burst.String()))
	if !closed(flood) {
		t.Fatal("a burst of 10,000 messages did not get its sender disconnected")
	}
	send(honest, msg("still", "still served"))
	waitLine(t, n.node, exactLine("WHISPER origin h from 127.0.0.1:9 contents still served"), waitTimeout)
	sendClient(t, n.node, "peerster_still_works")
	waitLine(t, n.node, exactLine("CLIENT MESSAGE peerster_still_works"), waitTimeout)
	waitFor(t, "watcher got the honest message", waitTimeout, func() bool { return len(watcher.received("still served")) == 1 })

	if c := countLines(t, n.node, regexp.MustCompile(`contents duplicated$`)); c != 1 {
		t.Errorf("duplicated ID shown %d times", c)
	}
	if c := countLines(t, n.node, regexp.MustCompile(`contents after malformed$`)); c != 0 {
		t.Error("a message after malformed JSON on the same connection was taken")
	}
	if c := countLines(t, n.node, regexp.MustCompile(`contents flood \d+$`)); c > 300 {
		t.Errorf("%d flood messages taken before the disconnect", c)
	}
	if c := countLines(t, n.node, regexp.MustCompile(`^WHISPER .* contents $`)); c != 0 {
		t.Error("an empty Body was shown")
	}
	if watcher.hasCrashed() {
		t.Error("an empty Body was sent on to a pdxgo peer")
	}
	if !strings.Contains(n.errLog.String(), "flood") {
		t.Error("the flood was not logged")
	}
	checkStdoutGrammar(t, n.node)
}

// TestWhisperBridge: Peerster-only P, bridge B, whisper-only W. Each side's
// message reaches the other side once, and nothing comes back.
func TestWhisperBridge(t *testing.T) {
	t.Parallel()
	nodes := startChatNodes(t, []chatSpec{
		{name: "P", gossipPeers: []int{1}},
		{name: "B", gossipPeers: []int{0}, args: []string{"-bridge"}},
		{name: "W", whisperPeers: []int{1}},
	})
	p, b, w := nodes[0], nodes[1], nodes[2]

	sendClient(t, w.node, "from_whisper")
	waitLine(t, b.node, exactLine("WHISPER origin W from "+w.whisperAddr+" contents from_whisper"), waitTimeout)
	waitLine(t, p.node, regexp.MustCompile(`^RUMOR origin B from `+regexp.QuoteMeta(b.gossip.String())+` ID \d+ contents W: from_whisper$`), waitTimeout)

	sendClient(t, p.node, "from_peerster")
	waitLine(t, b.node, regexp.MustCompile(`^RUMOR origin P from \S+ ID 1 contents from_peerster$`), waitTimeout)
	waitLine(t, w.node, exactLine("WHISPER origin P from "+b.whisperAddr+" contents from_peerster"), waitTimeout)

	time.Sleep(time.Second) // room for loops and duplicates to show
	if c := countChat(p.chat(t), "peerster", "W: from_whisper"); c != 1 {
		t.Errorf("P's chat has the bridged whisper message %d times", c)
	}
	wchat := w.chat(t)
	if c := countChat(wchat, "whisper", "from_peerster"); c != 1 {
		t.Errorf("W's chat has the bridged rumor %d times", c)
	}
	for _, e := range wchat {
		if strings.Contains(e.Text, "from_whisper") && e.Protocol != "peerster" {
			t.Errorf("W's own message came back: %+v", e)
		}
	}
	bchat := b.chat(t)
	if countChat(bchat, "whisper", "from_whisper") != 1 || countChat(bchat, "peerster", "from_peerster") != 1 || len(bchat) != 2 {
		t.Errorf("bridge's chat: %+v", bchat)
	}
	if c := countLines(t, w.node, regexp.MustCompile(`^WHISPER `)); c != 1 {
		t.Errorf("W printed %d WHISPER lines, want 1", c)
	}
	if c := countLines(t, b.node, regexp.MustCompile(`^WHISPER `)); c != 1 {
		t.Errorf("B printed %d WHISPER lines, want 1", c)
	}
	for _, n := range nodes {
		checkStdoutGrammar(t, n.node)
	}
}

// TestWhisperDiscoveryInNetns: two daemons find each other by UDP broadcast
// to port 5555. Broadcasts leave the machine on a real network, so the test
// runs them in a network namespace of its own with a veth pair, and needs
// root for it.
func TestWhisperDiscoveryInNetns(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux, iproute2) to create a network namespace", tool)
		}
	}
	dir := t.TempDir()
	// Inside the namespace the ports are ours alone. Each daemon is killed
	// by its PID.
	script := `
set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.77.0.1/24 dev v0
ip addr add 10.77.0.2/24 dev v1
ip link set v0 up
ip link set v1 up
ip route add default dev v0
G="$1"; C="$2"; D="$3"
"$G" -name=A -UIPort=7001 -gossipAddr=127.0.0.1:7002 -GUIPort=0 -digitAddr=off -whisperAddr=127.0.0.1:7003 -whisperDiscovery >"$D/a.out" 2>"$D/a.err" & A=$!
"$G" -name=B -UIPort=7011 -gossipAddr=127.0.0.1:7012 -GUIPort=0 -digitAddr=off -whisperAddr=127.0.0.1:7013 -whisperDiscovery >"$D/b.out" 2>"$D/b.err" & B=$!
trap 'kill $A $B 2>/dev/null || true' EXIT
for i in $(seq 100); do
  grep -q 'msg=connected' "$D/a.err" && grep -q 'msg=connected' "$D/b.err" && break
  sleep 0.1
done
"$C" -UIPort=7001 -msg=found_by_broadcast_A
"$C" -UIPort=7011 -msg=found_by_broadcast_B
for i in $(seq 100); do
  grep -q found_by_broadcast_B "$D/a.out" && grep -q found_by_broadcast_A "$D/b.out" && break
  sleep 0.1
done
kill $A $B
wait $A $B || true
`
	cmd := exec.Command("unshare", "--net", "sh", "-c", script, "sh", gossiperBin, clientBin, dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("namespace script: %v\n%s", err, out.String())
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	if !strings.Contains(read("a.out"), "WHISPER origin B from 127.0.0.1:7013 contents found_by_broadcast_B\n") ||
		!strings.Contains(read("b.out"), "WHISPER origin A from 127.0.0.1:7003 contents found_by_broadcast_A\n") {
		t.Errorf("daemons did not find each other:\nA:\n%s%s\nB:\n%s%s\nscript: %s", read("a.out"), read("a.err"), read("b.out"), read("b.err"), out.String())
	}
}
