package tests

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the hostile-peer suite: a line of three real daemons, and the
// checks every attack ends with, so that each attack is judged by what a
// user of the network would notice afterwards.

// The bounds of the checks after an attack are loose on purpose: the
// machine may have two cores and other tests running. What they catch is a
// node left spinning or holding what an attacker made it allocate.
const (
	idleCPUPercent = 50
	rssSlackKB     = 64 << 10
	idleTimeout    = 30 * time.Second
)

// attackLine is A – B – C, each told only its predecessor, so that a
// message from one end must cross B, and B and C learn a neighbour from its
// packets. stored holds every chat text the test made the line carry; all
// three nodes must keep them through any attack.
type attackLine struct {
	a, b, c *chatNode
	stored  []string
	probes  int
	// wait bounds each delivery and check; an attack that leaves
	// delivery legitimately slow raises it.
	wait time.Duration
}

// startAttackLine starts the line and sends a message each way, so that
// every node knows its neighbours and holds messages before the attack. B,
// the node attacked, gets extra flags, a p2p-gossip node if p2pB, and the
// digit gossip on a TCP port of its own with digit digitB unless it is -1.
func startAttackLine(t testing.TB, argsB []string, p2pB bool, digitB int) *attackLine {
	t.Helper()
	nodes := startWithRetries(t, "start the line",
		func() ([]*chatNode, bool, error) {
			b := argsB
			digitPort := 0
			if digitB >= 0 {
				digitPort = freeTCPPorts(t, 1)[0]
				b = append(slices.Clone(argsB), "-digitAddr=127.0.0.1:"+strconv.Itoa(digitPort), "-digit="+strconv.Itoa(digitB))
			}
			nodes, retry, err := tryStartChatNodes(t, []chatSpec{
				{name: "A"},
				{name: "B", gossipPeers: []int{0}, p2p: p2pB, args: b},
				{name: "C", gossipPeers: []int{1}},
			})
			if err == nil && digitPort != 0 {
				n := nodes[1]
				if err = n.waitReady("listen on its digit port", func() bool { return tcpListenOwned(n.pid(), digitPort) }); err != nil {
					retry = strings.Contains(n.errLog.String(), "address already in use")
				}
			}
			return nodes, retry, err
		},
		func(n *chatNode) { discard(n.node) })
	l := &attackLine{a: nodes[0], b: nodes[1], c: nodes[2], wait: waitTimeout}
	l.deliver(t, l.c, l.a, "before_from_C")
	l.deliver(t, l.a, l.c, "before_from_A")
	return l
}

func (l *attackLine) nodes() []*chatNode { return []*chatNode{l.a, l.b, l.c} }

// deliver has from's client send text and waits until to prints the rumor.
func (l *attackLine) deliver(t testing.TB, from, to *chatNode, text string) {
	t.Helper()
	sendClient(t, from.node, text)
	waitLine(t, to.node, rumorText(from.name, text), l.wait)
	l.stored = append(l.stored, text)
}

// rumorText matches the RUMOR line of a message of origin with text,
// whoever relayed it and whatever its ID.
func rumorText(origin, text string) *regexp.Regexp {
	return regexp.MustCompile(`^RUMOR origin ` + regexp.QuoteMeta(origin) + ` from \S+ ID \d+ contents ` + regexp.QuoteMeta(text) + `$`)
}

// chatRecord is one entry of GET /message, with the fields the attacks
// look at.
type chatRecord struct {
	Protocol string `json:"protocol"`
	Origin   string `json:"origin"`
	ID       uint32 `json:"id"`
	Text     string `json:"text"`
	From     string `json:"from"`
	Suspect  bool   `json:"suspect"`
}

func chatOf(t testing.TB, n *chatNode) []chatRecord {
	t.Helper()
	var out []chatRecord
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/message", n.guiPort), &out)
	return out
}

func peersOf(t testing.TB, n *chatNode) []string {
	t.Helper()
	var out []string
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/node", n.guiPort), &out)
	return out
}

// hasText reports whether the chat holds a Peerster message with text.
func hasText(chat []chatRecord, text string) bool {
	return slices.ContainsFunc(chat, func(r chatRecord) bool { return r.Protocol == "peerster" && r.Text == text })
}

