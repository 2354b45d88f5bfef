package messages

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// The identities and addresses of fixtures/README.md §4.
const (
	probeID = 6890755708893279227
	rustA   = 12859790071228880681
	rustC   = 12158857683465702280
	rust510 = 2807523190320846528
)

var (
	probeAddr = netip.MustParseAddrPort("127.0.0.1:18501")
	rustAAddr = netip.MustParseAddrPort("127.0.0.1:18500")
	rustCAddr = netip.MustParseAddrPort("127.0.0.1:18502")
	addMeErr  = P2PMessage{Kind: P2PError, Text: "Expected `AddMe` message as first one"}
)

// goldenP2P lists every p2p-gossip fixture with the messages it holds, in
// order; the bytes of each file are exactly these messages.
var goldenP2P = map[string][]P2PMessage{
	"msg_error_expected_addme.hex":              {addMeErr},
	"msg_gossip_SM1bIboWON.hex":                 {{Kind: P2PGossip, Text: "SM1bIboWON"}},
	"msg_gossip_go_fixture_1_sent_by_probe.hex": {{Kind: P2PGossip, Text: "go-fixture-1"}},
	"msg_heartbeat.hex":                         {{Kind: P2PHeartbeat}},
	"msg_list_peers_request.hex":                {{Kind: P2PListPeersRequest}},
	"msg_list_peers_response_1_peer.hex": {{Kind: P2PListPeersResponse, Peers: []P2PPeer{
		{probeID, probeAddr}}}},
	"msg_list_peers_response_2_peers.hex": {{Kind: P2PListPeersResponse, Peers: []P2PPeer{
		{probeID, probeAddr}, {rustC, rustCAddr}}}},
	"msg_list_peers_response_2_peers_from_dialler.hex": {{Kind: P2PListPeersResponse, Peers: []P2PPeer{
		{rustA, rustAAddr}, {probeID, probeAddr}}}},
	"pair_go_probe_18501.hex":      {{Kind: P2PPair, Identity: probeID, ListenPort: 18501}},
	"pair_rust_dialler_18502.hex":  {{Kind: P2PPair, Identity: rustC, ListenPort: 18502}},
	"pair_rust_listener_18500.hex": {{Kind: P2PPair, Identity: rustA, ListenPort: 18500}},
	"plaintext_pair_then_error_from_rust_18510.hex": {
		{Kind: P2PPair, Identity: rust510, ListenPort: 18510}, addMeErr},
	"two_messages_one_write_gossip_gossip.hex": {
		{Kind: P2PGossip, Text: "first-of-two-3"}, {Kind: P2PGossip, Text: "second-of-two-4"}},
	"two_messages_one_write_heartbeat_gossip.hex": {
		{Kind: P2PHeartbeat}, {Kind: P2PGossip, Text: "coalesced-1"}},
}

// decodeAllP2P reads messages until the decoder fails; a clean end gives a
// nil error.
func decodeAllP2P(r io.Reader) ([]P2PMessage, error) {
	d := NewP2PDecoder(r)
	var out []P2PMessage
	for {
		m, err := d.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func TestGoldenP2PDecodeAndReencodeByteForByte(t *testing.T) {
	for name, want := range goldenP2P {
		t.Run(name, func(t *testing.T) {
			wire := readHexFixture(t, "p2pgossip", name)
			readers := map[string]io.Reader{
				"one read":        bytes.NewReader(wire),
				"one byte a time": iotest.OneByteReader(bytes.NewReader(wire)),
				"data with EOF":   iotest.DataErrReader(bytes.NewReader(wire)),
			}
			for how, r := range readers {
				got, err := decodeAllP2P(r)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: decoded %+v, want %+v", how, got, want)
				}
			}
			var enc []byte
			for _, m := range want {
				var err error
				if enc, err = AppendP2P(enc, m); err != nil {
					t.Fatalf("encode %+v: %v", m, err)
				}
			}
			if !bytes.Equal(enc, wire) {
				t.Fatalf("encoded %x, captured %x", enc, wire)
			}
			// DecodeP2P takes the first message and leaves the rest,
			// which is how the real program loses a coalesced second one.
			first, n, err := DecodeP2P(wire)
			if err != nil || !reflect.DeepEqual(first, want[0]) {
				t.Fatalf("DecodeP2P: %+v, %v", first, err)
			}
			if len(want) == 1 && n != len(wire) {
				t.Fatalf("DecodeP2P took %d of %d bytes", n, len(wire))
			}
		})
	}
}

// TestEveryP2PFixtureIsCovered keeps the golden table honest: a fixture
// added to testdata without an expectation fails here.
func TestEveryP2PFixtureIsCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "p2pgossip", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if _, ok := goldenP2P[filepath.Base(f)]; !ok {
			t.Errorf("fixture %s has no golden expectation", filepath.Base(f))
		}
	}
}

