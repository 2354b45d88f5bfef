package tests

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// appendVarint and appendBytesField hand-encode protobuf, for packets the
// codec would refuse to build (fields left out, several fields set).
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendBytesField(b []byte, field int, payload []byte) []byte {
	b = appendVarint(b, uint64(field<<3|2))
	b = appendVarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// shortNames yields n distinct origin names of 1-3 printable characters
// (no spaces, so stdout lines stay parseable), skipping those in skip.
func shortNames(n int, skip map[string]bool) []string {
	const first, last = 0x21, 0x7e
	var out []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		for c := byte(first); c <= last && len(out) < n; c++ {
			name := prefix + string(c)
			if depth == 1 {
				if !skip[name] {
					out = append(out, name)
				}
				continue
			}
			gen(name, depth-1)
		}
	}
	for depth := 1; len(out) < n; depth++ {
		gen("", depth)
	}
	return out
}

// hugeStatus is a status with 10,000 origins in one datagram. That many
// entries fit only if some leave out NextID (it decodes as 0), so as many
// as the datagram has room for carry NextID 2 and the rest carry none.
// The first entry is lead, with its NextID.
func hugeStatus(t *testing.T, skip map[string]bool, lead messages.PeerStatus) ([]byte, []string) {
	t.Helper()
	const origins = 10000
	names := shortNames(origins-1, skip)
	want := appendBytesField(nil, 1, appendVarint(append(appendBytesField(nil, 1, []byte(lead.Identifier)), 0x10), uint64(lead.NextID)))
	minimal := len(want)
	for _, n := range names {
		minimal += 2 + 2 + len(n) // entry tag+len, name tag+len, name
	}
	header := 1 + 3 // field 3 tag, 3-byte length
	withNext := (messages.MaxDatagram - header - minimal) / 2
	for i, n := range names {
		entry := appendBytesField(nil, 1, []byte(n))
		if i < withNext {
			entry = append(entry, 0x10, 0x02)
		}
		want = appendBytesField(want, 1, entry)
	}
	pkt := appendBytesField(nil, 3, want)
	if len(pkt) > messages.MaxDatagram {
		t.Fatalf("huge status is %d bytes", len(pkt))
	}
	return pkt, append([]string{lead.Identifier}, names...)
}

// hostileNames are origins the node must never adopt: each arrives only in
// a packet that has to be dropped or not stored.
var hostileNames = []string{"Q", ""}

func noHostile(m map[string]uint32) bool {
	for _, o := range hostileNames {
		if _, ok := m[o]; ok {
			return false
		}
	}
	return true
}

