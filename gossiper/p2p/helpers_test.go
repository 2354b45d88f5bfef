package p2p

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "messages", "testdata", "p2pgossip", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fast is a configuration for tests: short periods, but a DeadAfter long
// enough that a loaded machine does not kill live peers.
func fast() Config {
	return Config{
		Period:      200 * time.Millisecond,
		Heartbeat:   100 * time.Millisecond,
		DeadAfter:   time.Second,
		DialPause:   10 * time.Millisecond,
		WriteGap:    2 * time.Millisecond,
		Timeout:     5 * time.Second,
		BackoffBase: 50 * time.Millisecond,
		BackoffMax:  400 * time.Millisecond,
	}
}

type testNode struct {
	t    testing.TB
	p    *P2P
	host *gossipertest.Host
	hook *logtest.Hook
	addr string // ip:port we listen on
	stop func()
}

// start runs a node listening on addr ("" for an ephemeral port) until
// stop or the end of the test.
func start(t testing.TB, cfg Config, addr string) *testNode {
	t.Helper()
	if addr == "" {
		return startOn(t, cfg, listen(t))
	}
	var ln net.Listener
	var err error
	// A port just freed by a stopped node can take a moment to be free.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp4", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, cfg, ln)
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func startOn(t testing.TB, cfg Config, ln net.Listener) *testNode {
	t.Helper()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	cfg.Log = log
	host := gossipertest.NewHost(ProtocolName)
	p, err := New(cfg, ln, host)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	n := &testNode{t: t, p: p, host: host, hook: hook, addr: ln.Addr().String()}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("node %s did not stop", n.addr)
			}
		})
	}
	t.Cleanup(n.stop)
	return n
}

// connOf is the connection the node uses for peer id, or nil.
func (p *P2P) connOf(id uint64) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr := p.peers[id]; pr != nil {
		return pr.conn
	}
	return nil
}

func (n *testNode) id() string { return fmt.Sprint(n.p.Identity()) }

// aliveSet is the identities of the live peers.
func (n *testNode) aliveSet() []uint64 {
	var out []uint64
	for _, mp := range n.p.MeshPeers() {
		if mp.Alive {
			out = append(out, mp.Identity)
		}
	}
	return out
}

func (n *testNode) sees(others ...*testNode) bool {
	alive := n.aliveSet()
	for _, o := range others {
		if !slices.Contains(alive, o.p.Identity()) {
			return false
		}
	}
	return true
}

// logged counts the entries at level or above whose message or error
// contains s.
func (n *testNode) logged(level logrus.Level, s string) int {
	c := 0
	for _, e := range n.hook.AllEntries() {
		err, _ := e.Data[logrus.ErrorKey].(error)
		if e.Level <= level && (strings.Contains(e.Message, s) || err != nil && strings.Contains(err.Error(), s)) {
			c++
		}
	}
	return c
}

func (n *testNode) say(text string) {
	n.t.Helper()
	if err := n.p.Say(text); err != nil {
		n.t.Fatal(err)
	}
}

// gossipLine is what to sees when from says text.
func gossipLine(from *testNode, text string) string {
	return "P2P origin " + from.id() + " from " + from.addr + " contents " + text
}

// waitFor polls cond for up to 10 s: generous for a loaded machine, and
// never an assertion about how fast things are.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newCert(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawPeer is a hand-driven peer for the adversarial cases.
type rawPeer struct {
	t    testing.TB
	nc   net.Conn
	tls  *tls.Conn
	pair messages.P2PMessage // the node's
}

// dialRaw connects to addr and exchanges Pairs announcing id and port.
func dialRaw(t *testing.T, addr string, id uint64, port uint16) *rawPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PPair, Identity: id, ListenPort: port})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	var theirs [messages.P2PPairLen]byte
	if _, err := io.ReadFull(nc, theirs[:]); err != nil {
		t.Fatal(err)
	}
	m, _, err := messages.DecodeP2P(theirs[:])
	if err != nil || m.Kind != messages.P2PPair {
		t.Fatalf("node's pair %x: %+v, %v", theirs, m, err)
	}
	return &rawPeer{t: t, nc: nc, pair: m}
}

// startTLS runs the client side of TLS with cert, as the real dialler does.
func (r *rawPeer) startTLS(cert tls.Certificate, maxVersion uint16) error {
	time.Sleep(10 * time.Millisecond)
	r.tls = tls.Client(r.nc, &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true,
		ServerName:         serverName,
		MaxVersion:         maxVersion,
	})
	if err := r.tls.Handshake(); err != nil {
		return err
	}
	// In TLS 1.3 the server judges our certificate after our side is
	// done; its verdict shows on the first read.
	return nil
}

func (r *rawPeer) send(m messages.P2PMessage) {
	r.t.Helper()
	b, err := messages.EncodeP2P(m)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.tls.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// readUntilClosed reads messages until the node closes the connection and
// returns them with the error that ended the reading.
func (r *rawPeer) readUntilClosed() ([]messages.P2PMessage, error) {
	dec := messages.NewP2PDecoder(r.tls)
	var got []messages.P2PMessage
	for {
		m, err := dec.Decode()
		if err != nil {
			return got, err
		}
		got = append(got, m)
	}
}