func TestP2PPairIs14Bytes(t *testing.T) {
	b, err := EncodeP2P(P2PMessage{Kind: P2PPair, Identity: 1<<64 - 1, ListenPort: 65535})
	if err != nil || len(b) != P2PPairLen {
		t.Fatalf("pair encodes to %d bytes (%v), want %d", len(b), err, P2PPairLen)
	}
}

func TestP2PSocketAddrIPv6RoundTrip(t *testing.T) {
	peers := []P2PPeer{
		{1, netip.MustParseAddrPort("[::1]:8080")},
		{2, netip.MustParseAddrPort("[2001:db8::42]:65535")},
		// A v4-mapped address is a V6 on the wire and stays one.
		{3, netip.MustParseAddrPort("[::ffff:10.0.0.1]:1")},
		{4, netip.MustParseAddrPort("10.0.0.1:1")},
	}
	m := P2PMessage{Kind: P2PListPeersResponse, Peers: peers}
	b, err := EncodeP2P(m)
	if err != nil {
		t.Fatal(err)
	}
	// tag, count, then per peer: id, variant, octets, port.
	if want := 4 + 8 + 3*(8+4+16+2) + (8 + 4 + 4 + 2); len(b) != want {
		t.Fatalf("encoded %d bytes, want %d", len(b), want)
	}
	if v := binary.LittleEndian.Uint32(b[12+8:]); v != 1 {
		t.Fatalf("first peer has SocketAddr variant %d, want 1 (V6)", v)
	}
	if o := b[12+12 : 12+28]; !bytes.Equal(o, netip.MustParseAddr("::1").AsSlice()) {
		t.Fatalf("octets % x", o)
	}
	got, n, err := DecodeP2P(b)
	if err != nil || n != len(b) || !reflect.DeepEqual(got, m) {
		t.Fatalf("decoded %+v (%d bytes, %v), want %+v", got, n, err, m)
	}
	// A zone has no place in bincode's SocketAddrV6: dropped.
	zoned := P2PMessage{Kind: P2PListPeersResponse, Peers: []P2PPeer{{5, netip.MustParseAddrPort("[fe80::1%eth0]:9")}}}
	b, err = EncodeP2P(zoned)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = DecodeP2P(b)
	if err != nil || got.Peers[0].Addr != netip.MustParseAddrPort("[fe80::1]:9") {
		t.Fatalf("zoned address decoded as %+v, %v", got, err)
	}
}

