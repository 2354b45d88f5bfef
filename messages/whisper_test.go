package messages

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func decodeAll(t *testing.T, r io.Reader) ([]WhisperMessage, error) {
	t.Helper()
	d := NewWhisperDecoder(r)
	var out []WhisperMessage
	for {
		m, err := d.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, *m)
	}
}

var aliceStream = []WhisperMessage{
	{ID: "cfe11ffd243e8fda", Addr: "127.0.0.1:55600", Body: "hello from alice", Nick: "alice", Timestamp: 1795238252},
	{ID: "fixture-relay-1", Addr: "127.0.0.1:55602", Body: "relayed body"},
	{ID: "fixture-relay-2", Addr: "127.0.0.1:55602", Body: "second relayed", Nick: "carol", Timestamp: 1795238300},
	{ID: "348b1755ab175276", Addr: "127.0.0.1:55600", Body: "after relay from alice", Nick: "alice", Timestamp: 1795238255},
}

func TestWhisperDecodesPdxgoStream(t *testing.T) {
	raw := readFixture(t, "whisper", "pdxgo_stream_alice.jsonl")
	for name, r := range map[string]io.Reader{
		"whole":       bytes.NewReader(raw),
		"byte a time": iotest.OneByteReader(bytes.NewReader(raw)),
		"half reads":  iotest.HalfReader(bytes.NewReader(raw)),
	} {
		got, err := decodeAll(t, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, aliceStream) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, aliceStream)
		}
	}
}

