package messages

import (
	"testing"
)

// FuzzDecodePacket checks the decoder never panics and that every field of
// whatever it accepts re-encodes alone and decodes again.
func FuzzDecodePacket(f *testing.F) {
	addFixtureSeeds(f, "peerster", ".hex")
	addFixtureSeeds(f, "peerster/students", ".hex")
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePacket(b)
		if err != nil {
			return
		}
		parts := p.Parts()
		if len(parts) != p.Fields() || len(parts) < 1 {
			t.Fatalf("accepted a packet of %d fields split into %d parts", p.Fields(), len(parts))
		}
		for _, part := range parts {
			enc, err := EncodePacket(part)
			if err != nil {
				if len(b) <= MaxDatagram {
					t.Fatalf("accepted %s part does not re-encode: %v", part.Kind(), err)
				}
				continue
			}
			if _, err := DecodePacket(enc); err != nil {
				t.Fatalf("re-encoded %s part does not decode: %v", part.Kind(), err)
			}
		}
	})
}

func FuzzDecodeClient(f *testing.F) {
	addFixtureSeeds(f, "peerster", ".hex")
	addFixtureSeeds(f, "peerster/students", ".hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeClient(b)
		if err == nil && !m.HasAction() {
			t.Fatalf("accepted a client datagram with no action: %x", b)
		}
	})
}
