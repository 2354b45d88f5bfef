package tests

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// ring3 is three nodes A -> B -> C -> A, each told only its successor, the
// smallest network where a node must learn a peer it was not told about.
func ring3(extra ...string) []nodeSpec {
	return []nodeSpec{
		{name: "A", peers: []int{1}, args: extra},
		{name: "B", peers: []int{2}, args: extra},
		{name: "C", peers: []int{0}, args: extra},
	}
}

// checkPeersOrder insists that every PEERS line of node i in ring3 lists its
// -peers successor first and the learned predecessor second, and that the
// full list was printed at least once.
func checkPeersOrder(t *testing.T, nodes []*node) {
	t.Helper()
	for i, n := range nodes {
		succ, pred := nodes[(i+1)%3].gossip.String(), nodes[(i+2)%3].gossip.String()
		full := "PEERS " + succ + "," + pred
		waitLine(t, n, exactLine(full), waitTimeout)
		for _, ln := range n.out.all() {
			if strings.HasPrefix(ln.text, "PEERS") && ln.text != full && ln.text != "PEERS "+succ {
				t.Errorf("node %s: %q, want %q or %q (insertion order: -peers first, then learned)",
					n.name, ln.text, "PEERS "+succ, full)
			}
		}
	}
}

func TestRumorRing(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, ring3())
	msgs := []struct {
		from int
		id   int
		text string
	}{
		{0, 1, "Weather is clear ☀"},
		{1, 1, "Winter_is_coming"},
		{2, 1, "Is_anybody_here?"},
		{0, 2, "No_clouds_really"},
	}
	for _, m := range msgs {
		sendClient(t, nodes[m.from], m.text)
	}
	for _, m := range msgs {
		origin := nodes[m.from]
		waitLine(t, origin, exactLine("CLIENT MESSAGE "+m.text), waitTimeout)
		for i, n := range nodes {
			if i == m.from {
				continue
			}
			re := regexp.MustCompile(fmt.Sprintf(`^RUMOR origin %s from (\S+) ID %d contents %s$`,
				origin.name, m.id, regexp.QuoteMeta(m.text)))
			got := re.FindStringSubmatch(waitLine(t, n, re, waitTimeout))
			// In a 3-ring both other nodes are neighbours; the rumor can come
			// from either, but never from the node itself.
			if from := got[1]; from != nodes[(i+1)%3].gossip.String() && from != nodes[(i+2)%3].gossip.String() {
				t.Errorf("node %s: rumor %s/%d from %s, which is not a neighbour", n.name, origin.name, m.id, from)
			}
		}
	}
	// Mongering started at the origin towards a neighbour.
	for i, n := range nodes {
		waitLine(t, n, regexp.MustCompile(`^MONGERING with (`+regexp.QuoteMeta(nodes[(i+1)%3].gossip.String())+
			`|`+regexp.QuoteMeta(nodes[(i+2)%3].gossip.String())+`)$`), waitTimeout)
	}
	// Anti-entropy converges: every node eventually hears a neighbour's full
	// vector and finds itself in sync with someone.
	full := func(s string) bool {
		f := strings.Fields(s)
		if len(f) < 3 || f[0] != "STATUS" {
			return false
		}
		want := map[string]string{"A": "3", "B": "2", "C": "2"}
		got := map[string]string{}
		for i := 3; i+3 < len(f) && f[i] == "peer"; i += 4 {
			got[f[i+1]] = f[i+3]
		}
		return fmt.Sprint(got) == fmt.Sprint(want)
	}
	for _, n := range nodes {
		waitLine(t, n, full, waitTimeout)
		waitLine(t, n, "IN SYNC WITH 127.0.0.1:", waitTimeout)
	}
	checkPeersOrder(t, nodes)
	for _, n := range nodes {
		checkStdoutGrammar(t, n)
	}
}

