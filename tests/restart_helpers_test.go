package tests

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// Helpers of the restart tests (issue 11): daemons in a line that can be
// stopped with a chosen signal and started again with the same name, ports
// and -dataDir, and the comparison of what every node ends up showing.

// restartTimeout bounds how long a restarted node may take to get back
// what it missed: anti-entropy runs every second, but a line of five on a
// loaded two-core machine is slow.
const restartTimeout = 30 * time.Second

// startLine starts daemons named names in a line, each told only its
// predecessor, so that a message from one end crosses every node. Nodes
// whose index is in withData get a -dataDir of their own, inside t's
// temporary directory but not yet created, so the daemon creates it.
func startLine(t testing.TB, names []string, withData ...int) []*chatNode {
	t.Helper()
	base := t.TempDir()
	specs := make([]chatSpec, len(names))
	for i, name := range names {
		specs[i] = chatSpec{name: name}
		if i > 0 {
			specs[i].gossipPeers = []int{i - 1}
		}
		if slices.Contains(withData, i) {
			specs[i].args = []string{"-dataDir=" + filepath.Join(base, name)}
		}
	}
	return startChatNodes(t, specs)
}

// halt stops n with sig (by its PID only) and waits for it to exit. A
// SIGTERM must end it cleanly; a SIGKILL ends it wherever it was.
func halt(t testing.TB, n *chatNode, sig syscall.Signal) {
	t.Helper()
	n.stopOnce.Do(func() {
		if err := n.cmd.Process.Signal(sig); err != nil {
			t.Fatalf("signal %v to %s: %v", sig, n.name, err)
		}
		select {
		case <-n.exited:
		case <-time.After(stopTimeout):
			_ = n.cmd.Process.Kill()
			<-n.exited
			t.Fatalf("node %s ignored %v for %v and was killed", n.name, sig, stopTimeout)
		}
	})
	if sig == syscall.SIGTERM && n.waitErr != nil {
		t.Fatalf("node %s did not exit cleanly on SIGTERM: %v\nstderr tail:\n%s", n.name, n.waitErr, n.errLog.tail(20))
	}
}

// msgKey is a Peerster message's identity in the network.
type msgKey struct {
	origin string
	id     uint32
}

func (k msgKey) String() string { return fmt.Sprintf("%s/%d", k.origin, k.id) }

// peersterChat is a node's Peerster messages as (origin, ID) -> text, with
// every (origin, ID) or text the node shows more than once: either is a
// message shown twice.
type peersterChat struct {
	texts map[msgKey]string
	twice []string
}

func peersterChatOf(t testing.TB, n *chatNode) peersterChat {
	t.Helper()
	c := peersterChat{texts: map[msgKey]string{}}
	seenText := map[string]bool{}
	for _, r := range chatOf(t, n) {
		if r.Protocol != "peerster" {
			continue
		}
		k := msgKey{r.Origin, r.ID}
		if old, ok := c.texts[k]; ok {
			c.twice = append(c.twice, fmt.Sprintf("%v shown as %q and %q", k, old, r.Text))
		}
		if seenText[r.Text] {
			c.twice = append(c.twice, fmt.Sprintf("text %q shown twice", r.Text))
		}
		c.texts[k] = r.Text
		seenText[r.Text] = true
	}
	return c
}

// diff lists how got differs from want, sorted, for failure messages.
func diffChat(got, want map[msgKey]string) string {
	var d []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			d = append(d, fmt.Sprintf("lacks %v %q", k, w))
		} else if g != w {
			d = append(d, fmt.Sprintf("%v is %q, want %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("extra %v %q", k, g))
		}
	}
	sort.Strings(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("... and %d more", len(d)-20))
	}
	return strings.Join(d, "; ")
}

// waitSameChat polls every node until each shows exactly want, once each.
func waitSameChat(t testing.TB, nodes []*chatNode, want map[msgKey]string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var bad []string
		for _, n := range nodes {
			c := peersterChatOf(t, n)
			if len(c.twice) > 0 {
				t.Fatalf("node %s shows a message twice: %s", n.name, strings.Join(c.twice, "; "))
			}
			if d := diffChat(c.texts, want); d != "" {
				bad = append(bad, n.name+": "+d)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the nodes do not all show the same messages:\n  %s", timeout, strings.Join(bad, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// protocolLineFor matches a CLIENT MESSAGE or RUMOR line carrying text.
func protocolLineFor(text string) *regexp.Regexp {
	q := regexp.QuoteMeta(text)
	return regexp.MustCompile(`^(CLIENT MESSAGE ` + q + `|RUMOR origin .* contents ` + q + `)$`)
}

// clientSender sends client datagrams to a node's UIPort the way the client
// binary does, without a process per message.
type clientSender struct {
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newClientSender(t testing.TB, uiPort int) *clientSender {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &clientSender{conn: conn, to: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: uiPort}}
}

// send sends text as one -msg datagram. An error is returned, not fatal:
// a node killed on purpose makes writes fail.
func (s *clientSender) send(text string) error {
	b, err := messages.EncodeClient(&messages.Message{Text: text})
	if err != nil {
		return err
	}
	_, err = s.conn.WriteToUDP(b, s.to)
	return err
}

// clientLines returns the texts of the CLIENT MESSAGE lines in l from
// index from on, and the index to continue from.
func clientLines(l *lineLog, from int) ([]string, int) {
	var texts []string
	lines := l.since(from)
	for _, ln := range lines {
		if s, ok := strings.CutPrefix(ln.text, "CLIENT MESSAGE "); ok {
			texts = append(texts, s)
		}
	}
	return texts, from + len(lines)
}

// dataDirOf is the -dataDir n was started with.
func dataDirOf(t testing.TB, n *chatNode) string {
	t.Helper()
	for _, a := range n.args {
		if dir, ok := strings.CutPrefix(a, "-dataDir="); ok {
			return dir
		}
	}
	t.Fatalf("node %s has no -dataDir", n.name)
	return ""
}

// runDaemonToExit runs a gossiper on fresh ports, with no GUI and no digit
// gossip, plus args, and expects it to exit by itself within startTimeout.
func runDaemonToExit(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ports := freeUDPPorts(t, 2)
	args = append([]string{"-name=Second", "-UIPort=" + strconv.Itoa(ports[0]),
		"-gossipAddr=" + loopback(ports[1]).String(), "-GUIPort=0", "-digitAddr=off"}, args...)
	code, stdout, stderr, timedOut := runToExit(t, args...)
	if timedOut {
		t.Fatalf("gossiper %v was still running after %v; stderr %q", args, startTimeout, stderr)
	}
	return code, stdout, stderr
}
