package peerster

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

func TestUDPBatchesCrossLoopbackInOrder(t *testing.T) {
	a, err := ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ds []datagram
	for i := range 40 {
		size := 10 + i
		if i == 17 {
			size = 60000 // the largest datagrams must fit a read slot whole
		}
		ds = append(ds, datagram{to: b.LocalAddr(), b: bytes.Repeat([]byte{byte(i)}, size)})
	}
	if n, err := a.WriteBatch(ds); n != len(ds) || err != nil {
		t.Fatalf("WriteBatch sent %d of %d: %v", n, len(ds), err)
	}
	slots := make([]inbound, readBatch)
	for i := range slots {
		slots[i].b = make([]byte, 64<<10)
	}
	b.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []datagram
	for len(got) < len(ds) {
		n, err := b.ReadBatch(slots)
		if err != nil {
			t.Fatalf("ReadBatch after %d datagrams: %v", len(got), err)
		}
		if n < 1 || n > len(slots) {
			t.Fatalf("ReadBatch returned %d for %d slots", n, len(slots))
		}
		for _, in := range slots[:n] {
			got = append(got, datagram{to: in.from, b: bytes.Clone(in.b[:in.n])})
		}
	}
	for i, d := range got {
		if d.to != a.LocalAddr() {
			t.Errorf("datagram %d from %v, want %v", i, d.to, a.LocalAddr())
		}
		if !bytes.Equal(d.b, ds[i].b) {
			t.Errorf("datagram %d: %d bytes of %x, want %d bytes of %x", i, len(d.b), d.b[0], len(ds[i].b), ds[i].b[0])
		}
	}
}

// failingBatch sends over the in-memory network and fails the datagrams
// to one address, as sendmmsg does: the batch stops there.
type failingBatch struct {
	Transport
	failTo netip.AddrPort
	sent   []netip.AddrPort
}

func (f *failingBatch) ReadBatch(into []inbound) (int, error) {
	n, from, err := f.ReadFrom(into[0].b)
	into[0].n, into[0].from = n, from
	return 1, err
}

func (f *failingBatch) WriteBatch(ds []datagram) (int, error) {
	for i, d := range ds {
		if err := f.WriteTo(d.b, d.to); err != nil {
			return i, err
		}
	}
	return len(ds), nil
}

func (f *failingBatch) WriteTo(b []byte, to netip.AddrPort) error {
	if to == f.failTo {
		return fmt.Errorf("send to %v: %w", to, errors.ErrUnsupported)
	}
	f.sent = append(f.sent, to)
	return nil
}

func TestAFailedDatagramOfABatchCountsAgainstItsPeerAlone(t *testing.T) {
	n := NewMemNetwork(1)
	tr, err := n.Listen(addr("10.0.0.1:5000"))
	if err != nil {
		t.Fatal(err)
	}
	bad, good := addr("10.0.0.2:5000"), addr("10.0.0.3:5000")
	fb := &failingBatch{Transport: tr, failTo: bad}
	g, err := New(Config{Name: "a"}, fb, gossipertest.NewHost(ProtocolName))
	if err != nil {
		t.Fatal(err)
	}
	g.addPeer(bad, false)
	g.addPeer(good, false)
	g.transmitAll([]datagram{{good, []byte{1}}, {bad, []byte{2}}, {good, []byte{3}}, {bad, []byte{4}}, {good, []byte{5}}})
	if want := []netip.AddrPort{good, good, good}; fmt.Sprint(fb.sent) != fmt.Sprint(want) {
		t.Errorf("sent to %v, want %v", fb.sent, want)
	}
	if got := g.peers.state(bad).sendFailures; got != 2 {
		t.Errorf("%d failures counted against the failing peer, want 2", got)
	}
	if got := g.peers.state(good).sendFailures; got != 0 {
		t.Errorf("%d failures counted against a peer whose datagrams went", got)
	}
}
