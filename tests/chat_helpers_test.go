package tests

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the whispernet and p2p-gossip tests: daemons with a whisper
// address, a GUI port and optionally a p2p-gossip node, and a stand-in for
// the real pdxgo program.

// chatNode is a gossiper whose whispernet listens on whisperAddr and, when
// its spec asked, whose p2p-gossip node listens on p2pAddr.
type chatNode struct {
	*node
	whisperAddr string
	guiPort     int
	p2pAddr     string
	args        []string // the whole command line, to restart it
}

// chatSpec describes one daemon: its whisper, Peerster and p2p-gossip
// peers by index, and extra flags after the ports.
type chatSpec struct {
	name         string
	whisperPeers []int
	gossipPeers  []int
	p2p          bool
	p2pConnect   []int
	args         []string
}

func startChatNodes(t testing.TB, specs []chatSpec) []*chatNode {
	t.Helper()
	return startWithRetries(t, "start whisper nodes",
		func() ([]*chatNode, bool, error) { return tryStartChatNodes(t, specs) },
		func(n *chatNode) { discard(n.node) })
}

func tryStartChatNodes(t testing.TB, specs []chatSpec) (nodes []*chatNode, retry bool, err error) {
	udp := freeUDPPorts(t, 2*len(specs))
	tcp := freeTCPPorts(t, 3*len(specs))
	for i, s := range specs {
		n := &chatNode{
			node: &node{
				name: s.name, gossip: loopback(udp[2*i]), uiPort: udp[2*i+1],
				out: &lineLog{}, errLog: &lineLog{}, exited: make(chan struct{}),
			},
			whisperAddr: "127.0.0.1:" + strconv.Itoa(tcp[3*i]),
			guiPort:     tcp[3*i+1],
		}
		if s.p2p {
			n.p2pAddr = "127.0.0.1:" + strconv.Itoa(tcp[3*i+2])
		}
		nodes = append(nodes, n)
	}
	for i, s := range specs {
		n := nodes[i]
		args := []string{
			"-UIPort=" + strconv.Itoa(n.uiPort), "-gossipAddr=" + n.gossip.String(), "-name=" + s.name,
			"-digitAddr=off", "-GUIPort=" + strconv.Itoa(n.guiPort), "-whisperAddr=" + n.whisperAddr,
		}
		var wp, gp []string
		for _, p := range s.whisperPeers {
			wp = append(wp, nodes[p].whisperAddr)
		}
		for _, p := range s.gossipPeers {
			gp = append(gp, nodes[p].gossip.String())
		}
		if wp != nil {
			args = append(args, "-whisperPeers="+strings.Join(wp, ","))
		}
		if gp != nil {
			args = append(args, "-peers="+strings.Join(gp, ","))
		}
		if n.p2pAddr != "" {
			args = append(args, "-p2pAddr="+n.p2pAddr)
			var join []string
			for _, p := range s.p2pConnect {
				join = append(join, nodes[p].p2pAddr)
			}
			if join != nil {
				args = append(args, "-p2pConnect="+strings.Join(join, ","))
			}
		}
		n.args = append(args, s.args...)
		if err := n.start(t, n.args); err != nil {
			return nodes[:i], false, err
		}
	}
	for _, n := range nodes {
		if err := n.waitListening(); err != nil {
			return nodes, strings.Contains(n.errLog.String(), "address already in use"), err
		}
	}
	return nodes, false, nil
}

// waitListening waits until the daemon holds all its UDP and TCP ports.
func (n *chatNode) waitListening() error {
	err := n.waitBound()
	if err == nil {
		err = n.waitReady("listen on its TCP ports", func() bool {
			return tcpListenOwned(n.pid(), tcpPort(n.whisperAddr)) && tcpListenOwned(n.pid(), n.guiPort) &&
				(n.p2pAddr == "" || tcpListenOwned(n.pid(), tcpPort(n.p2pAddr)))
		})
	}
	return err
}

// restart starts a daemon again with the same command line, once it has
// been killed (discard).
func (n *chatNode) restart(t testing.TB) {
	t.Helper()
	<-n.exited
	n.out, n.errLog, n.exited, n.stopOnce = &lineLog{}, &lineLog{}, make(chan struct{}), sync.Once{}
	if err := n.start(t, n.args); err != nil {
		t.Fatal(err)
	}
	if err := n.waitListening(); err != nil {
		t.Fatal(err)
	}
}

