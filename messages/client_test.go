package messages

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// goldenClient maps every captured client datagram to the text the gossiper
// must read from it.
var goldenClient = map[string]string{
	"client_message_hello_gregunz.hex":    "hello",
	"client_message_hello_romain.hex":     "hello",
	"client_message_hello_romain_hw2.hex": "hello",
	"client_message_hello_pablo.hex":      "hello",
}

func TestGoldenClientDatagrams(t *testing.T) {
	for name, want := range goldenClient {
		t.Run(name, func(t *testing.T) {
			m, err := DecodeClient(readHexFixture(t, "peerster", name))
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != want || m.Node != nil || m.Name != nil {
				t.Fatalf("decoded %+v, want text %q only", m, want)
			}
		})
	}
}

func TestClientMsgIsByteCompatibleWithCourseMessage(t *testing.T) {
	b, err := EncodeClient(&Message{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if want := readHexFixture(t, "peerster", "client_message_hello_gregunz.hex"); !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, 2018 clients sent %x", b, want)
	}
}

func TestClientActionsRoundTrip(t *testing.T) {
	node, name, pull := "127.0.0.1:5001", "nodeB", "127.0.0.1:7001"
	zero := uint32(0)
	for _, m := range []*Message{{Node: &node}, {Name: &name}, {Text: "héllo wörld"}, {Digit: &zero}, {Pull: &pull}} {
		b, err := EncodeClient(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeClient(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != m.Text || (m.Node != nil) != (got.Node != nil) || (m.Name != nil) != (got.Name != nil) ||
			(m.Digit != nil) != (got.Digit != nil) || (m.Pull != nil) != (got.Pull != nil) {
			t.Fatalf("round trip of %+v gave %+v", m, got)
		}
	}
}

func TestClientRejects(t *testing.T) {
	if _, err := EncodeClient(&Message{}); !errors.Is(err, ErrNoAction) {
		t.Errorf("empty message encoded: %v", err)
	}
	if _, err := EncodeClient(&Message{Text: strings.Repeat("x", MaxDatagram)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized message encoded: %v", err)
	}
	for _, in := range [][]byte{nil, {0x0a, 0x00}, {0xff, 0xfe, 0x01}, {0x0a, 0x05, 'h'}} {
		if m, err := DecodeClient(in); err == nil {
			t.Errorf("DecodeClient(%x) = %+v, want an error", in, m)
		}
	}
}
