package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/p2p"
	"github.com/peerster-chat/Peerster/messages"
)

// The hostile-peer suite: each test attacks one node of a live network
// through its real sockets, then checks what a user would notice (see
// checkRecovered).

// queryStatus gets the node's status as its ack of a rumor it already has,
// resent every 2 s in case a datagram is lost while the node is busy. The
// query has a socket of its own, so that a policy against an attacker's
// address cannot hide the answer, and so that the node's first status to
// it is an answer to the query.
func queryStatus(t *testing.T, to netip.AddrPort, known *messages.GossipPacket) datagram {
	t.Helper()
	q := newRawPeer(t)
	deadline := time.Now().Add(waitTimeout)
	for {
		q.sendPacket(t, to, known)
		if d, ok := awaitUntil(t, q, 2*time.Second, statusFrom(to, func(map[string]uint32) bool { return true })); ok {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not ack a rumor it has within %v", to, waitTimeout)
		}
	}
}

// handled returns once n has handled every datagram p sent so far: n
// handles datagrams in order, so it is enough to see it print a rumor it
// already has, sent now from p. What n sends p meanwhile (acks of what p
// sent before) cannot be told apart from an answer to this one.
func handled(t *testing.T, n *node, p *rawPeer) {
	t.Helper()
	marker := exactLine("RUMOR origin C from " + p.addr.String() + " ID 1 contents before_from_C")
	seen := countLines(t, n, marker)
	deadline := time.Now().Add(waitTimeout)
	for {
		p.sendPacket(t, n.gossip, rumor("C", 1, "before_from_C"))
		resend := time.Now().Add(time.Second)
		for time.Now().Before(resend) {
			if countLines(t, n, marker) > seen {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not handle a rumor from %s within %v", n.name, p.addr, waitTimeout)
		}
	}
}

// TestAttackHugeOrigins: a peer sends B rumors of three 30,000-byte origins,
// then 10,000 short origins from one address. Stored, they would make B's
// status larger than a datagram, and a node that cannot send its status
// can neither ack nor run anti-entropy. Whatever B refuses must not be
// stored, and the network must go on working, for a node that joins later
// too.
func TestAttackHugeOrigins(t *testing.T) {
	t.Parallel()
	l := startAttackLine(t, nil, false, -1)
	b := l.b
	baseRSS := rssKB(t, b.pid())

	raw := newRawPeer(t)
	huge := map[string]bool{}
	for i := range 3 {
		o := strings.Repeat(string(rune('a'+i)), 30000)
		huge[o] = true
		raw.sendPacket(t, b.gossip, rumor(o, 1, "huge origin"))
	}
	names := shortNames(10000, map[string]bool{"A": true, "B": true, "C": true, "D": true})
	start := time.Now()
	for i, o := range names {
		raw.sendPacket(t, b.gossip, rumor(o, 1, "short origin"))
		// Paced, so that B's code has to deal with the origins rather
		// than the kernel dropping them from a full socket buffer.
		if i%200 == 199 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("10,000 origins sent in %v", time.Since(start).Round(time.Millisecond))
	// B passes on the origins it took, and each neighbour takes new ones
	// from B only within its quota for B: a newcomer's origin heard through
	// B may wait for a refill (one every 10 s). Statuses are answered with
	// any message the peer lacks, so honest rumors never queue behind the
	// refused ones for long; the bound covers several refills on a loaded
	// machine.
	l.wait = 60 * time.Second

	// The kernel queues B's datagrams in order, so its ack to a query sent
	// now comes after it handled the flood.
	ack := queryStatus(t, b.gossip, rumor("C", 1, "before_from_C"))
	have := wantMap(ack.pkt.Status)
	t.Logf("B's status after the attack: %d origins in %d bytes", len(have), len(ack.raw))
	for _, o := range []string{"A", "C"} {
		if have[o] < 2 {
			t.Errorf("B's status lacks %s: %s", o, fmtWant(have))
		}
	}
	for o := range have {
		if huge[o] {
			t.Errorf("B stored a rumor of a %d-byte origin", len(o))
		}
	}
	// A refused rumor is dropped, not kept in the chat: whatever B shows
	// it must have stored, so it is in its status.
	for _, r := range chatOf(t, b) {
		if r.Protocol != "peerster" {
			continue
		}
		if _, ok := have[r.Origin]; !ok || huge[r.Origin] {
			t.Errorf("B's chat shows %.40q/%d, which its status does not have", r.Origin, r.ID)
		}
	}

	phase := time.Now()
	l.deliver(t, l.c, l.a, "probe_after_origins")
	for i := range 3 {
		sendClient(t, l.a.node, fmt.Sprintf("burst_%d", i))
	}
	for i := range 3 {
		text := fmt.Sprintf("burst_%d", i)
		waitLine(t, l.c.node, rumorText("A", text), l.wait)
		l.stored = append(l.stored, text)
	}

	t.Logf("probe and burst across the line in %v", time.Since(phase).Round(time.Millisecond))

	// A newcomer must catch up on everything and be heard by everyone.
	phase = time.Now()
	d := startChatNodes(t, []chatSpec{{name: "D", args: []string{"-peers=" + l.c.gossip.String()}}})[0]
	sendClient(t, d.node, "hello_from_D")
	for _, n := range l.nodes() {
		waitLine(t, n.node, rumorText("D", "hello_from_D"), l.wait)
	}
	l.deliver(t, l.a, d, "hello_to_D")
	waitChat(t, d, l.wait, l.stored...)
	t.Logf("D joined, was heard and caught up in %v", time.Since(phase).Round(time.Millisecond))
	noStatusNotSent(t, d.node)
	for _, n := range append(l.nodes(), d) {
		for _, r := range chatOf(t, n) {
			if huge[r.Origin] {
				t.Errorf("node %s shows a rumor of a %d-byte origin", n.name, len(r.Origin))
			}
		}
	}
	l.checkRecovered(t, b, baseRSS)
}

// TestAttackPeerInjection: a simple message names a relay address. Taken
// as a peer, it would send gossip wherever an attacker likes (here an
// address off this machine), so peers come only from the source addresses
// of valid packets. Bit-flipped copies of valid packets must not slip an
// address in either.
//
// B runs without anti-entropy so that a daemon that does take the relay
// sends it nothing before the check below fails: 10.99.0.1 is only ever
// written inside packets.
func TestAttackPeerInjection(t *testing.T) {
	t.Parallel()
	l := startAttackLine(t, []string{"-antiEntropy=0"}, false, -1)
	b := l.b
	baseRSS := rssKB(t, b.pid())
	raw, raw2 := newRawPeer(t), newRawPeer(t)
	allowed := map[string]bool{
		l.a.gossip.String(): true, l.c.gossip.String(): true,
		raw.addr.String(): true, raw2.addr.String(): true,
	}
	const spoofed = "10.99.0.1:5000"
	foreign := func() []string {
		var out []string
		for _, p := range peersOf(t, b) {
			if !allowed[p] {
				out = append(out, p)
			}
		}
		return out
	}
	spoof := encode(t, &messages.GossipPacket{Simple: &messages.SimpleMessage{OriginalName: "Spoof", RelayPeerAddr: spoofed, Contents: "x"}})
	raw.send(t, b.gossip, spoof)
	handled(t, b.node, raw)
	if f := foreign(); len(f) > 0 {
		t.Fatalf("B took %q as peers from a simple message's relay field", f)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 7))
	valid := [][]byte{
		spoof,
		encode(t, &messages.GossipPacket{Simple: &messages.SimpleMessage{OriginalName: "S", RelayPeerAddr: raw.addr.String(), Contents: "y"}}),
		encode(t, rumor("Flip", 1, "bit flips")),
		encode(t, &messages.GossipPacket{Status: &messages.StatusPacket{Want: []messages.PeerStatus{{Identifier: "A", NextID: 2}, {Identifier: "C", NextID: 2}}}}),
	}
	const copies = 2000
	for i := range copies {
		p := bytes.Clone(valid[rng.IntN(len(valid))])
		for range 1 + rng.IntN(3) {
			p[rng.IntN(len(p))] ^= 1 << rng.IntN(8)
		}
		from := raw
		if i%2 == 1 {
			from = raw2
		}
		from.send(t, b.gossip, p)
		// Checked as it goes, so that a daemon that takes flipped relay
		// addresses is stopped before it gossips to them for long.
		if i%250 == 249 {
			time.Sleep(10 * time.Millisecond)
			if f := foreign(); len(f) > 0 {
				t.Fatalf("after %d bit-flipped packets B has peers %q", i+1, f)
			}
		}
	}
	handled(t, b.node, raw)
	handled(t, b.node, raw2)
	if f := foreign(); len(f) > 0 {
		t.Fatalf("after %d bit-flipped packets B has peers %q", copies, f)
	}
	t.Logf("B's peers: %q", peersOf(t, b))
	l.checkRecovered(t, b, baseRSS)
}

// TestAttackIdleConnections: 200 connections from 127.0.0.1 that send
// nothing, on each of B's TCP ports, must not lock an honest peer on
// another address out of any of them.
func TestAttackIdleConnections(t *testing.T) {
	t.Parallel()
	const digit = 5
	l := startAttackLine(t, nil, true, digit)
	b := l.b
	baseRSS := rssKB(t, b.pid())
	var id struct{ DigitAddr, P2PIdentity string }
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/id", b.guiPort), &id)

	gui := "127.0.0.1:" + strconv.Itoa(b.guiPort)
	var idle []net.Conn
	closeIdle := func() {
		for _, c := range idle {
			c.Close()
		}
	}
	defer closeIdle()
	for _, addr := range []string{b.whisperAddr, id.DigitAddr, gui, b.p2pAddr} {
		for range 200 {
			c, err := dialFrom(net.IPv4(127, 0, 0, 1), addr)
			if err != nil {
				t.Fatalf("idle connection %d to %s: %v", len(idle), addr, err)
			}
			idle = append(idle, c)
		}
	}
	// The node accepts in order, so each honest connection below is
	// accepted after the idle ones to its port. The mesh goes first: the
	// node gives up on a silent handshake after a while, which would let
	// a late honest peer in whatever the limits.

	t.Run("p2p", func(t *testing.T) {
		// The node answers a Pair with its own, which starts the handshake.
		p, err := dialFrom(secondLoopback, b.p2pAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		n, _ := rand.Int(rand.Reader, new(big.Int).SetUint64(1<<63))
		pair, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PPair, Identity: n.Uint64(), ListenPort: 9})
		p.SetDeadline(time.Now().Add(waitTimeout))
		if _, err := p.Write(pair); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, messages.P2PPairLen)
		if _, err := io.ReadFull(p, buf); err != nil {
			t.Fatalf("honest mesh peer from %s got no Pair: %v", secondLoopback, err)
		}
		if theirs, _, err := messages.DecodeP2P(buf); err != nil || theirs.Kind != messages.P2PPair || strconv.FormatUint(theirs.Identity, 10) != id.P2PIdentity {
			t.Errorf("honest mesh peer got %+v (%v), want B's Pair with identity %s", theirs, err, id.P2PIdentity)
		}
	})

	t.Run("digits", func(t *testing.T) {
		c, err := dialFrom(secondLoopback, id.DigitAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		reply, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("honest pull: %v after %d bytes", err, len(reply))
		}
		if want := fmt.Sprintf("%s,", id.DigitAddr); !bytes.HasPrefix(reply, []byte(want)) || !bytes.HasSuffix(reply, []byte(","+strconv.Itoa(digit)+"\n")) {
			t.Errorf("honest pull got %q, want B's own entry with digit %d", reply, digit)
		}
	})

	t.Run("gui", func(t *testing.T) {
		resp, err := httpFrom(secondLoopback).Get("http://" + gui + "/id")
		if err != nil {
			t.Fatalf("GET /id from %s: %v", secondLoopback, err)
		}
		defer resp.Body.Close()
		var got struct{ Name string }
		if err := json.NewDecoder(resp.Body).Decode(&got); resp.StatusCode != 200 || err != nil || got.Name != "B" {
			t.Errorf("GET /id from %s: %d, name %q (%v)", secondLoopback, resp.StatusCode, got.Name, err)
		}
	})

	t.Run("whisper", func(t *testing.T) {
		// The node may dial the Addr the message names: a listener of
		// ours, on the honest peer's address.
		back := newSink(t, secondLoopback)
		var rid [8]byte
		rand.Read(rid[:])
		msg := fmt.Sprintf(`{"ID":%q,"Addr":%q,"Body":"probe","omitempty":"honest","Timestamp":%d}`+"\n",
			hex.EncodeToString(rid[:]), back.addr(), time.Now().Unix())
		w, err := dialFrom(secondLoopback, b.whisperAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.SetWriteDeadline(time.Now().Add(waitTimeout))
		if _, err := w.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		waitLine(t, b.node, exactLine("WHISPER origin honest from "+back.addr()+" contents probe"), waitTimeout)
		if !hasWhisper(chatOf(t, b), "probe") {
			t.Errorf("B's GET /message lacks the whisper message")
		}
	})

	closeIdle()
	l.checkRecovered(t, b, baseRSS)
}