func TestSimpleRing(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, ring3("-simple"))
	a, b, c := nodes[0], nodes[1], nodes[2]
	simpleLine := func(origin *node, relay *node, text string) *regexp.Regexp {
		return exactLine(fmt.Sprintf("SIMPLE MESSAGE origin %s from %s contents %s", origin.name, relay.gossip, text))
	}
	anySimple := func(text string) *regexp.Regexp {
		return regexp.MustCompile(`^SIMPLE MESSAGE origin \S+ from \S+ contents ` + regexp.QuoteMeta(text) + `$`)
	}

	// A knows only B: the message goes round once and A, its originator,
	// prints it when it comes back from C and stops it there.
	sendClient(t, a, "hello_simple")
	waitLine(t, a, exactLine("CLIENT MESSAGE hello_simple"), waitTimeout)
	waitLine(t, b, simpleLine(a, a, "hello_simple"), waitTimeout)
	waitLine(t, c, simpleLine(a, b, "hello_simple"), waitTimeout)
	waitLine(t, a, simpleLine(a, c, "hello_simple"), waitTimeout)
	// A message that circled again would print again; give it time to.
	time.Sleep(time.Second)
	for _, n := range nodes {
		if got := countLines(t, n, anySimple("hello_simple")); got != 1 {
			t.Errorf("node %s printed hello_simple %d times, want once (the originator must not forward its own message)", n.name, got)
		}
	}
	checkPeersOrder(t, nodes)

	// Now every node knows both others. B's message goes to A and C, each
	// forwards it to the other (not back to the relay), and the copies end
	// at B: every node prints exactly two copies, one from each other node.
	sendClient(t, b, "second_simple")
	for _, n := range nodes {
		for _, relay := range nodes {
			if relay != n {
				waitLine(t, n, simpleLine(b, relay, "second_simple"), waitTimeout)
			}
		}
	}
	time.Sleep(time.Second)
	for _, n := range nodes {
		if got := countLines(t, n, anySimple("second_simple")); got != 2 {
			t.Errorf("node %s printed second_simple %d times, want 2", n.name, got)
		}
	}
	// Simple mode sends no rumors and no statuses of its own.
	for _, n := range nodes {
		for _, bad := range []string{"RUMOR ", "STATUS ", "MONGERING "} {
			if k := countLines(t, n, bad); k != 0 {
				t.Errorf("node %s printed %d %q lines in simple mode", n.name, k, bad)
			}
		}
		checkStdoutGrammar(t, n)
	}
}

// oneLine reports whether s is exactly one non-empty line.
func oneLine(s string) bool {
	return strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1 && strings.TrimSpace(s) != ""
}

