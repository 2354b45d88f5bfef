package messages

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzWhisperDecoder feeds arbitrary streams to the decoder: it must never
// panic, every error must be one of its own, and every message it returns
// with a Body must survive an encode and a decode unchanged.
func FuzzWhisperDecoder(f *testing.F) {
	addFixtureSeeds(f, "whisper", ".jsonl")
	f.Add([]byte(`{"id":"a","ADDR":"1.2.3.4:5","body":"x","FileContents":"aGk=","FileName":"../x"}{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewWhisperDecoder(bytes.NewReader(in))
		for i := 0; i < 1000; i++ {
			m, err := d.Decode()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrWhisperSyntax) && !errors.Is(err, ErrWhisperTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if m.Body == "" {
				continue
			}
			b, err := EncodeWhisper(m)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", m, err)
			}
			back, err := ParseWhisper(b)
			if err != nil {
				t.Fatalf("re-decode %s: %v", b, err)
			}
			if !reflect.DeepEqual(back, m) {
				t.Fatalf("round trip changed %+v into %+v", m, back)
			}
		}
	})
}
