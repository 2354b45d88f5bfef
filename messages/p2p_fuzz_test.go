package messages

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzDecodeP2P checks that no stream makes the decoder panic or accept a
// message over the limit, that how the bytes arrive does not change the
// outcome, and that every accepted message re-encodes to exactly the bytes
// it came from: bincode has one spelling per value, so what we relay is what
// we were sent.
func FuzzDecodeP2P(f *testing.F) {
	addFixtureSeeds(f, "p2pgossip", ".hex")
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeAllP2P(bytes.NewReader(data))
		rest := data
		for i, m := range got {
			want, n, derr := DecodeP2P(rest)
			if derr != nil || !reflect.DeepEqual(m, want) {
				t.Fatalf("message %d: the stream gave %+v, DecodeP2P %+v, %v", i, m, want, derr)
			}
			if n > MaxP2PMessageLen {
				t.Fatalf("message %d of %d bytes accepted", i, n)
			}
			enc, eerr := EncodeP2P(m)
			if eerr != nil || !bytes.Equal(enc, rest[:n]) {
				t.Fatalf("message %d %+v re-encodes as %x (%v), came as %x", i, m, enc, eerr, rest[:n])
			}
			rest = rest[n:]
		}
		if err == nil && len(rest) != 0 {
			t.Fatalf("clean end with %d bytes left", len(rest))
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrP2PMalformed) && !errors.Is(err, ErrP2PTooLarge) {
			t.Fatalf("unexpected kind of error: %v", err)
		}
		slow, serr := decodeAllP2P(iotest.OneByteReader(bytes.NewReader(data)))
		if !reflect.DeepEqual(slow, got) || (serr == nil) != (err == nil) {
			t.Fatalf("byte-at-a-time reading differs: %d messages (%v) vs %d (%v)", len(slow), serr, len(got), err)
		}
	})
}