func hasWhisper(chat []chatRecord, text string) bool {
	for _, r := range chat {
		if r.Protocol == "whisper" && r.Text == text {
			return true
		}
	}
	return false
}

// TestAttackQuietLogs: 10,000 bad datagrams to the client port and 10,000
// to the gossip port grow stderr by a bounded amount, with the count of
// what was left out, instead of one line each.
func TestAttackQuietLogs(t *testing.T) {
	t.Parallel()
	l := startAttackLine(t, nil, false, -1)
	b := l.b
	baseRSS := rssKB(t, b.pid())
	before := len(b.errLog.all())

	raw := newRawPeer(t)
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 11))
	// Neither protobuf nor text: a tag of no valid wire type, then invalid
	// UTF-8. An unknown field alone decodes, but asks for nothing.
	bad := func() []byte {
		if rng.IntN(2) == 0 {
			return []byte{0x22, 0x00}
		}
		b := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
		for range rng.IntN(64) {
			b = append(b, byte(0x80|rng.IntN(0x40)))
		}
		return b
	}
	flood := func(to netip.AddrPort) {
		for i := range 10000 {
			raw.send(t, to, bad())
			// Paced, as with the origins: the node must see the datagrams.
			if i%100 == 99 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	flood(loopback(b.uiPort))
	flood(b.gossip)
	// A count is reported on the next line of its kind that gets through;
	// keep a trickle going until it is.
	suppressed := regexp.MustCompile(`suppressed=[1-9]`)
	deadline := time.Now().Add(waitTimeout)
	for !anyLine(b.errLog.since(before), suppressed) {
		if time.Now().After(deadline) {
			t.Fatalf("no stderr line with a count of suppressed lines within %v\nstderr tail:\n%s", waitTimeout, b.errLog.tail(10))
		}
		raw.send(t, loopback(b.uiPort), bad())
		raw.send(t, b.gossip, bad())
		time.Sleep(200 * time.Millisecond)
	}
	if grew := len(b.errLog.all()) - before; grew > 300 {
		t.Errorf("stderr grew by %d lines for 20,000 bad datagrams\n%s", grew, b.errLog.tail(10))
	} else {
		t.Logf("stderr grew by %d lines for 20,000 bad datagrams", grew)
	}
	l.checkRecovered(t, b, baseRSS)
}

func anyLine(lines []line, re *regexp.Regexp) bool {
	for _, ln := range lines {
		if re.MatchString(ln.text) {
			return true
		}
	}
	return false
}

// TestAttackShutdown: a whisper peer that accepts and never reads, with a
// full socket and messages queued for it, a mesh node that never answers
// the handshake, and a mesh peer that keeps its link alive but never reads
// must not hold up SIGTERM: a user stopping the node expects it gone at
// once.
func TestAttackShutdown(t *testing.T) {
	t.Parallel()
	stalledWhisper := newSink(t, net.IPv4(127, 0, 0, 1))
	silentMesh := newSink(t, net.IPv4(127, 0, 0, 1))
	s := startChatNodes(t, []chatSpec{{name: "S", p2p: true, args: []string{
		"-whisperPeers=" + stalledWhisper.addr(), "-p2pConnect=" + silentMesh.addr(),
	}}})[0]
	toWhisper := stalledWhisper.next(t)
	silentMesh.next(t)
	cert := newCert(t)
	mesh, err := dialProbe(t, s.p2pAddr, p2p.IdentityOf(cert.Certificate[0]), uint16(tcpPort(silentMesh.addr())), cert)
	if err != nil {
		t.Fatalf("mesh peer: %v", err)
	}
	// Heartbeats keep the node from declaring the peer dead and closing
	// the link, which would free its writer.
	beat, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PHeartbeat})
	stopBeats := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		for {
			select {
			case <-stopBeats:
				return
			case <-time.After(500 * time.Millisecond):
				mesh.tls.SetWriteDeadline(time.Now().Add(time.Second))
				mesh.tls.Write(beat)
			}
		}
	}()
	defer func() {
		close(stopBeats)
		<-beating
	}()

	// Fill both sockets, then queue more, though far from the whisper
	// queue's 1024: one that overflows drops the connection, which would
	// free its writer. Texts stay under what a p2p-gossip peer reads at
	// once.
	text := strings.Repeat("0123456789", 800)
	body := `{"text":"` + text + `"}`
	sent, full := 0, -1
	for sent < 600 && (full < 0 || sent < full+20) {
		if r := doHTTP(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/message", s.guiPort), "application/json", body, nil); r.code != 200 {
			t.Fatalf("POST /message: %d %q", r.code, r.body)
		}
		sent++
		if full < 0 && sent%10 == 0 && stalled(toWhisper) && stalled(mesh.raw) {
			full = sent
		}
	}
	if full < 0 {
		t.Fatalf("the attack did not take: after %d messages the sockets to the stalled peers were not full", sent)
	}
	wu, wq := socketQueues(toWhisper)
	mu, mq := socketQueues(mesh.raw)
	t.Logf("%d messages of %d bytes sent, both sockets full after %d; whisper peer: %d bytes unread, %d more in the node's socket; mesh peer: %d and %d",
		sent, len(text), full, wu, wq, mu, mq)

	start := time.Now()
	s.stop(t)
	took := time.Since(start)
	t.Logf("SIGTERM with stalled peers: exited in %v", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("SIGTERM took %v to stop the node, want under 1 s (2 s allowed for a loaded machine)", took.Round(time.Millisecond))
	}
	if !strings.Contains(s.out.String(), "CLIENT MESSAGE "+text) {
		t.Error("stdout lost the messages sent before SIGTERM")
	}
}

