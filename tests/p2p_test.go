package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/p2p"
	"github.com/peerster-chat/Peerster/messages"
)

// p2pLine matches the stdout line of gossip from a mesh peer.
func p2pLine(identity, from, text string) *regexp.Regexp {
	return exactLine("P2P origin " + identity + " from " + from + " contents " + text)
}

// aliveLinks counts the p2p peers n shows as alive.
func aliveLinks(t testing.TB, n *chatNode) int {
	c := 0
	for _, l := range n.links(t) {
		if l.Protocol == "p2p" && l.Alive {
			c++
		}
	}
	return c
}

// writeKeyPair writes a PEM EC key and a self-signed certificate for a
// stable identity across restarts.
func writeKeyPair(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test node"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestP2PMeshThroughOneEntryNode: three daemons join through the first,
// learn each other from peer lists, and gossip every way. The third has a
// stable identity and a data directory: killed, it is marked dead; started
// again, it is the same peer and the mesh takes it back.
func TestP2PMeshThroughOneEntryNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeKeyPair(t, dir)
	nodes := startChatNodes(t, []chatSpec{
		{name: "E", p2p: true},
		{name: "F", p2p: true, p2pConnect: []int{0}},
		{name: "G", p2p: true, p2pConnect: []int{0}, args: []string{"-p2pCert=" + cert, "-p2pKey=" + key, "-dataDir=" + dir}},
	})
	e, f, g := nodes[0], nodes[1], nodes[2]
	for _, n := range nodes {
		waitFor(t, n.name+" sees two live peers", convergeTimeout, func() bool { return aliveLinks(t, n) == 2 })
	}
	ids := map[*chatNode]string{}
	for _, n := range nodes {
		ids[n] = n.identity(t)
	}
	if ids[g] != strconv.FormatUint(identityOfPEM(t, cert), 10) {
		t.Errorf("G's identity %s is not SipHash-1-3 of its certificate", ids[g])
	}
	for _, from := range nodes {
		text := "mesh_hello_from_" + from.name
		sendClient(t, from.node, text)
		for _, to := range nodes {
			if to != from {
				waitLine(t, to.node, p2pLine(ids[from], from.p2pAddr, text), waitTimeout)
			}
		}
	}

	countHellos := func(n *chatNode) int {
		return countLines(t, n.node, regexp.MustCompile(`^P2P .* contents mesh_hello_from_`))
	}
	time.Sleep(300 * time.Millisecond) // room for duplicates to show
	for _, n := range nodes {
		if c := countHellos(n); c != 2 {
			t.Errorf("%s printed %d mesh hellos, want 2 (one from each other node)", n.name, c)
		}
	}

	discard(g.node) // killed without a chance to say goodbye
	for _, n := range []*chatNode{e, f} {
		waitFor(t, n.name+" marks G dead", waitTimeout, func() bool { return aliveLinks(t, n) == 1 })
	}
	g.restart(t)
	if id := g.identity(t); id != ids[g] {
		t.Fatalf("G came back as %s, was %s", id, ids[g])
	}
	for _, n := range nodes {
		waitFor(t, n.name+" sees two live peers again", convergeTimeout, func() bool { return aliveLinks(t, n) == 2 })
	}
	sendClient(t, g.node, "back_again")
	waitLine(t, e.node, p2pLine(ids[g], g.p2pAddr, "back_again"), waitTimeout)
	waitLine(t, f.node, p2pLine(ids[g], g.p2pAddr, "back_again"), waitTimeout)
	// The mesh peers are in the node's one database, not a file of their own.
	if _, err := os.Stat(filepath.Join(dir, "peerster.db")); err != nil {
		t.Errorf("G kept no state in its data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p2p-peers.json")); !os.IsNotExist(err) {
		t.Errorf("G wrote p2p-peers.json beside its database: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, n := range nodes {
		checkStdoutGrammar(t, n.node)
	}
	for _, n := range []*chatNode{e, f} {
		if c := countHellos(n); c != 2 {
			t.Errorf("%s printed %d mesh hellos after G came back, want still 2", n.name, c)
		}
	}
}

func identityOfPEM(t testing.TB, certFile string) uint64 {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	return p2p.IdentityOf(blk.Bytes)
}

// probe is a p2p-gossip peer written for the test: it speaks the protocol
// up to TLS with a certificate of its own choosing.
type probe struct {
	raw  net.Conn
	tls  *tls.Conn
	pair messages.P2PMessage // the node's
}

// dialProbe connects to addr, exchanges Pairs announcing identity, waits as
// a real dialler must, and runs the TLS handshake with cert.
func dialProbe(t testing.TB, addr string, identity uint64, listenPort uint16, cert tls.Certificate) (*probe, error) {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pair, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PPair, Identity: identity, ListenPort: listenPort})
	if _, err := c.Write(pair); err != nil {
		return nil, err
	}
	buf := make([]byte, messages.P2PPairLen)
	c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	theirs, _, err := messages.DecodeP2P(buf)
	if err != nil {
		return nil, err
	}
	time.Sleep(100 * time.Millisecond)
	tc := tls.Client(c, &tls.Config{ServerName: "example.com", InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	// TLS 1.3 reports a refused client certificate only on the first read.
	tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var one [1]byte
	if _, err := tc.Read(one[:]); err != nil {
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			return nil, err
		}
	}
	return &probe{raw: c, tls: tc, pair: theirs}, nil
}