func TestP2PEncodeRefusesWhatMustNotReachTheWire(t *testing.T) {
	cases := []struct {
		name string
		m    P2PMessage
		has  string
	}{
		{"invalid UTF-8", P2PMessage{Kind: P2PGossip, Text: "a\xffb"}, `text is not UTF-8: "a\xffb"`},
		{"unknown variant", P2PMessage{Kind: 6}, "unknown variant 6"},
		{"peer without address", P2PMessage{Kind: P2PListPeersResponse, Peers: []P2PPeer{{Identity: 9}}}, "peer 0 (identity 9) has no address"},
		{"too large", P2PMessage{Kind: P2PGossip, Text: strings.Repeat("x", MaxP2PMessageLen-11)}, "exceeds the 65536-byte limit"},
	}
	for _, c := range cases {
		b, err := AppendP2P([]byte("keep"), c.m)
		if err == nil || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.has)
		}
		if string(b) != "keep" {
			t.Errorf("%s: the buffer was changed to %q", c.name, b)
		}
	}
	// The largest text that fits is accepted and decodes back.
	m := P2PMessage{Kind: P2PGossip, Text: strings.Repeat("x", MaxP2PMessageLen-12)}
	b, err := EncodeP2P(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAllP2P(iotest.HalfReader(bytes.NewReader(b)))
	if err != nil || len(got) != 1 || got[0].Text != m.Text {
		t.Fatalf("largest message: %d messages, %v", len(got), err)
	}
}

func p2pHeader(kind P2PKind, count uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(kind))
	return binary.LittleEndian.AppendUint64(b, count)
}

func TestP2PDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		kind error
		has  string
	}{
		{"variant 6", []byte{6, 0, 0, 0}, ErrP2PMalformed, "unknown p2p message variant 6"},
		{"variant 2^32-1", []byte{0xff, 0xff, 0xff, 0xff}, ErrP2PMalformed, "unknown p2p message variant 4294967295"},
		{"gossip not UTF-8", append(p2pHeader(P2PGossip, 2), 0xc3, 0x28), ErrP2PMalformed, `p2p Gossip text is not UTF-8: "\xc3("`},
		{"error not UTF-8", append(p2pHeader(P2PError, 1), 0x80), ErrP2PMalformed, "p2p Error text is not UTF-8"},
		{"text length 2^40", p2pHeader(P2PGossip, 1<<40), ErrP2PTooLarge, "announces 1099511627776 bytes of text"},
		{"text length 2^64-1", p2pHeader(P2PError, 1<<64-1), ErrP2PTooLarge, "announces 18446744073709551615 bytes"},
		{"text one byte over", p2pHeader(P2PGossip, MaxP2PMessageLen-11), ErrP2PTooLarge, "exceeds the 65536-byte message limit"},
		{"peer count 2^63", p2pHeader(P2PListPeersResponse, 1<<63), ErrP2PTooLarge, "announces 9223372036854775808 peers"},
		{"peer count one over", p2pHeader(P2PListPeersResponse, (MaxP2PMessageLen-12)/18+1), ErrP2PTooLarge, "announces 3641 peers"},
		{"SocketAddr variant 2", append(append(p2pHeader(P2PListPeersResponse, 1), make([]byte, 8)...), 2, 0, 0, 0), ErrP2PMalformed, "peer 0: unknown SocketAddr variant 2"},
	}
	for _, c := range cases {
		// The verdict comes from the bytes at hand: the decoder must not
		// wait for (or allocate) what a lying length announces.
		r := &p2pNoMoreReader{b: c.b}
		_, err := NewP2PDecoder(r).Decode()
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.kind, c.has)
		}
		if r.extra {
			t.Errorf("%s: the decoder read again after the bytes that decide", c.name)
		}
	}
}

// p2pNoMoreReader hands out b and then reports any further read.
type p2pNoMoreReader struct {
	b     []byte
	extra bool
}