// socketQueues reads, for our accepted side c of a connection from the
// node, the bytes c has received but we never read, and the bytes the
// node's side holds that c has not taken yet.
func socketQueues(c net.Conn) (unread, unsent uint64) {
	local, remote := c.LocalAddr().String(), c.RemoteAddr().String()
	procSockets("tcp", func(f []string) {
		tx, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			return
		}
		switch {
		case procAddr(f[1]) == local && procAddr(f[2]) == remote:
			unread, _ = strconv.ParseUint(rx, 16, 64)
		case procAddr(f[1]) == remote && procAddr(f[2]) == local:
			unsent, _ = strconv.ParseUint(tx, 16, 64)
		}
	})
	return unread, unsent
}

// stalled reports whether the node's writes to c are stuck: both sides
// hold data and what c received does not move.
func stalled(c net.Conn) bool {
	unread, unsent := socketQueues(c)
	time.Sleep(100 * time.Millisecond)
	again, _ := socketQueues(c)
	return unread > 0 && unsent > 0 && unread == again
}

// procAddr turns an IPv4 address of /proc/net/tcp (little-endian hex word,
// hex port) into ip:port.
func procAddr(s string) string {
	ip, port, ok := strings.Cut(s, ":")
	if !ok || len(ip) != 8 {
		return ""
	}
	b, err := hex.DecodeString(ip)
	p, err2 := strconv.ParseUint(port, 16, 16)
	if err != nil || err2 != nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d:%d", b[3], b[2], b[1], b[0], p)
}