func (n *chatNode) links(t testing.TB) []linkEntry {
	t.Helper()
	var out []linkEntry
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/links", n.guiPort), &out)
	return out
}

type linkEntry struct {
	Protocol, Peer, Addr string
	Alive                bool
}

func (n *chatNode) identity(t testing.TB) string {
	t.Helper()
	var id struct{ P2PIdentity string }
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/id", n.guiPort), &id)
	return id.P2PIdentity
}

func tcpPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (n *chatNode) chat(t testing.TB) []chatEntry {
	t.Helper()
	var out []chatEntry
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/message", n.guiPort), &out)
	return out
}

type chatEntry struct {
	Protocol, Origin, Text, From string
}

func countChat(entries []chatEntry, protocol, text string) int {
	n := 0
	for _, e := range entries {
		if e.Protocol == protocol && e.Text == text {
			n++
		}
	}
	return n
}

// pdxgoMessage is pdxgo's Message struct, struct tag slip included: the
// nick travels under "omitempty".
type pdxgoMessage struct {
	ID        string
	Addr      string
	Body      string
	Nick      string `json:"omitempty"`
	Timestamp int64
}

// fakePdxgo behaves as the real program does on the wire: it dials a peer
// after its first message from that Addr, writes newline-terminated
// objects, relays every new message to all its peers, the sender included,
// and "crashes" (records it) on an empty Body.
type fakePdxgo struct {
	t    testing.TB
	nick string
	ln   net.Listener
	wg   sync.WaitGroup

	mu      sync.Mutex
	seen    map[string]bool
	got     []pdxgoMessage
	out     map[string]net.Conn
	conns   []net.Conn
	crashed bool
}

func startFakePdxgo(t testing.TB, nick string) *fakePdxgo {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePdxgo{t: t, nick: nick, ln: ln, seen: map[string]bool{}, out: map[string]net.Conn{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go p.read(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		for _, c := range p.out {
			if c != nil {
				c.Close()
			}
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *fakePdxgo) addr() string { return p.ln.Addr().String() }

func (p *fakePdxgo) read(c net.Conn) {
	defer p.wg.Done()
	dec := json.NewDecoder(c)
	for {
		var m pdxgoMessage
		if err := dec.Decode(&m); err != nil {
			return
		}
		p.mu.Lock()
		if m.Body == "" {
			p.crashed = true
		}
		if !p.seen[m.ID] {
			p.seen[m.ID] = true
			p.got = append(p.got, m)
			p.broadcastLocked(m)
			if _, ok := p.out[m.Addr]; !ok && m.Addr != p.addr() {
				p.dialLocked(m.Addr)
			}
		}
		p.mu.Unlock()
	}
}

func (p *fakePdxgo) dialLocked(addr string) {
	// A failed dial is not retried (nil stays in the map), like pdxgo.
	c, _ := net.DialTimeout("tcp4", addr, 5*time.Second)
	p.out[addr] = c
}

func (p *fakePdxgo) broadcastLocked(m pdxgoMessage) {
	b, _ := json.Marshal(m)
	for _, c := range p.out {
		if c != nil {
			c.Write(append(b, '\n'))
		}
	}
}

// connect is pdxgo's -peer.
func (p *fakePdxgo) connect(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dialLocked(addr)
}

// say sends a typed line, as pdxgo does: a random 16-hex-digit ID.
func (p *fakePdxgo) say(body string) pdxgoMessage {
	var id [8]byte
	rand.Read(id[:])
	m := pdxgoMessage{ID: hex.EncodeToString(id[:]), Addr: p.addr(), Body: body, Nick: p.nick, Timestamp: time.Now().Unix()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[m.ID] = true
	p.broadcastLocked(m)
	return m
}

func (p *fakePdxgo) received(body string) []pdxgoMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pdxgoMessage
	for _, m := range p.got {
		if m.Body == body {
			out = append(out, m)
		}
	}
	return out
}

func (p *fakePdxgo) hasCrashed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crashed
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