func newCert(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := p2p.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestP2PRefusesImpostorsAndGarbage: a known identity with another
// certificate is refused; garbage before the Pair and after the handshake
// closes only that connection; the node goes on gossiping with its peers.
func TestP2PRefusesImpostorsAndGarbage(t *testing.T) {
	t.Parallel()
	nodes := startChatNodes(t, []chatSpec{
		{name: "H", p2p: true},
		{name: "I", p2p: true, p2pConnect: []int{0}},
	})
	h, i := nodes[0], nodes[1]
	waitFor(t, "H and I connected", convergeTimeout, func() bool { return aliveLinks(t, h) == 1 && aliveLinks(t, i) == 1 })
	idI, err := strconv.ParseUint(i.identity(t), 10, 64)
	if err != nil {
		t.Fatal(err)
	}

	// An honest newcomer gets through, which shows the probe is right.
	honestCert := newCert(t)
	honestID := p2p.IdentityOf(honestCert.Certificate[0])
	honest, err := dialProbe(t, h.p2pAddr, honestID, 9, honestCert)
	if err != nil {
		t.Fatalf("an honest probe was refused: %v", err)
	}
	if strconv.FormatUint(honest.pair.Identity, 10) != h.identity(t) {
		t.Errorf("H's Pair says %d, /id says %s", honest.pair.Identity, h.identity(t))
	}

	// I's identity, another certificate.
	if _, err := dialProbe(t, h.p2pAddr, idI, uint16(tcpPort(i.p2pAddr)), newCert(t)); err == nil {
		t.Error("an impostor of I with another certificate was accepted")
	}
	// A new identity whose certificate does not hash to it.
	if _, err := dialProbe(t, h.p2pAddr, 12345, 9, newCert(t)); err == nil {
		t.Error("a certificate that does not hash to the announced identity was accepted")
	}
	// Garbage instead of a Pair: the real program answers its Pair and an
	// Error, then closes.
	g, err := net.Dial("tcp4", h.p2pAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	g.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadAll(g); err != nil {
		t.Errorf("garbage before the Pair: connection not closed: %v", err)
	}
	// Garbage after the handshake.
	honest.tls.SetWriteDeadline(time.Now().Add(waitTimeout))
	honest.tls.Write([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8})
	honest.tls.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.Copy(io.Discard, honest.tls); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Error("garbage after the handshake: connection not closed")
		}
	}

	sendClient(t, i.node, "still_meshed")
	waitLine(t, h.node, p2pLine(i.identity(t), i.p2pAddr, "still_meshed"), waitTimeout)
	if aliveLinks(t, h) != 1 || aliveLinks(t, i) != 1 {
		t.Errorf("H and I lost each other: %+v / %+v", h.links(t), i.links(t))
	}
	for _, n := range nodes {
		checkStdoutGrammar(t, n.node)
	}
}
