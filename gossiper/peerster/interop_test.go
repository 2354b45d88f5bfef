package peerster

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// vquelque/peerster (2019) numbers its rumors from 0 and its statuses count
// from 0: after one rumor it says NextID 1. Its messages are stored,
// printed, acked and relayed in its own numbering, and a peer that does not
// name it in its status is sent ID 0.
func TestOriginNumberedFromZeroIsFollowed(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	clock := newFakeClock()
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: clock, Rand: tails()})

	a.sendRaw(g.Addr(), studentFixture(t, "vquelque_rumor_id0.hex"))
	wantStatus(t, a.expect("status"), "vquelque", 1)
	rec.WaitLine(t, "RUMOR origin vquelque from 127.0.0.1:5001 ID 0 contents first msg", 5*time.Second)
	// G's only peer is A: the new rumor is mongered back to it.
	if r := a.expect("rumor").Rumor; r.Origin != "vquelque" || r.ID != 0 {
		t.Fatalf("mongered %+v", r)
	}
	// Its own status after one rumor is the ack of the monger.
	a.sendRaw(g.Addr(), studentFixture(t, "vquelque_status_after_first.hex"))
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)

	// A status that does not name it lacks ID 0. (Once the wait for an
	// ack is over: before, it could be a status sent before the rumor
	// arrived.)
	clock.Advance(60 * time.Millisecond)
	a.send(g.Addr(), status())
	if r := a.expect("rumor").Rumor; r.Origin != "vquelque" || r.ID != 0 || r.Text != "first msg" {
		t.Fatalf("answered an empty status with %+v", r)
	}
	a.sendRaw(g.Addr(), studentFixture(t, "vquelque_rumor_id1.hex"))
	wantStatus(t, a.expect("status"), "vquelque", 2)
	a.expect("rumor")
	if c := rec.Messages(); len(c) != 2 || c[0].ID != 0 || c[1].ID != 1 || c[1].Text != "second msg" {
		t.Fatalf("chat log %+v", c)
	}
	// An ID 0 already held is not new.
	a.sendRaw(g.Addr(), studentFixture(t, "vquelque_rumor_id0.hex"))
	wantStatus(t, a.expect("status"), "vquelque", 2)
	if c := rec.Messages(); len(c) != 2 {
		t.Fatalf("ID 0 stored twice: %+v", c)
	}
}

// Mongering does not keep order: ID 0 may come after ID 1. It is stored
// all the same, and the origin's NextID does not move.
func TestIDZeroAfterLaterIDs(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: tails()})
	a.send(g.Addr(), rumor("Z", 1, "one"))
	wantStatus(t, a.expect("status"), "Z", 2)
	a.expect("rumor")
	a.send(g.Addr(), rumor("Z", 0, "zero"))
	wantStatus(t, a.expect("status"), "Z", 2)
	if c := rec.Messages(); len(c) != 2 || c[1].ID != 0 || c[1].Text != "zero" {
		t.Fatalf("chat log %+v", c)
	}
}

func TestRumorWithoutOriginOrWithOurNameAndIDZeroIsDropped(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: heads()})
	a.send(g.Addr(), rumor("", 1, "no origin"))
	a.send(g.Addr(), rumor("G", 0, "our name, ID 0"))
	a.send(g.Addr(), status())
	rec.WaitLine(t, "IN SYNC WITH 127.0.0.1:5001", 5*time.Second)
	a.expectNothing(50 * time.Millisecond)
	if rec.Count(gossipertest.Prefix("RUMOR")) != 0 || len(rec.Messages()) != 0 {
		t.Fatalf("took a rumor that must be dropped: %q", rec.Lines())
	}
}

// Ledz96/Peerster (2019) forwards rumors with a stale Status field attached,
// and Simple+Rumor+Status in one packet; each field is handled as if it had
// come alone, in the order Simple, Rumor, Status.
func TestPacketWithSeveralFieldsIsHandledFieldByField(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Clock: newFakeClock(), Rand: tails()})

	a.sendRaw(g.Addr(), studentFixture(t, "ledz96_rumor_with_stale_status.hex"))
	wantStatus(t, a.expect("status"), "h5peer", 2)
	rec.WaitLine(t, "RUMOR origin h5peer from 127.0.0.1:5001 ID 1 contents hello from h5", 5*time.Second)
	rec.WaitLine(t, "STATUS from 127.0.0.1:5001 ", 5*time.Second)
	if r := a.expect("rumor").Rumor; r.Origin != "h5peer" || r.ID != 1 {
		t.Fatalf("mongered %+v", r)
	}

	a.sendRaw(g.Addr(), studentFixture(t, "ledz96_simple_rumor_status.hex"))
	rec.WaitLine(t, "SIMPLE MESSAGE origin h5s from 127.0.0.1:5001 contents simple part", 5*time.Second)
	rec.WaitLine(t, "RUMOR origin h5sr from 127.0.0.1:5001 ID 1 contents simple+rumor", 5*time.Second)
	rec.WaitLine(t, "STATUS from 127.0.0.1:5001 peer h5two nextID 1", 5*time.Second)
	lines := strings.Join(rec.Lines(), "\n")
	if s, r := strings.Index(lines, "SIMPLE MESSAGE origin h5s"), strings.Index(lines, "RUMOR origin h5sr"); s > r {
		t.Fatalf("the rumor was handled before the simple message:\n%s", lines)
	}
	var texts []string
	for _, m := range rec.Messages() {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "hello from h5|simple part|simple+rumor" {
		t.Fatalf("chat log %q", texts)
	}
}

// The 4,096-byte datagram of nt1m/Peerster: the packet, then zero bytes.
// nt1m forwards what it received without rewriting RelayPeerAddr (here
// 127.0.0.1:6002, the node before it): the line names nt1m, which sent it,
// as the course's test_1 wants of a ring.
func TestTrailingZeroBytesAreIgnored(t *testing.T) {
	n := NewMemNetwork(1)
	a := newFakePeer(t, n, peerA)
	g, rec := startGossiper(t, n, us, Config{Name: "G", Simple: true, Clock: newFakeClock(), Rand: heads()})
	a.sendRaw(g.Addr(), studentFixture(t, "nt1m_simple_fwd_4096.hex"))
	rec.WaitLine(t, "SIMPLE MESSAGE origin h5s from 127.0.0.1:5001 contents from L2", 5*time.Second)
}

func studentFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "messages", "testdata", "peerster", "students", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}