func TestWhisperReadsEveryKeySpelling(t *testing.T) {
	got, err := decodeAll(t, bytes.NewReader(readFixture(t, "whisper", "input_case_and_nosep.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	want := []WhisperMessage{
		{ID: "fixture-case-1", Addr: "127.0.0.1:55612", Body: "lower keys", Nick: "dave", Timestamp: 1795238300123},
		{ID: "fixture-nosep-2", Addr: "127.0.0.1:55612", Body: "no separator before me"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if tm := got[0].Time(); !tm.Equal(time.UnixMilli(1795238300123)) {
		t.Errorf("millisecond timestamp read as %v", tm)
	}

	relay1, err := decodeAll(t, bytes.NewReader(readFixture(t, "whisper", "input_relay_1.jsonl")))
	if err != nil || len(relay1) != 1 {
		t.Fatalf("input_relay_1: %v %+v", err, relay1)
	}
	if relay1[0].Nick != "carol" || relay1[0].FileType != "text/plain" {
		t.Errorf("a Nick key is read when omitempty is missing: %+v", relay1[0])
	}
	both, err := ParseWhisper([]byte(`{"ID":"x","Addr":"1.2.3.4:5","Body":"b","Nick":"seed","omitempty":"pdxgo"}`))
	if err != nil || both.Nick != "pdxgo" {
		t.Errorf("omitempty, which pdxgo reads, wins over Nick: %+v %v", both, err)
	}
}

func TestWhisperEncodesLikePdxgoPlusNick(t *testing.T) {
	for _, name := range []string{"pdxgo_plain_nick.jsonl", "pdxgo_no_nick.jsonl", "pdxgo_html_escaped_body.jsonl", "pdxgo_relayed_kept.jsonl", "pdxgo_relayed_stripped.jsonl"} {
		raw := readFixture(t, "whisper", name)
		m, err := ParseWhisper(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := EncodeWhisper(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Our bytes are pdxgo's with the nick also under "Nick" for
		// readers of the seed document.
		want := raw
		if m.Nick != "" {
			want = bytes.Replace(raw, []byte(`"omitempty"`), []byte(`"Nick":"`+m.Nick+`","omitempty"`), 1)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestWhisperRefusesWhatPdxgoRefuses(t *testing.T) {
	got, err := decodeAll(t, bytes.NewReader(readFixture(t, "whisper", "input_float_timestamp.jsonl")))
	if !errors.Is(err, ErrWhisperSyntax) || len(got) != 0 {
		t.Errorf("float Timestamp: got %+v, %v; want ErrWhisperSyntax before any message", got, err)
	}
	for _, bad := range []string{
		`{"ID":"x","Addr":"1.2.3.4:5","Body":7}`,
		`{"ID":{"a":1},"Addr":"1.2.3.4:5","Body":"b"}`,
		`{"ID":"x","Timestamp":"123"}`,
		`[{"ID":"x"}]`, `"just a string"`, `42`, `null`, `true`,
		`{"ID":"x",}`, `{"ID":"x"`, `}{`, `{"ID":"x"} garbage`,
	} {
		_, err := decodeAll(t, strings.NewReader(bad))
		if !errors.Is(err, ErrWhisperSyntax) {
			t.Errorf("%s: got %v, want ErrWhisperSyntax", bad, err)
		}
	}
	empty, err := ParseWhisper(readFixture(t, "whisper", "input_empty_body_crash.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeWhisper(empty); err == nil {
		t.Error("an empty Body was encoded; it crashes pdxgo")
	}
}

func TestWhisperSizeCap(t *testing.T) {
	huge := `{"ID":"x","Addr":"1.2.3.4:5","Body":"` + strings.Repeat("a", MaxWhisperObject) + `"}`
	counted := &countingReader{r: strings.NewReader(huge)}
	if _, err := decodeAll(t, counted); !errors.Is(err, ErrWhisperTooLarge) {
		t.Errorf("object over the cap: %v", err)
	}
	if counted.n > MaxWhisperObject+1 {
		t.Errorf("decoder read %d bytes of an oversized object, cap %d", counted.n, MaxWhisperObject)
	}
	spaces := io.MultiReader(strings.NewReader(strings.Repeat(" ", MaxWhisperObject+10)), strings.NewReader("{}"))
	if _, err := decodeAll(t, spaces); !errors.Is(err, ErrWhisperTooLarge) {
		t.Errorf("endless whitespace: %v", err)
	}
	// The cap is per object: many objects together may exceed it.
	one := `{"ID":"x","Addr":"1.2.3.4:5","Body":"` + strings.Repeat("b", MaxWhisperObject/3) + `"}` + "\n"
	got, err := decodeAll(t, strings.NewReader(strings.Repeat(one, 5)))
	if err != nil || len(got) != 5 {
		t.Errorf("five objects of a third of the cap: %d decoded, %v", len(got), err)
	}
	big := &WhisperMessage{ID: "x", Addr: "1.2.3.4:5", Body: strings.Repeat("c", MaxWhisperObject)}
	if _, err := EncodeWhisper(big); !errors.Is(err, ErrWhisperTooLarge) {
		t.Errorf("encoding over the cap: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestWhisperHashedIDs(t *testing.T) {
	// Computed with Python's hashlib over "127.0.0.1:55556hi1795236369".
	const want = "hash:sha256:48c0afdc1715e87ac858be64031470bc72b3a4a556d4da4b38638ae8c873a3b2"
	if got := WhisperHashID("127.0.0.1:55556", "hi", 1795236369); got != want {
		t.Fatalf("WhisperHashID = %s, want %s", got, want)
	}
	m := WhisperMessage{ID: want, Addr: "127.0.0.1:55556", Body: "hi", Timestamp: 1795236369}
	if err := m.CheckHash(); err != nil {
		t.Errorf("matching hash refused: %v", err)
	}
	m.ID = strings.ToUpper(want[len(HashIDPrefix):])
	m.ID = HashIDPrefix + m.ID
	if err := m.CheckHash(); err != nil {
		t.Errorf("upper-case hex refused: %v", err)
	}
	m.Body = "tampered"
	if err := m.CheckHash(); !errors.Is(err, ErrWhisperHash) {
		t.Errorf("tampered body: %v", err)
	}
	for _, opaque := range []string{"hash:md5:abc", "hash:sha512:zz", "1d405e51bf7f6593", ""} {
		m.ID = opaque
		if err := m.CheckHash(); err != nil {
			t.Errorf("ID %q should be opaque: %v", opaque, err)
		}
	}
}

func TestWhisperTimestampUnits(t *testing.T) {
	for ts, want := range map[int64]time.Time{
		0:             {},
		1795238252:    time.Unix(1795238252, 0),
		1795238300123: time.UnixMilli(1795238300123),
		1382050782085: time.UnixMilli(1382050782085),
	} {
		m := WhisperMessage{Timestamp: ts}
		if got := m.Time(); !got.Equal(want) {
			t.Errorf("Timestamp %d: %v, want %v", ts, got, want)
		}
	}
}

func TestWhisperAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:55555":  "127.0.0.1:55555",
		"[::1]:80":         "[::1]:80",
		"127.0.0.1:5555\n": "",
	} {
		got, err := ReadWhisperAnnouncement([]byte(in))
		if want == "" {
			want = strings.TrimSpace(in)
		}
		if err != nil || got != want {
			t.Errorf("announcement %q: %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "localhost:80", "1.2.3.4", "1.2.3.4:0", "0.0.0.0:5", "255.255.255.255:5555", "224.0.0.1:5", "1.2.3.4:70000", strings.Repeat("9", 100)} {
		if _, err := ReadWhisperAnnouncement([]byte(bad)); err == nil {
			t.Errorf("announcement %q accepted", bad)
		}
	}
}