func TestClientUsageErrors(t *testing.T) {
	t.Parallel()
	gossip := newRawPeer(t) // stands in for the gossiper's UIPort
	ui := "-UIPort=" + strconv.Itoa(int(gossip.addr.Port()))
	cases := []struct {
		name string
		args []string
	}{
		{"empty message", []string{ui, "-msg="}},
		{"larger than a datagram", []string{ui, "-msg=" + strings.Repeat("x", 70000)}},
		{"one byte too large", []string{ui, "-msg=" + strings.Repeat("x", 65504)}},
		{"bad node", []string{ui, "-node=notanaddr"}},
		{"node without port", []string{ui, "-node=127.0.0.1"}},
		{"no action", []string{ui}},
		{"two actions", []string{ui, "-msg=hi", "-node=127.0.0.1:5000"}},
		{"UIPort out of range", []string{"-UIPort=99999", "-msg=hi"}},
		{"UIPort zero", []string{"-UIPort=0", "-msg=hi"}},
	}
	for _, c := range cases {
		r := runClient(t, c.args...)
		if r.code != 2 || !oneLine(r.stderr) || r.stdout != "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit 2 and one line on stderr", c.name, r.code, r.stderr, r.stdout)
		}
		// The client has exited, so anything it sent is already queued on
		// loopback.
		if d, ok := gossip.recv(t, 100*time.Millisecond); ok {
			t.Errorf("%s: the client still sent a %d-byte datagram", c.name, len(d.raw))
		}
	}

	// Both flag spellings work, and -msg is byte-identical to the common
	// 2018 client datagram.
	want := fixture(t, "client_message_hello_gregunz.hex")
	for _, args := range [][]string{
		{ui, "-msg=hello"},
		{"-UIPort", strconv.Itoa(int(gossip.addr.Port())), "-msg", "hello"},
	} {
		if r := runClient(t, args...); r.code != 0 || r.stderr != "" {
			t.Fatalf("client %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		d, ok := gossip.recv(t, waitTimeout)
		if !ok || !bytes.Equal(d.raw, want) {
			t.Errorf("client %v sent % x, want % x", args, d.raw, want)
		}
	}
	// The largest message that fits is sent whole, in one datagram.
	big := strings.Repeat("y", 65503)
	if r := runClient(t, ui, "-msg="+big); r.code != 0 || r.stderr != "" {
		t.Fatalf("client with a %d-byte message: exit %d, stderr %q", len(big), r.code, r.stderr)
	}
	if d, ok := gossip.recv(t, waitTimeout); !ok || len(d.raw) != messages.MaxDatagram {
		t.Errorf("largest message: got %d bytes (ok %v), want one %d-byte datagram", len(d.raw), ok, messages.MaxDatagram)
	}
}

func TestGossiperBadFlags(t *testing.T) {
	t.Parallel()
	ports := freeUDPPorts(t, 2)
	// Every case also carries valid flags on free ports, so that a value
	// wrongly accepted cannot bind the default ports 5000/8080 of a real
	// node on this machine.
	gossip := "-gossipAddr=127.0.0.1:" + strconv.Itoa(ports[0])
	ui := "-UIPort=" + strconv.Itoa(ports[1])
	cases := []struct {
		name string
		args []string
	}{
		{"gossipAddr nonsense", []string{ui, "-gossipAddr=nonsense"}},
		{"gossipAddr port 0", []string{ui, "-gossipAddr=127.0.0.1:0"}},
		{"UIPort 0", []string{gossip, "-UIPort=0"}},
		{"UIPort too large", []string{gossip, "-UIPort=65536"}},
		{"peer without port", []string{gossip, ui, "-peers=1.2.3.4"}},
		{"one bad peer of two", []string{gossip, ui, "-peers=127.0.0.1:5000,nonsense"}},
		{"negative antiEntropy", []string{gossip, ui, "-antiEntropy=-1"}},
		{"unparsable antiEntropy", []string{gossip, ui, "-antiEntropy=abc"}},
		{"unknown flag", []string{gossip, ui, "-bogus"}},
		{"name with a space", []string{gossip, ui, "-name=a b"}},
		{"whisperAddr without port", []string{gossip, ui, "-whisperAddr=127.0.0.1"}},
		{"whisperAddr unspecified", []string{gossip, ui, "-whisperAddr=0.0.0.0:55555"}},
		{"whisperPeers without whisperAddr", []string{gossip, ui, "-whisperPeers=127.0.0.1:55556"}},
		{"bad whisper peer", []string{gossip, ui, "-whisperAddr=127.0.0.1:55555", "-whisperPeers=nonsense"}},
		{"whisperDiscovery without whisperAddr", []string{gossip, ui, "-whisperDiscovery"}},
		{"p2pAddr port 0", []string{gossip, ui, "-p2pAddr=127.0.0.1:0"}},
		{"p2pConnect without p2pAddr", []string{gossip, ui, "-p2pConnect=127.0.0.1:8080"}},
		{"bad p2pConnect", []string{gossip, ui, "-p2pAddr=127.0.0.1:18080", "-p2pConnect=here"}},
		{"p2pPeriod 0", []string{gossip, ui, "-p2pPeriod=0"}},
		{"p2pKey without p2pCert", []string{gossip, ui, "-p2pAddr=127.0.0.1:18080", "-p2pKey=k.pem"}},
		{"p2pCert file missing", []string{gossip, ui, "-GUIPort=0", "-digitAddr=off", "-p2pAddr=127.0.0.1:" + strconv.Itoa(freeTCPPorts(t, 1)[0]), "-p2pKey=/nonexistent/k.pem", "-p2pCert=/nonexistent/c.pem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectUsageError(t, append([]string{"-name=bad"}, c.args...)...) })
	}
}

func TestProbeFixture(t *testing.T) {
	t.Parallel()
	raw := newRawPeer(t)
	n := startCluster(t, []nodeSpec{{name: "N", args: []string{"-antiEntropy=0"}}})[0]
	raw.send(t, n.gossip, fixture(t, "rumor_Z_1_probe.hex"))
	waitLine(t, n, exactLine(fmt.Sprintf("RUMOR origin Z from %s ID 1 contents probe", raw.addr)), waitTimeout)
	waitLine(t, n, exactLine("PEERS "+raw.addr.String()), waitTimeout)
	ack := raw.await(t, waitTimeout, "acking the probe", func(d datagram) bool {
		return d.from == n.gossip && d.pkt != nil && d.pkt.Status != nil
	})
	// A node that knows only Z's first rumor has exactly one status to say,
	// and 2018 nodes said it with these bytes.
	if want := fixture(t, "status_ack_Z_2.hex"); !bytes.Equal(ack.raw, want) {
		t.Errorf("ack % x (%s), want % x", ack.raw, fmtWant(wantMap(ack.pkt.Status)), want)
	}
	checkStdoutGrammar(t, n)
}

func TestFixtureReplay(t *testing.T) {
	t.Parallel()
	raw := newRawPeer(t)
	n := startCluster(t, []nodeSpec{{name: "N", args: []string{"-antiEntropy=0"}}})[0]
	r := raw.addr.String()
	// The lines 2018 nodes printed for the same datagrams (fixtures README
	// §1): the peer's entry order is kept, an empty status ends with a
	// space, out-of-order rumors are printed, and a simple message's "from"
	// is its RelayPeerAddr, not the UDP source.
	cases := []struct{ file, line string }{
		{"rumor_Z_128_m128.hex", "RUMOR origin Z from " + r + " ID 128 contents m128"},
		{"rumor_E_2_No_clouds_really.hex", "RUMOR origin E from " + r + " ID 2 contents No_clouds_really"},
		{"rumor_B_2_lets_go_skiing.hex", "RUMOR origin B from " + r + " ID 2 contents Let's_go_skiing"},
		{"status_empty.hex", "STATUS from " + r + " "},
		{"status_A3_B2_C2.hex", "STATUS from " + r + " peer A nextID 3 peer B nextID 2 peer C nextID 2"},
		{"status_B2_A3_C2_reordered.hex", "STATUS from " + r + " peer B nextID 2 peer A nextID 3 peer C nextID 2"},
		{"status_E3_B3_G2_ring.hex", "STATUS from " + r + " peer E nextID 3 peer B nextID 3 peer G nextID 2"},
		{"status_ack_Z_131.hex", "STATUS from " + r + " peer Z nextID 131"},
		// The line names the source: the raw peer here, whatever
		// RelayPeerAddr says (nt1m forwards without rewriting it).
		{"simple_A_hello_simple_sent_by_origin.hex", "SIMPLE MESSAGE origin A from " + r + " contents hello_simple"},
		{"simple_A_hello_simple_forwarded_by_5041.hex", "SIMPLE MESSAGE origin A from " + r + " contents hello_simple"},
	}
	for _, c := range cases {
		raw.send(t, n.gossip, fixture(t, c.file))
		waitLine(t, n, exactLine(c.line), waitTimeout)
	}
	// Rumors past a gap are printed but not stored: the ack to a first
	// rumor names its origin only.
	raw.sendPacket(t, n.gossip, rumor("R", 1, "first"))
	st := raw.await(t, waitTimeout, "acking R 1", statusFrom(n.gossip, func(m map[string]uint32) bool { return m["R"] == 2 }))
	if m := wantMap(st.pkt.Status); len(m) != 1 {
		t.Errorf("ack after gap rumors: %s, want only R 2", fmtWant(m))
	}

	// Every 2018 client format reaches the node as the same message.
	for i, f := range []string{
		"client_message_hello_gregunz.hex",
		"client_message_hello_romain.hex",
		"client_message_hello_romain_hw2.hex",
		"client_message_hello_pablo.hex",
	} {
		raw.send(t, loopback(n.uiPort), fixture(t, f))
		waitCount(t, n, exactLine("CLIENT MESSAGE hello"), i+1, waitTimeout)
	}
	if k := countLines(t, n, exactLine("CLIENT MESSAGE ")); k != 0 {
		t.Errorf("%d client datagrams were read as empty messages", k)
	}

	// The 2019 clients too: mvidigueira's sends GossipPacket{Simple}. A
	// node's packet sent to the UIPort is not a message; none of these
	// turn into chat text.
	for _, f := range []string{"students/vquelque_status_after_rumor.hex", "students/ledz96_simple_rumor_status.hex", "students/nt1m_status_empty.hex"} {
		raw.send(t, loopback(n.uiPort), fixture(t, f))
	}
	for i, f := range []string{"students/mvidigueira_client.hex", "students/vquelque_client.hex", "students/dpetresc_client.hex"} {
		raw.send(t, loopback(n.uiPort), fixture(t, f))
		waitCount(t, n, exactLine("CLIENT MESSAGE hello from client"), i+1, waitTimeout)
	}
	if k := countLines(t, n, func(l string) bool { return strings.HasPrefix(l, "CLIENT MESSAGE") }); k != 7 {
		t.Errorf("%d CLIENT MESSAGE lines, want 7", k)
	}

	// And their gossip: an origin numbered from 0, and three fields in one
	// packet, each handled.
	raw.send(t, n.gossip, fixture(t, "students/vquelque_rumor_id0.hex"))
	waitLine(t, n, exactLine("RUMOR origin vquelque from "+r+" ID 0 contents first msg"), waitTimeout)
	raw.await(t, waitTimeout, "acking vquelque 0", statusFrom(n.gossip, func(m map[string]uint32) bool { return m["vquelque"] == 1 }))
	raw.send(t, n.gossip, fixture(t, "students/ledz96_simple_rumor_status.hex"))
	waitLine(t, n, exactLine("SIMPLE MESSAGE origin h5s from "+r+" contents simple part"), waitTimeout)
	waitLine(t, n, exactLine("RUMOR origin h5sr from "+r+" ID 1 contents simple+rumor"), waitTimeout)
	waitLine(t, n, exactLine("STATUS from "+r+" peer h5two nextID 1"), waitTimeout)
	// nt1m forwards its 4,096-byte read buffer: a packet of odd length
	// leaves an odd number of zero bytes after it.
	odd := encode(t, &messages.GossipPacket{Simple: &messages.SimpleMessage{OriginalName: "E", RelayPeerAddr: "127.0.0.1:5004", Contents: "Weather_is_clear"}})
	raw.send(t, n.gossip, append(odd, make([]byte, 4096-len(odd))...))
	waitLine(t, n, exactLine("SIMPLE MESSAGE origin E from "+r+" contents Weather_is_clear"), waitTimeout)
	checkStdoutGrammar(t, n)
}

func TestStatus300Origins(t *testing.T) {
	t.Parallel()
	raw := newRawPeer(t)
	n := startCluster(t, []nodeSpec{{name: "N", args: []string{"-antiEntropy=0"}}})[0]
	const origins = 300
	var last datagram
	for i := 0; i < origins; i++ {
		o := fmt.Sprintf("origin%03d", i)
		pkt := encode(t, rumor(o, 1, "m"+o))
		// Wait for each ack before the next rumor, resending if either was
		// lost, so that the test does not depend on socket buffer sizes.
		deadline := time.Now().Add(waitTimeout)
		for {
			raw.send(t, n.gossip, pkt)
			d, ok := awaitUntil(t, raw, 2*time.Second, statusFrom(n.gossip, func(m map[string]uint32) bool { return m[o] == 2 }))
			if ok {
				last = d
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rumor %s was never acked", o)
			}
		}
	}
	// The ack of the last rumor carries the whole vector.
	want := wantMap(last.pkt.Status)
	if len(last.pkt.Status.Want) != origins || len(want) != origins {
		t.Fatalf("status has %d entries (%d distinct), want %d", len(last.pkt.Status.Want), len(want), origins)
	}
	for o, next := range want {
		if next != 2 || !strings.HasPrefix(o, "origin") {
			t.Errorf("entry %s nextID %d, want origin* nextID 2", o, next)
		}
	}
	if len(last.raw) <= 1400 {
		t.Errorf("status of %d origins is %d bytes; expected more than 1,400", origins, len(last.raw))
	}
	t.Logf("status of %d origins: %d bytes in one datagram", origins, len(last.raw))
	checkStdoutGrammar(t, n)
}

// awaitUntil is await without failing: ok=false when nothing matched in
// time.
func awaitUntil(t testing.TB, p *rawPeer, timeout time.Duration, match func(datagram) bool) (datagram, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return datagram{}, false
		}
		d, ok := p.recv(t, left)
		if ok && match(d) {
			return d, true
		}
	}
}

// TestRingScripts runs the course's topology and checks through our honest
// test_1_ring.sh and test_2_ring.sh, on free ports instead of the course's
// fixed ones so that it can run anywhere. The FLIPPED COIN check of test_2
// depends on coin flips: measured on an idle machine, 2 of 48 first
// attempts missed one of the 20 flips it wants, and the rate rises when the
// rest of the suite loads both cores (once both of two attempts missed). A
// run where only that check failed is therefore tried up to three times,
// and every retry is logged; any other failure fails at once.
func TestRingScripts(t *testing.T) {
	const attempts = 3
	for _, script := range []string{"test_2_ring.sh", "test_1_ring.sh"} {
		t.Run(script, func(t *testing.T) {
			out, err := runRingScript(t, script)
			for try := 2; err != nil && try <= attempts && script == "test_2_ring.sh" && onlyFlippedCoinFailed(out); try++ {
				t.Logf("only the random FLIPPED COIN check failed; attempt %d of %d:\n%s", try, attempts, out)
				out, err = runRingScript(t, script)
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			t.Logf("%s passed:\n%s", script, out)
		})
	}
}

func runRingScript(t *testing.T, script string) (string, error) {
	base := freePortRun(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, script))
	cmd.Dir = repoRoot
	// OTHER_BIN, when exported for an interop run, must not leak in here.
	cmd.Env = append(os.Environ(), "PEERSTER_NO_BUILD=1", "OTHER_BIN=", "OTHER_CLIENT_BIN=",
		"PEERSTER_BIN="+gossiperBin, "CLIENT_BIN="+clientBin,
		fmt.Sprintf("GOSSIP_BASE=%d", base), fmt.Sprintf("UI_BASE=%d", base+ringSize),
		// Ten nodes bind in well under a second on an idle machine; the
		// rest of the suite on both cores has made it take over 10 s.
		"WAIT_TIMEOUT=30")
	// The script stops its own nodes on SIGTERM; SIGKILL would leave them
	// running.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const ringSize = 10

// freePortRun finds 2×ringSize consecutive UDP ports that are free now: the
// scripts number their ports from a base, as the course's do.
func freePortRun(t *testing.T) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		base := 20000 + rand.IntN(10000)
		var held []*net.UDPConn
		for p := base; p < base+2*ringSize; p++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == 2*ringSize {
			return base
		}
	}
	t.Fatal("no run of free UDP ports found")
	return 0
}

