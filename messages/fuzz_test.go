package messages

import (
	"testing"
)

// FuzzDecodePacket checks the decoder never panics and that whatever it
// accepts re-encodes and decodes to the same packet.
func FuzzDecodePacket(f *testing.F) {
	addFixtureSeeds(f, "peerster", ".hex")
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePacket(b)
		if err != nil {
			return
		}
		if p.fieldsSet() != 1 {
			t.Fatalf("accepted a packet with %d fields", p.fieldsSet())
		}
		enc, err := EncodePacket(p)
		if err != nil {
			if len(b) <= MaxDatagram {
				t.Fatalf("accepted packet does not re-encode: %v", err)
			}
			return
		}
		if _, err := DecodePacket(enc); err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
	})
}

func FuzzDecodeClient(f *testing.F) {
	addFixtureSeeds(f, "peerster", ".hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeClient(b)
		if err == nil && !m.HasAction() {
			t.Fatalf("accepted a client datagram with no action: %x", b)
		}
	})
}
