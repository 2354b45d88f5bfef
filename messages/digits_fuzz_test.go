package messages

import (
	"bytes"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzReadDigitReply checks that no reply makes the reader panic or return
// more than MaxDigitLines lines, that how the bytes arrive does not change
// the outcome, and that every accepted entry survives our own formatting:
// whatever we take in, we can serve back to the next puller unchanged.
func FuzzReadDigitReply(f *testing.F) {
	addFixtureSeeds(f, "digits", ".csv")
	f.Add([]byte{})
	f.Add([]byte("\n"))
	f.Add([]byte("1.2.3.4:5,6,7\r\n224.0.0.1:5,6,7\n1.2.3.4:5,6,7\r\r\n"))

	now := digitNow.Unix()
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ReadDigitReply(bytes.NewReader(data), digitNow)
		if err != nil {
			t.Fatalf("error from a bytes.Reader: %v", err)
		}
		if len(lines) > MaxDigitLines {
			t.Fatalf("%d lines", len(lines))
		}
		for i, l := range lines {
			if l.Line != i+1 {
				t.Fatalf("result %d has Line %d", i, l.Line)
			}
			if l.Err != nil {
				if l.Entry != (DigitEntry{}) {
					t.Fatalf("line %d rejected (%v) but carries %+v", l.Line, l.Err, l.Entry)
				}
				continue
			}
			e := l.Entry
			if e.Digit > 9 || e.Time <= 0 || e.Time > now {
				t.Fatalf("line %d: accepted out-of-range %+v", l.Line, e)
			}
			if a, err := ParseDigitAddr(e.Addr); err != nil || a != e.Addr {
				t.Fatalf("line %d: accepted address %q fails ParseDigitAddr: %v", l.Line, e.Addr, err)
			}
			out := AppendDigitLine(nil, e)
			if len(out) == 0 || out[len(out)-1] != '\n' {
				t.Fatalf("formatted %q without final LF", out)
			}
			again, err := ParseDigitLine(out[:len(out)-1], digitNow)
			if err != nil || again != e {
				t.Fatalf("line %d: %+v formats as %q, which parses as %+v, %v", l.Line, e, out, again, err)
			}
		}
		// Segment boundaries are the peer's (or the network's) choice.
		if len(data) < 1<<14 {
			slow, err := ReadDigitReply(iotest.OneByteReader(bytes.NewReader(data)), digitNow)
			if err != nil || !reflect.DeepEqual(digitStrings(slow), digitStrings(lines)) {
				t.Fatalf("byte-at-a-time reading differs: %v", err)
			}
		}
	})
}