func onlyFlippedCoinFailed(out string) bool {
	return strings.Contains(out, "1 of ") && strings.Contains(out, "checks failed:\n  flipped coin")
}

// -h introduces the daemon: synopsis, every flag under its protocol, two
// examples; -version names the build. Both exit 0 with stdout untouched,
// which is for protocol lines only.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	prog := filepath.Base(gossiperBin)
	code, stdout, stderr, _ := runToExit(t, "-h")
	if code != 0 || stdout != "" {
		t.Fatalf("-h: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		prog + ": a multi-protocol peer-to-peer chat node", "Usage: " + prog + " [flags]",
		"Peerster (UDP", "Digit gossip", "Whispernet", "p2p-gossip", "The node:", "Examples:",
		"  -gossipAddr string", "  -p2pConnect string", "  -version",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-h lacks %q:\n%s", want, stderr)
		}
	}
	// Every flag appears once: the groups cover them all.
	for _, f := range []string{"UIPort", "gossipAddr", "name", "peers", "simple", "antiEntropy", "digitAddr", "digit",
		"whisperAddr", "whisperPeers", "whisperDiscovery", "p2pAddr", "p2pConnect", "p2pPeriod", "p2pKey", "p2pCert",
		"GUIPort", "console", "trace", "bridge", "dataDir", "logLevel", "version"} {
		if n := strings.Count(stderr, "\n  -"+f+" ") + strings.Count(stderr, "\n  -"+f+"\n"); n != 1 {
			t.Errorf("-%s listed %d times in -h", f, n)
		}
	}
	code, stdout, stderr, _ = runToExit(t, "-version")
	if code != 0 || stdout != "" || !oneLine(stderr) || !strings.HasPrefix(stderr, prog+" ") || !strings.Contains(stderr, "go1.") {
		t.Fatalf("-version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
