package tests

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// rawPeer is a bare UDP socket that plays a Peerster peer by hand, so a
// test controls every byte a node receives and sees every byte it sends.
type rawPeer struct {
	conn *net.UDPConn
	addr netip.AddrPort
	buf  []byte
}

func newRawPeer(t testing.TB) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("raw peer: %v", err)
	}
	// A node answers every packet of a burst; a small buffer would drop
	// the one answer the test waits for.
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return &rawPeer{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), buf: make([]byte, 64<<10)}
}

func (p *rawPeer) send(t testing.TB, to netip.AddrPort, b []byte) {
	t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatalf("send %d bytes to %s: %v", len(b), to, err)
	}
}

func (p *rawPeer) sendPacket(t testing.TB, to netip.AddrPort, pkt *messages.GossipPacket) {
	t.Helper()
	p.send(t, to, encode(t, pkt))
}

// datagram is one datagram a node sent to a raw peer, decoded if it could
// be.
type datagram struct {
	from netip.AddrPort
	raw  []byte
	pkt  *messages.GossipPacket // nil if it did not decode
	err  error
}

// recv returns the next datagram, or ok=false when the timeout passes.
func (p *rawPeer) recv(t testing.TB, timeout time.Duration) (datagram, bool) {
	t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	n, from, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return datagram{}, false
		}
		t.Fatalf("raw peer read: %v", err)
	}
	d := datagram{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), raw: append([]byte(nil), p.buf[:n]...)}
	d.pkt, d.err = messages.DecodePacket(d.raw)
	return d, true
}

// await reads datagrams, skipping those that do not match, until one
// matches; it fails the test after timeout. Nodes also monger and resend
// on their own, so unrelated datagrams are expected and ignored.
func (p *rawPeer) await(t testing.TB, timeout time.Duration, what string, match func(d datagram) bool) datagram {
	t.Helper()
	deadline := time.Now().Add(timeout)
	skipped := 0
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no datagram %s within %v (%d others skipped)", what, timeout, skipped)
		}
		d, ok := p.recv(t, left)
		if !ok {
			continue
		}
		if match(d) {
			return d
		}
		skipped++
	}
}

// drain discards whatever is queued, so that a later await sees answers
// to what comes next rather than to what came before.
func (p *rawPeer) drain(t testing.TB) int {
	t.Helper()
	return p.drainFor(t, waitTimeout)
}

// drainFor is drain for at most limit, for nodes that may keep talking.
func (p *rawPeer) drainFor(t testing.TB, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	n := 0
	for time.Now().Before(deadline) {
		if _, ok := p.recv(t, 50*time.Millisecond); !ok {
			break
		}
		n++
	}
	return n
}

// statusFrom matches a status sent by the node at addr for which cond
// holds.
func statusFrom(addr netip.AddrPort, cond func(map[string]uint32) bool) func(datagram) bool {
	return func(d datagram) bool {
		return d.from == addr && d.pkt != nil && d.pkt.Status != nil && cond(wantMap(d.pkt.Status))
	}
}

// wantMap is a status as origin -> NextID. The entry order is not part of
// the protocol (2018 nodes sent Go map order).
func wantMap(s *messages.StatusPacket) map[string]uint32 {
	m := make(map[string]uint32, len(s.Want))
	for _, ps := range s.Want {
		m[ps.Identifier] = ps.NextID
	}
	return m
}

func encode(t testing.TB, pkt *messages.GossipPacket) []byte {
	t.Helper()
	b, err := messages.EncodePacket(pkt)
	if err != nil {
		t.Fatalf("encode %+v: %v", pkt, err)
	}
	return b
}

func rumor(origin string, id uint32, text string) *messages.GossipPacket {
	return &messages.GossipPacket{Rumor: &messages.RumorMessage{Origin: origin, ID: id, Text: text}}
}

// fixture reads a captured datagram from the messages package's test data
// (hex, one line).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join(repoRoot, "messages", "testdata", "peerster", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

func fmtWant(m map[string]uint32) string {
	if len(m) > 20 {
		return fmt.Sprintf("(%d origins)", len(m))
	}
	return fmt.Sprint(m)
}