func TestHostileDatagrams(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 438))
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}

	raw := newRawPeer(t)
	n := startCluster(t, []nodeSpec{{name: "H", extraPeers: []netip.AddrPort{raw.addr}, args: []string{"-antiEntropy=0"}}})[0]
	to := n.gossip
	r := raw.addr.String()
	fromNode := func(d datagram) bool { return d.from == to }

	// Round one: one of each kind, checking the answer to each where the
	// protocol gives one.
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0x0f},
		{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, // length far past the end
		{0x12, 0x05, 0x0a},                   // truncated rumor
		randBytes(200),
		{},           // empty datagram: an all-nil packet encodes to nothing
		{0x22, 0x00}, // only field 4 (Private in later courses): all-nil once decoded
		{0x3a, 0x00}, // only field 7
		randBytes(messages.MaxDatagram),
	} {
		raw.send(t, to, b)
	}

	// A rumor as large as a datagram is stored whole: acked, and mongered
	// back to us (we are the node's only peer) byte for byte.
	// Any text between 16 KiB and 2 MiB has a 3-byte length, so the
	// packet's overhead measured on one holds for the other.
	overhead := len(encode(t, rumor("Big", 1, strings.Repeat("x", 20000)))) - 20000
	bigText := strings.Repeat("0123456789abcdef", 5000)[:messages.MaxDatagram-overhead]
	bigPkt := encode(t, rumor("Big", 1, bigText))
	if len(bigPkt) != messages.MaxDatagram {
		t.Fatalf("big rumor is %d bytes, want %d", len(bigPkt), messages.MaxDatagram)
	}
	raw.send(t, to, bigPkt)
	raw.await(t, waitTimeout, "acking Big 1", statusFrom(to, func(m map[string]uint32) bool { return m["Big"] == 2 }))
	raw.await(t, waitTimeout, "relaying Big 1", func(d datagram) bool {
		return fromNode(d) && d.pkt != nil && d.pkt.Rumor != nil && d.pkt.Rumor.Origin == "Big" && d.pkt.Rumor.Text == bigText
	})
	waitLine(t, n, func(s string) bool {
		return s == "RUMOR origin Big from "+r+" ID 1 contents "+bigText
	}, waitTimeout)

	raw.sendPacket(t, to, rumor("", 1, "a rumor needs an origin"))

	// A rumor past a gap is acked, but the ack must not claim it.
	raw.sendPacket(t, to, rumor("Q", 5, "gap"))
	waitLine(t, n, exactLine("RUMOR origin Q from "+r+" ID 5 contents gap"), waitTimeout)
	ack := raw.await(t, waitTimeout, "acking the gap rumor", statusFrom(to, func(map[string]uint32) bool { return true }))
	if m := wantMap(ack.pkt.Status); m["Big"] != 2 || !noHostile(m) {
		t.Errorf("ack to Q 5: %s, want Big 2 and no Q", fmtWant(m))
	}

	// It has Big, so it does not cross the Big exchange still open with us
	// (a status lacking the rumor in flight is rightly left for its ack).
	huge, names := hugeStatus(t, map[string]bool{"Q": true, "P": true, "H": true, "Big": true},
		messages.PeerStatus{Identifier: "Big", NextID: 2})
	raw.send(t, to, huge)
	waitLine(t, n, func(s string) bool {
		return strings.HasPrefix(s, "STATUS from "+r+" ") && strings.Count(s, " peer ") == len(names)
	}, waitTimeout)
	// Its NextID 2 entries are more than the node has: it answers with its
	// own status, which must not have picked up any of those origins.
	reply := raw.await(t, waitTimeout, "answering the huge status", statusFrom(to, func(map[string]uint32) bool { return true }))
	if m := wantMap(reply.pkt.Status); len(m) != 1 || m["Big"] != 2 {
		t.Errorf("answer to a %d-origin status: %s, want only Big 2", len(names), fmtWant(m))
	}
	t.Logf("huge status: %d origins in %d bytes", len(names), len(huge))

	raw.sendPacket(t, to, rumor("P", 1, "probe"))
	ack = raw.await(t, waitTimeout, "acking P 1", statusFrom(to, func(m map[string]uint32) bool { return m["P"] == 2 }))
	if m := wantMap(ack.pkt.Status); m["Big"] != 2 || !noHostile(m) || len(m) != 2 {
		t.Errorf("after round one: %s, want exactly Big 2 and P 2", fmtWant(m))
	}
	rss1 := rssKB(t, n.pid())

	// The burst: 5,000 datagrams of every hostile kind, as fast as the
	// socket takes them.
	smallStatus := func() []byte {
		var want []byte
		for range 5 {
			e := appendBytesField(nil, 1, []byte(fmt.Sprintf("r%d", rng.IntN(1e6))))
			e = append(e, 0x10)
			e = appendVarint(e, uint64(rng.Uint32()))
			want = appendBytesField(want, 1, e)
		}
		return appendBytesField(nil, 3, want)
	}
	kinds := []func(i int) []byte{
		func(int) []byte { return randBytes(1 + rng.IntN(512)) },
		func(int) []byte { return nil },
		func(int) []byte { return []byte{0x22, 0x00} },
		func(int) []byte { return encode(t, rumor("", 0, "no origin")) },
		func(i int) []byte { return encode(t, rumor("Q", uint32(5+i), "gap")) },
		func(i int) []byte { return encode(t, rumor("Q", 0xffffffff, "max")) },
		func(int) []byte { return smallStatus() },
		func(i int) []byte {
			// Two fields, each handled alone: a rumor past a gap and a
			// status claiming more than the node has.
			return append(encode(t, rumor("Q", uint32(5+i), "gap")),
				encode(t, &messages.GossipPacket{Status: &messages.StatusPacket{Want: []messages.PeerStatus{{Identifier: "Big", NextID: 9}}}})...)
		},
		func(int) []byte { b := encode(t, rumor("P", 1, "probe")); return b[:len(b)/2] },
		func(int) []byte { return encode(t, rumor("P", 1, "probe")) },
		func(int) []byte {
			return encode(t, &messages.GossipPacket{Simple: &messages.SimpleMessage{OriginalName: "S", RelayPeerAddr: "not an address", Contents: "simple"}})
		},
		func(int) []byte {
			// Claims more than the node has: it must answer, not adopt.
			return encode(t, &messages.GossipPacket{Status: &messages.StatusPacket{Want: []messages.PeerStatus{{Identifier: "Big", NextID: 0xffffffff}}}})
		},
	}
	const burst = 5000
	hostileBurst := func() {
		start := time.Now()
		before := len(n.out.all())
		for i := range burst {
			var b []byte
			switch {
			case i%100 == 0:
				b = randBytes(messages.MaxDatagram)
			case i%250 == 1:
				b = bigPkt
			case i%500 == 2:
				b = fixture(t, "status_empty.hex") // makes the node monger Big to us
			default:
				b = kinds[rng.IntN(len(kinds))](i)
			}
			raw.send(t, to, b)
		}
		t.Logf("burst of %d datagrams sent in %v", burst, time.Since(start).Round(time.Millisecond))
		raw.drainFor(t, 5*time.Second)
		t.Logf("%d stdout lines printed while handling the burst", len(n.out.all())-before)
	}
	hostileBurst()
	rssBurst1 := rssKB(t, n.pid())
	// A second burst must find the node in a steady state: whatever the
	// first one made the heap grow to is reused, nothing accumulates.
	hostileBurst()
	rssBurst2 := rssKB(t, n.pid())
	t.Logf("RSS after the first burst %d kB, after the second %d kB", rssBurst1, rssBurst2)
	if rssBurst2 > rssBurst1+rssBurst1/4 {
		t.Errorf("RSS grew from %d kB to %d kB over a second burst of %d hostile datagrams", rssBurst1, rssBurst2, burst)
	}

	if !n.alive() {
		t.Fatalf("node died during the burst: %v\n%s", n.waitErr, n.errLog.tail(20))
	}
	// A normal rumor is still acked. Resent every 2 s, as a peer would, in
	// case the kernel dropped it while the node's socket was full.
	sent := time.Now()
	afterPkt := encode(t, rumor("After", 1, "after the burst"))
	for {
		raw.send(t, to, afterPkt)
		if ack, ok := awaitUntil(t, raw, 2*time.Second, statusFrom(to, func(m map[string]uint32) bool { return m["After"] == 2 })); ok {
			t.Logf("ack latency after the burst: %v", time.Since(sent).Round(time.Microsecond))
			if m := wantMap(ack.pkt.Status); m["Big"] != 2 || m["P"] != 2 || !noHostile(m) || len(m) != 3 {
				t.Errorf("after the burst: %s, want exactly After, Big and P at 2", fmtWant(m))
			}
			break
		}
		if time.Since(sent) > waitTimeout {
			t.Fatalf("rumor After 1 not acked within %v of the burst", waitTimeout)
		}
	}

	// Everything stored is still there: pull it back as a peer that knows
	// nothing would, starting from an empty status and asking for more
	// after each rumor.
	want := map[string]string{"After": "after the burst", "Big": bigText, "P": "probe"}
	got := map[string]string{}
	deadline := time.Now().Add(waitTimeout)
	for len(got) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("pulled only %d of %d stored rumors back", len(got), len(want))
		}
		st := &messages.StatusPacket{Want: []messages.PeerStatus{}}
		for o := range got {
			st.Want = append(st.Want, messages.PeerStatus{Identifier: o, NextID: 2})
		}
		raw.sendPacket(t, to, &messages.GossipPacket{Status: st})
		d, ok := awaitUntil(t, raw, 2*time.Second, func(d datagram) bool {
			if !fromNode(d) || d.pkt == nil || d.pkt.Rumor == nil {
				return false
			}
			_, have := got[d.pkt.Rumor.Origin]
			return !have
		})
		if !ok {
			continue
		}
		rm := d.pkt.Rumor
		if w, ok := want[rm.Origin]; !ok || rm.ID != 1 || rm.Text != w {
			t.Fatalf("node sent %s/%d (%d bytes of text), which we never gave it", rm.Origin, rm.ID, len(rm.Text))
		}
		got[rm.Origin] = rm.Text
	}

	checkStdoutGrammar(t, n)

	// The client port survives garbage too. It comes last because the
	// client port takes raw text as a message (pablo11's 2018 format), so
	// some of it becomes rumors of the node's own.
	for range 500 {
		raw.send(t, loopback(n.uiPort), randBytes(1+rng.IntN(1024)))
	}
	raw.send(t, loopback(n.uiPort), randBytes(messages.MaxDatagram))
	sendClient(t, n, "still_alive")
	waitLine(t, n, exactLine("CLIENT MESSAGE still_alive"), waitTimeout)

	rss2 := rssKB(t, n.pid())
	t.Logf("RSS after round one %d kB, after the burst %d kB", rss1, rss2)
	if rss2 > 3*rss1 {
		t.Errorf("RSS grew from %d kB to %d kB over the burst", rss1, rss2)
	}
	// Dropped datagrams are logged at a bounded rate, not one line each.
	if k := len(n.errLog.all()); k > 1000 {
		t.Errorf("%d stderr lines for %d hostile datagrams", k, 2*burst)
	}
}