func (r *p2pNoMoreReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		r.extra = true
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestP2PDecodeErrorIsSticky(t *testing.T) {
	d := NewP2PDecoder(bytes.NewReader(append([]byte{9, 0, 0, 0}, readHexFixture(t, "p2pgossip", "msg_heartbeat.hex")...)))
	_, err1 := d.Decode()
	_, err2 := d.Decode()
	if err1 == nil || err2 != err1 {
		t.Fatalf("errors %v then %v: the stream has no framing to resynchronise on", err1, err2)
	}
}

func TestP2PDecodeEnds(t *testing.T) {
	hb := readHexFixture(t, "p2pgossip", "msg_heartbeat.hex")
	got, err := decodeAllP2P(bytes.NewReader(nil))
	if err != nil || len(got) != 0 {
		t.Fatalf("empty stream: %v, %v", got, err)
	}
	gossip := readHexFixture(t, "p2pgossip", "msg_gossip_SM1bIboWON.hex")
	for cut := 1; cut < len(gossip); cut++ {
		stream := append(append([]byte(nil), hb...), gossip[:cut]...)
		got, err := decodeAllP2P(iotest.OneByteReader(bytes.NewReader(stream)))
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1 {
			t.Fatalf("cut at %d: %d messages, error %v; want the heartbeat, then ErrUnexpectedEOF", cut, len(got), err)
		}
		if _, _, err := DecodeP2P(gossip[:cut]); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("DecodeP2P cut at %d: %v", cut, err)
		}
	}
}

// A read error (a deadline) comes after the messages delivered with it.
func TestP2PDecodeReadErrorAfterMessages(t *testing.T) {
	two := readHexFixture(t, "p2pgossip", "two_messages_one_write_gossip_gossip.hex")
	r := io.MultiReader(bytes.NewReader(two), iotest.ErrReader(os.ErrDeadlineExceeded))
	got, err := decodeAllP2P(iotest.DataErrReader(r))
	if len(got) != 2 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%d messages, error %v", len(got), err)
	}
}

type p2pStuckReader struct{}

func (p2pStuckReader) Read([]byte) (int, error) { return 0, nil }

func TestP2PDecodeStuckReader(t *testing.T) {
	if _, err := NewP2PDecoder(p2pStuckReader{}).Decode(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("error %v, want io.ErrNoProgress", err)
	}
}

// Many messages in one read, and a stream mixing every kind, read in every
// chunk size: the messages never depend on how the bytes arrive.
func TestP2PDecodeChunking(t *testing.T) {
	var stream []byte
	var want []P2PMessage
	for _, name := range []string{"msg_list_peers_request.hex", "msg_list_peers_response_2_peers.hex",
		"msg_gossip_SM1bIboWON.hex", "msg_heartbeat.hex", "msg_error_expected_addme.hex"} {
		stream = append(stream, readHexFixture(t, "p2pgossip", name)...)
		want = append(want, goldenP2P[name]...)
	}
	big := P2PMessage{Kind: P2PGossip, Text: strings.Repeat("é", 9000)}
	stream, _ = AppendP2P(stream, big)
	want = append(want, big)
	for i := 0; i < 300; i++ {
		stream = binary.LittleEndian.AppendUint32(stream, uint32(P2PHeartbeat))
		want = append(want, P2PMessage{Kind: P2PHeartbeat})
	}
	for _, size := range []int{1, 2, 3, 5, 13, 4096, len(stream)} {
		got, err := decodeAllP2P(&p2pChunkReader{b: stream, size: size})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("chunks of %d: %d of %d messages, %v", size, len(got), len(want), err)
		}
	}
}

type p2pChunkReader struct {
	b    []byte
	size int
}

func (r *p2pChunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// A peer list is allocated only once all of it is in, so a count within the
// limit followed by nothing costs nothing.
func TestP2PPeerCountIsNotTrustedBeforeTheBytesArrive(t *testing.T) {
	b := p2pHeader(P2PListPeersResponse, 3000)
	allocs := testing.AllocsPerRun(100, func() {
		_, _, need, err := parseP2P(b)
		if !errors.Is(err, errP2PShort) || need != 12+3000*18 {
			t.Fatalf("need %d, %v", need, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations for an announced list", allocs)
	}
}

func TestP2PKindString(t *testing.T) {
	if s := P2PListPeersResponse.String(); s != "ListPeersResponse" {
		t.Fatal(s)
	}
	if s := P2PKind(7).String(); s != "P2PKind(7)" {
		t.Fatal(s)
	}
}
