package messages

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The datagrams of six published 2018–2019 Peersters (../shared/fixtures,
// §1.4): what each decodes to, field by field, in the order a receiver
// handles the fields.
var goldenStudentPackets = map[string][]GossipPacket{
	"dpetresc_rumor.hex":  {{Rumor: &RumorMessage{Origin: "dpetresc", ID: 1, Text: "first msg"}}},
	"dpetresc_status.hex": {{Status: &StatusPacket{Want: []PeerStatus{{"dpetresc", 2}, {"h5peer", 2}}}}},
	"dpetresc_fwd_rumor_status.hex": {
		{Rumor: &RumorMessage{Origin: "h5two", ID: 1, Text: "two fields"}},
		{Status: &StatusPacket{Want: []PeerStatus{{"h5two", 1}}}},
	},
	"dpetresc_fwd_simple_rumor.hex": {
		{Simple: &SimpleMessage{OriginalName: "h5s", RelayPeerAddr: "127.0.0.1:6001", Contents: "simple part"}},
		{Rumor: &RumorMessage{Origin: "h5sr", ID: 1, Text: "simple+rumor"}},
	},
	"ledz96_rumor.hex":  {{Rumor: &RumorMessage{Origin: "Ledz96", ID: 1, Text: "first msg"}}},
	"ledz96_status.hex": {{Status: &StatusPacket{Want: []PeerStatus{{"Ledz96", 2}, {"h5peer", 2}}}}},
	"ledz96_rumor_id0_with_stale_status.hex": {
		{Rumor: &RumorMessage{Origin: "h5zero", ID: 0, Text: "zero id rumor"}},
		{Status: &StatusPacket{}},
	},
	"ledz96_rumor_with_stale_status.hex": {
		{Rumor: &RumorMessage{Origin: "h5peer", ID: 1, Text: "hello from h5"}},
		{Status: &StatusPacket{}},
	},
	"ledz96_simple_rumor_status.hex": {
		{Simple: &SimpleMessage{OriginalName: "h5s", RelayPeerAddr: "127.0.0.1:6001", Contents: "simple part"}},
		{Rumor: &RumorMessage{Origin: "h5sr", ID: 1, Text: "simple+rumor"}},
		{Status: &StatusPacket{Want: []PeerStatus{{"h5two", 1}}}},
	},
	"mvidigueira_rumor.hex":  {{Rumor: &RumorMessage{Origin: "mvidigueira", ID: 1, Text: "first msg"}}},
	"mvidigueira_status.hex": {{Status: &StatusPacket{Want: []PeerStatus{{"mvidigueira", 2}, {"h5peer", 2}}}}},
	"nt1m_rumor.hex":         {{Rumor: &RumorMessage{Origin: "nt1m", ID: 1, Text: "first msg"}}},
	"nt1m_simple.hex":        {{Simple: &SimpleMessage{OriginalName: "nt1m", RelayPeerAddr: "127.0.0.1:5000", Contents: "simple hello"}}},
	// 32 bytes of packet and 4,064 zero bytes: the packet, unharmed.
	"nt1m_simple_fwd_4096.hex": {{Simple: &SimpleMessage{OriginalName: "h5s", RelayPeerAddr: "127.0.0.1:6002", Contents: "from L2"}}},
	"nt1m_status.hex":          {{Status: &StatusPacket{Want: []PeerStatus{{"nt1m", 2}, {"h5peer", 2}}}}},
	"nt1m_status_empty.hex":    {{Status: &StatusPacket{}}},
	"somecookie_rumor.hex":     {{Rumor: &RumorMessage{Origin: "somecookie", ID: 1, Text: "first msg"}}},
	"somecookie_status.hex":    {{Status: &StatusPacket{Want: []PeerStatus{{"somecookie", 2}, {"h5peer", 2}}}}},
	// vquelque numbers from 0, and its statuses count from 0.
	"vquelque_rumor_id0.hex":          {{Rumor: &RumorMessage{Origin: "vquelque", ID: 0, Text: "first msg"}}},
	"vquelque_rumor_id1.hex":          {{Rumor: &RumorMessage{Origin: "vquelque", ID: 1, Text: "second msg"}}},
	"vquelque_rumor_fwd_id0.hex":      {{Rumor: &RumorMessage{Origin: "h5zero", ID: 0, Text: "zero id rumor"}}},
	"vquelque_status_after_first.hex": {{Status: &StatusPacket{Want: []PeerStatus{{"vquelque", 1}}}}},
	"vquelque_status_after_rumor.hex": {{Status: &StatusPacket{Want: []PeerStatus{{"vquelque", 1}, {"h5zero", 1}}}}},
}

// goldenStudentClients maps every captured client datagram to its text.
var goldenStudentClients = map[string]string{
	"dpetresc_client.hex":    "hello from client",
	"ledz96_client.hex":      "hello from client",
	"mvidigueira_client.hex": "hello from client", // GossipPacket{Simple{"", "", text}}
	"nt1m_client.hex":        "hello from client",
	"somecookie_client.hex":  "hello from client",
	"vquelque_client.hex":    "hello from client",
}

func studentFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "peerster", "students", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no student fixtures: %v", err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// TestGoldenStudentFixturesAreAllCovered keeps the tables in step with the
// captures: a new capture without an expected decoding fails.
func TestGoldenStudentFixturesAreAllCovered(t *testing.T) {
	for _, name := range studentFixtures(t) {
		_, isPacket := goldenStudentPackets[name]
		_, isClient := goldenStudentClients[name]
		if isPacket == isClient {
			t.Errorf("%s: in %d golden tables, want exactly one", name, map[bool]int{true: 2, false: 0}[isPacket])
		}
	}
}

func TestGoldenStudentPackets(t *testing.T) {
	for name, want := range goldenStudentPackets {
		t.Run(name, func(t *testing.T) {
			wire := readHexFixture(t, "peerster/students", name)
			p, err := DecodePacket(wire)
			if err != nil {
				t.Fatal(err)
			}
			parts := p.Parts()
			if len(parts) != len(want) {
				t.Fatalf("%d parts (%d fields), want %d", len(parts), p.Fields(), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(*parts[i], want[i]) {
					t.Fatalf("part %d: %s, want %s", i, describe(parts[i]), describe(&want[i]))
				}
			}
			// Every one of them writes zero values out and fields in
			// order, as we do: a single-field packet re-encodes to the
			// same bytes, ID 0 included, so what we relay is what they
			// would have sent.
			if len(want) == 1 {
				enc, err := EncodePacket(parts[0])
				if err != nil {
					t.Fatal(err)
				}
				if len(wire) < len(enc) || !bytes.Equal(enc, wire[:len(enc)]) || bytes.Trim(wire[len(enc):], "\x00") != nil {
					t.Fatalf("re-encoded %x, captured %x", enc, wire)
				}
			}
		})
	}
}

func TestGoldenStudentClients(t *testing.T) {
	for name, want := range goldenStudentClients {
		t.Run(name, func(t *testing.T) {
			m, err := DecodeClient(readHexFixture(t, "peerster/students", name))
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != want || m.File != nil || m.Node != nil || m.Name != nil || m.Pull != nil || m.Digit != nil {
				t.Fatalf("decoded %+v, want text %q only", m, want)
			}
		})
	}
}

// A node's packet sent to the UIPort is never read as a client's text: the
// status, for one, parses as our Message with a File field of binary.
func TestGossipPacketsAreNotClientMessages(t *testing.T) {
	for name := range goldenStudentPackets {
		if m, err := DecodeClient(readHexFixture(t, "peerster/students", name)); err == nil {
			t.Errorf("%s taken as a client message: %+v", name, m)
		} else if !errors.Is(err, ErrNoAction) && !strings.Contains(err.Error(), "decode client datagram") {
			t.Errorf("%s: unclear error %v", name, err)
		}
	}
}

func describe(p *GossipPacket) string {
	switch {
	case p.Simple != nil:
		return fmt.Sprintf("Simple%+v", *p.Simple)
	case p.Rumor != nil:
		return fmt.Sprintf("Rumor%+v", *p.Rumor)
	case p.Status != nil:
		return fmt.Sprintf("Status%+v", *p.Status)
	}
	return "empty"
}

// nt1m forwards its whole 4,096-byte read buffer. After a packet of odd
// length the zeros are odd too, and the last one is a key without a value:
// every such packet decodes all the same, including ones that end in a zero
// byte of their own.
func TestPacketsFollowedByAnyNumberOfZeroBytes(t *testing.T) {
	packets := []*GossipPacket{
		{Simple: &SimpleMessage{OriginalName: "E", RelayPeerAddr: "127.0.0.1:5004", Contents: "Weather_is_clear"}},
		{Simple: &SimpleMessage{OriginalName: "h5s", RelayPeerAddr: "127.0.0.1:6002", Contents: "from L2"}},
		{Status: &StatusPacket{}},
		{Simple: &SimpleMessage{}},
		{Rumor: &RumorMessage{Origin: "vq", ID: 0, Text: ""}},
		{Status: &StatusPacket{Want: []PeerStatus{{"A", 0}}}},
	}
	for _, p := range packets {
		b, err := EncodePacket(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, pad := range []int{0, 1, 2, 3, 4063, 4064, 4096 - len(b)} {
			wire := append(append([]byte{}, b...), make([]byte, pad)...)
			got, err := DecodePacket(wire)
			if err != nil {
				t.Fatalf("%x and %d zero bytes: %v", b, pad, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("%x and %d zero bytes: decoded %s, want %s", b, pad, describe(got), describe(p))
			}
		}
	}
}