// waitChat polls n's GET /message until it holds every text.
func waitChat(t testing.TB, n *chatNode, timeout time.Duration, texts ...string) {
	t.Helper()
	var missing []string
	deadline := time.Now().Add(timeout)
	for {
		chat := chatOf(t, n)
		missing = missing[:0]
		for _, s := range texts {
			if !hasText(chat, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: GET /message lacks %q after %v", n.name, missing, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkRecovered is what every attack ends with: the attacked node is
// alive, back to idle and near its memory baseline, every node still holds
// every stored message and never failed to send its status, and a probe
// typed at each end of the line reaches the other end.
func (l *attackLine) checkRecovered(t *testing.T, target *chatNode, baseRSS int) {
	t.Helper()
	checkAlive(t, target.node)
	waitIdle(t, target.node)
	waitRSS(t, target.node, baseRSS)
	for _, n := range l.nodes() {
		waitChat(t, n, l.wait, l.stored...)
	}
	l.probes++
	l.deliver(t, l.c, l.a, fmt.Sprintf("probe_%d_from_C", l.probes))
	l.deliver(t, l.a, l.c, fmt.Sprintf("probe_%d_from_A", l.probes))
	for _, n := range l.nodes() {
		noStatusNotSent(t, n.node)
	}
}

// checkAlive insists the process still exists, as kill -0 would, not only
// that the test has not yet seen it exit.
func checkAlive(t testing.TB, n *node) {
	t.Helper()
	if !n.alive() || syscall.Kill(n.pid(), 0) != nil {
		t.Fatalf("node %s died: %v\nstderr tail:\n%s", n.name, n.waitErr, n.errLog.tail(20))
	}
}

// waitIdle polls the node's CPU use until it is under idleCPUPercent of one
// core: an attack may leave work that takes a while (queued rumors, acks
// timing out), but it must end.
func waitIdle(t testing.TB, n *node) {
	t.Helper()
	deadline := time.Now().Add(idleTimeout)
	for {
		p := cpuPercent(t, n.pid(), 1500*time.Millisecond)
		if p < idleCPUPercent {
			t.Logf("node %s back to idle: %.0f%% of a core", n.name, p)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("node %s still at %.0f%% of a core %v after the attack", n.name, p, idleTimeout)
			return
		}
	}
}

// waitRSS polls until the node's resident set is back under its baseline
// plus rssSlackKB; the Go runtime returns freed memory to the system
// lazily, hence the polling.
func waitRSS(t testing.TB, n *node, baseKB int) {
	t.Helper()
	deadline := time.Now().Add(idleTimeout)
	for {
		kb := rssKB(t, n.pid())
		if kb < baseKB+rssSlackKB {
			t.Logf("node %s RSS %d kB, baseline %d kB", n.name, kb, baseKB)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("node %s RSS %d kB %v after the attack, baseline %d kB", n.name, kb, idleTimeout, baseKB)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noStatusNotSent fails the test if the node ever could not send its
// status: from then on it can neither ack nor run anti-entropy.
func noStatusNotSent(t testing.TB, n *node) {
	t.Helper()
	for _, ln := range n.errLog.all() {
		if strings.Contains(ln.text, "status not sent") {
			t.Errorf("node %s: %.300s", n.name, ln.text)
			return
		}
	}
}

// secondLoopback is a source address other than 127.0.0.1, so that the
// node can tell an honest peer from the host flooding it.
var secondLoopback = net.IPv4(127, 0, 0, 2)

func dialFrom(ip net.IP, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: waitTimeout}
	return d.Dial("tcp4", addr)
}

// httpFrom is an HTTP client whose connections come from ip.
func httpFrom(ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: waitTimeout}
	return &http.Client{Timeout: waitTimeout, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// sink is a TCP listener that accepts and then never reads, the way a
// stalled or hostile peer holds a connection.
type sink struct {
	ln    net.Listener
	conns chan net.Conn
}

func newSink(t testing.TB, ip net.IP) *sink {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, conns: make(chan net.Conn, 1024)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-s.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return s
}

func (s *sink) addr() string { return s.ln.Addr().String() }

// next waits for the next connection accepted.
func (s *sink) next(t testing.TB) net.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("nobody connected to %s within %v", s.addr(), waitTimeout)
		return nil
	}
}