// TestStdoutLineInjection sends texts with line breaks. Printed raw, such a
// text forges protocol lines (the course scripts grep stdout), so stdout
// would carry lines nobody sent.
func TestStdoutLineInjection(t *testing.T) {
	t.Parallel()
	raw := newRawPeer(t)
	n := startCluster(t, []nodeSpec{{name: "N", args: []string{"-antiEntropy=0"}}})[0]
	raw.sendPacket(t, n.gossip, rumor("X", 1, "hi\nCLIENT MESSAGE forged by a peer"))
	b, err := messages.EncodeClient(&messages.Message{Text: "hi\rCLIENT MESSAGE forged by a client\n"})
	if err != nil {
		t.Fatal(err)
	}
	raw.send(t, loopback(n.uiPort), b)
	// Markers: once they are printed, so is whatever came before them.
	raw.sendPacket(t, n.gossip, rumor("X", 2, "marker"))
	waitLine(t, n, "contents marker", waitTimeout)
	sendClient(t, n, "marker")
	waitLine(t, n, exactLine("CLIENT MESSAGE marker"), waitTimeout)
	for _, ln := range n.out.all() {
		if strings.Contains(ln.text, "forged") && !strings.HasPrefix(ln.text, "RUMOR origin X ") && !strings.HasPrefix(ln.text, "CLIENT MESSAGE hi") {
			t.Errorf("forged stdout line %q", ln.text)
		}
		if strings.ContainsAny(ln.text, "\r") {
			t.Errorf("stdout line with a carriage return: %q", ln.text)
		}
	}
	checkStdoutGrammar(t, n)
}