// TestAttackForgedOwnOrigin: a peer sends C a rumor with C's own origin and
// the next ID C would use. C keeps it, marked as not its own, warns, and
// its own next message takes the following ID, so that no message of C's
// is lost anywhere.
func TestAttackForgedOwnOrigin(t *testing.T) {
	t.Parallel()
	l := startAttackLine(t, nil, false, -1)
	c := l.c
	baseRSS := rssKB(t, c.pid())
	next := uint32(1)
	for _, r := range chatOf(t, c) {
		if r.Protocol == "peerster" && r.Origin == "C" && r.ID >= next {
			next = r.ID + 1
		}
	}
	errBefore := len(c.errLog.all())

	raw := newRawPeer(t)
	forged := func(chat []chatRecord) (chatRecord, bool) {
		for _, r := range chat {
			if r.Protocol == "peerster" && r.Origin == "C" && r.ID == next {
				return r, true
			}
		}
		return chatRecord{}, false
	}
	var got chatRecord
	deadline := time.Now().Add(waitTimeout)
	for ok := false; !ok; {
		raw.sendPacket(t, c.gossip, rumor("C", next, "forged"))
		waitUntil := time.Now().Add(time.Second)
		for !ok && time.Now().Before(waitUntil) {
			got, ok = forged(chatOf(t, c))
			time.Sleep(50 * time.Millisecond)
		}
		if !ok && time.Now().After(deadline) {
			t.Fatalf("C's GET /message has no C/%d within %v", next, waitTimeout)
		}
	}
	if got.Text != "forged" || !got.Suspect {
		t.Errorf("C shows its own origin's ID %d as %+v, want the forged text marked suspect", next, got)
	}
	waitStderr(t, c.node, errBefore, regexp.MustCompile(`level=(warning|error).*origin=C\b`), waitTimeout)

	sendClient(t, c.node, "real")
	waitLine(t, l.a.node, exactLine(fmt.Sprintf("RUMOR origin C from %s ID %d contents forged", l.b.gossip, next)), waitTimeout)
	waitLine(t, l.a.node, exactLine(fmt.Sprintf("RUMOR origin C from %s ID %d contents real", l.b.gossip, next+1)), waitTimeout)
	for _, r := range chatOf(t, c) {
		if r.Origin == "C" && r.Text == "real" && (r.ID != next+1 || r.Suspect) {
			t.Errorf("C's own message after the forgery: %+v, want ID %d, not suspect", r, next+1)
		}
	}
	l.stored = append(l.stored, "forged", "real")
	ids := map[uint32]bool{}
	for _, r := range chatOf(t, l.a) {
		if r.Protocol == "peerster" && r.Origin == "C" {
			ids[r.ID] = true
		}
	}
	for id := uint32(1); id <= next+1; id++ {
		if !ids[id] {
			t.Errorf("A lacks C/%d", id)
		}
	}
	l.checkRecovered(t, c, baseRSS)
}
