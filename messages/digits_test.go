package messages

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// digitNow is inside the fixture README's test clock window (1795238500 to
// 4102444799): the T = 1700000000 lines are past, the far-future lines are
// future, and the captured replies of 2026-11-21 are not in the future.
var digitNow = time.Unix(1795238500, 0)

// digitWant is the codec's verdict on one line: accepted when errHas is
// empty, else rejected with an error containing errHas.
type digitWant struct {
	line   int
	errHas string
}

const acc = ""

// digitFixtureCases follow the "robust" column of fixtures/README.md §2, line
// by line, except where the column describes a table decision (noted below).
var digitFixtureCases = []struct {
	file string
	now  time.Time
	want []digitWant
}{
	{"hostile_future_timestamps.csv", digitNow, []digitWant{
		{1, acc},
		{2, acc}, // control
		{3, `bad time "4102444800": after now`},
		{4, `bad time "99999999999": after now`},
		{5, `bad time "1700000000000": after now`}, // milliseconds
		{6, `bad time "9223372036854775807": after now`},
		{7, `bad time "99999999999999999999": overflows int64`},
		{8, `bad time "-5": signed`},
		// README: ACCEPT (harmless). Our issue says "decimal time > 0": a 0
		// is never a real update time, so the codec rejects it.
		{9, `bad time "0": must be > 0`},
	}},
	{"hostile_too_many_lines.csv", digitNow, nil}, // built below: 256 × acc
	{"hostile_oversized_line.csv", digitNow, []digitWant{
		{1, acc},
		{2, `line too long: 70000 bytes`},
		{3, acc}, // the long line is skipped, not the rest of the reply
	}},
	{"hostile_spaces.csv", digitNow, []digitWant{
		{1, acc},
		{2, `bad address " 127.0.0.1:45005": contains whitespace`},
		{3, `bad time " 1700000000": contains whitespace`},
		{4, `bad digit "\t5": contains whitespace`},
		{5, `bad digit "5 ": contains whitespace`},
		{6, `bad address "127.0.0.1 :45020": contains whitespace`},
		{7, acc},
	}},
	{"hostile_crlf.csv", digitNow, []digitWant{{1, acc}, {2, acc}, {3, acc}}},
	{"hostile_bad_digits.csv", digitNow, []digitWant{
		{1, acc},
		{2, `bad digit "10"`},
		{3, `bad digit "-1"`},
		{4, `bad digit "a"`},
		{5, `bad digit "05"`},
		{6, `bad digit "+5"`},
		{7, `bad digit "٥"`}, // U+0665 ARABIC-INDIC DIGIT FIVE
		{8, `bad digit ""`},
		{9, acc},
	}},
	// README: REJECT line 2, but only the table knows which address is its
	// own; the line itself is valid, so the codec accepts it and the table
	// refuses it (gossiper/digits tests that).
	{"hostile_own_address.csv", digitNow, []digitWant{{1, acc}, {2, acc}, {3, acc}}},
	{"hostile_bogus_addresses.csv", digitNow, []digitWant{
		{1, acc},
		{2, `bad address "0.0.0.0:45033": in 0.0.0.0/8`},
		{3, `bad address "255.255.255.255:45034": limited broadcast`},
		{4, `bad address "127.000.000.001:45006": octet "000" has a leading zero`},
		{5, `bad address "127.0.0.1:045025": port "045025" has a leading zero`},
		{6, `bad address "localhost:45007": unexpected character "l"`},
		{7, `bad address "[::1]:45008": unexpected character "["`},
		{8, `bad address "256.0.0.1:45018": octet "256" exceeds 255`},
		{9, `bad address "1.2.3:45040": want a.b.c.d:port`},
		{10, `bad address "127.0.0.1:0": port "0" out of range`},
		{11, `bad address "127.0.0.1:70000": port "70000" out of range`},
		{12, acc}, // 127.0.0.2: loopback tests need all of 127/8
		{13, acc},
	}},
	{"hostile_malformed.csv", digitNow, []digitWant{
		{1, acc},
		{2, `want 3 comma-separated fields, got 4`},
		{3, `bad digit "5x"`},
		{4, `want 3 comma-separated fields, got 4`},
		{5, `want 3 comma-separated fields, got 1`},
		{6, `bad time "": empty`},
		{7, `bad time "1700000000.0": unexpected character "."`},
		{8, `bad time "1.7e9": unexpected character "."`},
		{9, `bad time "6553f100": unexpected character "f"`},
		{10, `bad time "0x6553f100": unexpected character "x"`},
		{11, `want 3 comma-separated fields, got 1`},
		{12, `empty line`},
		{13, `want 3 comma-separated fields, got 1: "Gossiping something adversarial:)"`},
		{14, `bad time "17000\x0000000": unexpected character "\x00"`},
		{15, acc},
	}},
	// README: lines 3 and 7 REJECT, but "not strictly later" is a property
	// of the table, not of the line: each line alone is valid.
	{"hostile_same_ts_conflict.csv", digitNow, []digitWant{
		{1, acc}, {2, acc}, {3, acc}, {4, acc}, {5, acc}, {6, acc}, {7, acc},
	}},
	{"peiliou_reply_3_entries.csv", digitNow, []digitWant{{1, acc}, {2, acc}, {3, acc}}},
	{"pygossip_reply_4_entries_no_final_lf.csv", digitNow, []digitWant{
		{1, acc}, {2, acc}, {3, acc}, {4, acc}, // 4 has no LF: EOF ends it
	}},
	{"pygossip_adversarial_reply.csv", digitNow, []digitWant{
		{1, `want 3 comma-separated fields, got 1: "Gossiping something adversarial:)"`},
	}},
	// Pulled at 1795238111, so now+1 is 1795238112. The same-timestamp
	// spoofs (lines 2, 6, 10) are valid lines: the table refuses them when
	// it already holds that address at that time.
	{"peiliou_adversarial_reply.csv", time.Unix(1795238111, 0), []digitWant{
		{1, `bad time "1795238112": after now (1795238111)`},
		{2, acc},
		{3, `bad address "0.0.0.0:7003": in 0.0.0.0/8`},
		{4, acc}, // 127.0.0.1:9 is valid; dialling it simply fails
		{5, `bad time "1795238112": after now`},
		{6, acc},
		{7, `bad address "0.0.0.0:7001"`},
		{8, acc},
		{9, `bad time "1795238112": after now`},
		{10, acc},
		{11, `bad address "0.0.0.0:7002"`},
		{12, acc},
	}},
}

func init() {
	for i := range digitFixtureCases {
		if digitFixtureCases[i].file == "hostile_too_many_lines.csv" {
			for l := 1; l <= MaxDigitLines; l++ {
				digitFixtureCases[i].want = append(digitFixtureCases[i].want, digitWant{l, acc})
			}
		}
	}
}

func checkDigitLines(t *testing.T, got []DigitLine, want []digitWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d lines, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Line != w.line {
			t.Errorf("result %d: Line = %d, want %d", i, g.Line, w.line)
		}
		switch {
		case w.errHas == acc && g.Err != nil:
			t.Errorf("line %d: rejected (%v), want ACCEPT", w.line, g.Err)
		case w.errHas != acc && g.Err == nil:
			t.Errorf("line %d: accepted %+v, want REJECT with %q", w.line, g.Entry, w.errHas)
		case w.errHas != acc && !strings.Contains(g.Err.Error(), w.errHas):
			t.Errorf("line %d: error %q, want it to contain %q", w.line, g.Err, w.errHas)
		case g.Err != nil && g.Entry != (DigitEntry{}):
			t.Errorf("line %d: rejected line carries entry %+v", w.line, g.Entry)
		}
	}
}

func TestReadDigitReplyFixtures(t *testing.T) {
	for _, tc := range digitFixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ReadDigitReply(bytes.NewReader(readFixture(t, "digits", tc.file)), tc.now)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			checkDigitLines(t, got, tc.want)
		})
	}
}

// TestParseDigitLineFixtures checks ParseDigitLine alone agrees with the
// reader, line by line, for the fixtures small enough to split by hand.
func TestParseDigitLineFixtures(t *testing.T) {
	for _, tc := range digitFixtureCases {
		data := readFixture(t, "digits", tc.file)
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		if len(lines) > MaxDigitLines {
			continue
		}
		t.Run(tc.file, func(t *testing.T) {
			got := make([]DigitLine, len(lines))
			for i, l := range lines {
				e, err := ParseDigitLine(l, tc.now)
				got[i] = DigitLine{Line: i + 1, Entry: e, Err: err}
			}
			checkDigitLines(t, got, tc.want)
		})
	}
}

func TestEveryDigitFixtureIsCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "digits", "*.csv"))
	if err != nil || len(files) != 14 {
		t.Fatalf("found %d digit fixtures (%v), want 14", len(files), err)
	}
	covered := map[string]bool{}
	for _, tc := range digitFixtureCases {
		covered[tc.file] = true
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no expectations", filepath.Base(f))
		}
	}
}

func TestDigitRealReplies(t *testing.T) {
	got, err := ReadDigitReply(bytes.NewReader(readFixture(t, "digits", "peiliou_reply_3_entries.csv")), digitNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []DigitEntry{
		{"127.0.0.1:7001", 1795238075, 1},
		{"127.0.0.1:7002", 1795238075, 2},
		{"127.0.0.1:7003", 1795238075, 3},
	}
	if e := digitEntries(t, got); !reflect.DeepEqual(e, want) {
		t.Errorf("peiliou: %+v, want %+v", e, want)
	}

	got, err = ReadDigitReply(bytes.NewReader(readFixture(t, "digits", "pygossip_reply_4_entries_no_final_lf.csv")), digitNow)
	if err != nil {
		t.Fatal(err)
	}
	want = []DigitEntry{
		{"127.0.0.1:7201", 1795238089, 4},
		{"127.0.0.1:7001", 1795238075, 1},
		{"127.0.0.1:7002", 1795238075, 2},
		{"127.0.0.1:7003", 1795238075, 3},
	}
	if e := digitEntries(t, got); !reflect.DeepEqual(e, want) {
		t.Errorf("pygossip: %+v, want %+v", e, want)
	}
}

func digitEntries(t *testing.T, lines []DigitLine) []DigitEntry {
	t.Helper()
	var out []DigitEntry
	for _, l := range lines {
		if l.Err != nil {
			t.Errorf("line %d: %v", l.Line, l.Err)
			continue
		}
		out = append(out, l.Entry)
	}
	return out
}

// TestReadDigitReplyChunking feeds every fixture through readers that cut
// it at every possible place: the results must not depend on how TCP
// happens to segment the reply.
func TestReadDigitReplyChunking(t *testing.T) {
	for _, tc := range digitFixtureCases {
		data := readFixture(t, "digits", tc.file)
		base, err := ReadDigitReply(bytes.NewReader(data), tc.now)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"one-byte":  iotest.OneByteReader(bytes.NewReader(data)),
			"half":      iotest.HalfReader(bytes.NewReader(data)),
			"data+EOF":  iotest.DataErrReader(bytes.NewReader(data)),
			"0,nil gap": &digitStutterReader{r: bytes.NewReader(data)},
		} {
			got, err := ReadDigitReply(r, tc.now)
			if err != nil {
				t.Errorf("%s/%s: err = %v", tc.file, name, err)
			}
			if !reflect.DeepEqual(digitStrings(got), digitStrings(base)) {
				t.Errorf("%s/%s: results differ from a single read", tc.file, name)
			}
		}
	}
}

// digitStutterReader returns (0, nil) before every real read, which
// io.Reader allows and which must not be mistaken for EOF.
type digitStutterReader struct {
	r    io.Reader
	flip bool
}

func (s *digitStutterReader) Read(p []byte) (int, error) {
	if s.flip = !s.flip; s.flip {
		return 0, nil
	}
	return s.r.Read(p)
}

func digitStrings(lines []DigitLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("%d %+v %v", l.Line, l.Entry, l.Err)
	}
	return out
}

// digitTimeoutReader hands out data in small pieces, then fails the way a
// net.Conn with an expired deadline does.
type digitTimeoutReader struct {
	data []byte
	err  error
}

func (r *digitTimeoutReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data[:min(len(r.data), 10)])
	r.data = r.data[n:]
	return n, nil
}

func TestReadDigitReplyTimeoutKeepsWhatCameBefore(t *testing.T) {
	timeout := fmt.Errorf("read tcp 127.0.0.1:7201: %w", os.ErrDeadlineExceeded)
	r := &digitTimeoutReader{
		data: []byte("127.0.0.1:7201,1795238089,4\nnot a line\n127.0.0.1:7003,1795238075,3"),
		err:  timeout,
	}
	got, err := ReadDigitReply(r, digitNow)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v, want the deadline error", err)
	}
	checkDigitLines(t, got, []digitWant{{1, acc}, {2, "want 3 comma-separated fields"}, {3, acc}})
	if len(got) == 3 && got[2].Entry != (DigitEntry{"127.0.0.1:7003", 1795238075, 3}) {
		t.Errorf("unterminated last line = %+v", got[2].Entry)
	}
}

// TestReadDigitReplyPygossipOverPipe replays Pygossip's behaviour on a real
// connection: no final LF and the socket left open, so only the deadline
// ends the reply.
func TestReadDigitReplyPygossipOverPipe(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	data := readFixture(t, "digits", "pygossip_reply_4_entries_no_final_lf.csv")
	go func() { _, _ = server.Write(data) }()
	if err := client.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDigitReply(client, digitNow)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if e := digitEntries(t, got); len(e) != 4 || e[3].Addr != "127.0.0.1:7003" {
		t.Errorf("entries = %+v, want 4 ending with 127.0.0.1:7003", e)
	}
}

func TestReadDigitReplyCutLineAtErrorIsStillParsed(t *testing.T) {
	// A line cut inside its digit field has an empty digit: a truncated
	// reply can lose a line but never invent one.
	r := &digitTimeoutReader{data: []byte("127.0.0.1:7201,1795238089,"), err: io.ErrUnexpectedEOF}
	got, err := ReadDigitReply(r, digitNow)
	if err != io.ErrUnexpectedEOF {
		t.Errorf("err = %v", err)
	}
	checkDigitLines(t, got, []digitWant{{1, `bad digit ""`}})
}

// digitCountingReader serves a generated reply and counts what was taken.
type digitCountingReader struct {
	next  func(p []byte) (int, error)
	taken int
	reads int
}

func (c *digitCountingReader) Read(p []byte) (int, error) {
	n, err := c.next(p)
	c.taken += n
	c.reads++
	return n, err
}

func TestReadDigitReply65536LinesReadsOnlyWhatItUses(t *testing.T) {
	var reply []byte
	for k := range 65536 {
		reply = AppendDigitLine(reply, DigitEntry{
			Addr:  "10." + strconv.Itoa(k>>8) + "." + strconv.Itoa(k&255) + ".1:6410",
			Time:  1700000000,
			Digit: uint8(k % 10),
		})
	}
	src := bytes.NewReader(reply)
	cr := &digitCountingReader{next: src.Read}
	got, err := ReadDigitReply(cr, digitNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxDigitLines {
		t.Fatalf("got %d lines, want %d", len(got), MaxDigitLines)
	}
	for _, l := range got {
		if l.Err != nil {
			t.Fatalf("line %d: %v", l.Line, l.Err)
		}
	}
	if got[255].Entry.Addr != "10.0.255.1:6410" {
		t.Errorf("line 256 = %+v", got[255].Entry)
	}
	used := len(FormatDigitTable(digitEntries(t, got)))
	if limit := used + digitReadBuf; cr.taken > limit {
		t.Errorf("read %d bytes for %d used, want at most %d", cr.taken, used, limit)
	}
	t.Logf("used %d bytes, read %d of %d", used, cr.taken, len(reply))
}

func TestReadDigitReplyEndlessLineIsBounded(t *testing.T) {
	cr := &digitCountingReader{next: func(p []byte) (int, error) {
		for i := range p {
			p[i] = '9'
		}
		return len(p), nil
	}}
	done := make(chan struct{})
	var got []DigitLine
	var err error
	go func() {
		defer close(done)
		got, err = ReadDigitReply(cr, digitNow)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReadDigitReply did not return on an endless line")
	}
	if err != nil {
		t.Errorf("err = %v", err)
	}
	if cr.taken != MaxDigitReplyBytes {
		t.Errorf("read %d bytes, want exactly MaxDigitReplyBytes = %d", cr.taken, MaxDigitReplyBytes)
	}
	checkDigitLines(t, got, []digitWant{{1, fmt.Sprintf("line too long: %d bytes", MaxDigitReplyBytes)}})
	if !errors.Is(got[0].Err, ErrDigitTooLong) {
		t.Errorf("error %v is not ErrDigitTooLong", got[0].Err)
	}
}

func TestReadDigitReplyByteLimitCutsAShortLine(t *testing.T) {
	line := "127.0.0.1:7001,1795238075,1\n"
	for _, cut := range []int{10, 0} {
		// One over-long line eats most of the budget, so that the cap is
		// reached long before the 256-line limit, `cut` bytes into line 5.
		long := strings.Repeat("x", MaxDigitReplyBytes-3*len(line)-cut-1) + "\n"
		reply := long + strings.Repeat(line, 10)
		got, err := ReadDigitReply(strings.NewReader(reply), digitNow)
		if err != nil {
			t.Fatal(err)
		}
		want := []digitWant{{1, "line too long"}, {2, acc}, {3, acc}, {4, acc}}
		if cut > 0 {
			// The peer was still sending: a cut line is known incomplete,
			// unlike an unterminated line at EOF.
			want = append(want, digitWant{5, `line cut at the 1048576-byte reply limit: "127.0.0.1:"`})
		}
		checkDigitLines(t, got, want)
	}
}

func TestReadDigitReplyLineLengthLimit(t *testing.T) {
	// 64 bytes reach the parser (and fail there for another reason); 65 do
	// not. The same holds with the LF missing at EOF.
	l64 := strings.Repeat("1", MaxDigitLineLen)
	l65 := l64 + "1"
	for _, tail := range []string{"\n", ""} {
		got, err := ReadDigitReply(strings.NewReader(l64+"\n"+l65+tail), digitNow)
		if err != nil {
			t.Fatal(err)
		}
		checkDigitLines(t, got, []digitWant{
			{1, "want 3 comma-separated fields"},
			{2, "line too long: 65 bytes (limit 64)"},
		})
	}
	// The longest valid line, with CR, is 44 bytes.
	longest := "255.255.255.254:65535,1795238500,9\r"
	e, err := ParseDigitLine([]byte(longest), digitNow)
	if err != nil || e.Addr != "255.255.255.254:65535" {
		t.Errorf("longest line: %+v, %v", e, err)
	}
}

func TestReadDigitReplyEmptyLinesCount(t *testing.T) {
	reply := strings.Repeat("\n", 300) + "127.0.0.1:7001,1795238075,1\n"
	got, err := ReadDigitReply(strings.NewReader(reply), digitNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxDigitLines {
		t.Fatalf("got %d lines, want %d", len(got), MaxDigitLines)
	}
	for _, l := range got {
		if l.Err == nil || !strings.Contains(l.Err.Error(), "empty line") {
			t.Fatalf("line %d: %v", l.Line, l.Err)
		}
	}
}

func TestReadDigitReplyEmptyReply(t *testing.T) {
	got, err := ReadDigitReply(strings.NewReader(""), digitNow)
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestReadDigitReplyStuckReader(t *testing.T) {
	cr := &digitCountingReader{next: func([]byte) (int, error) { return 0, nil }}
	got, err := ReadDigitReply(cr, digitNow)
	if err != io.ErrNoProgress || len(got) != 0 {
		t.Errorf("got %v, %v; want io.ErrNoProgress", got, err)
	}
	if cr.reads > 1000 {
		t.Errorf("%d reads", cr.reads)
	}
}

func TestParseDigitLineClock(t *testing.T) {
	now := digitNow.Unix()
	for _, c := range []struct {
		ts     int64
		accept bool
	}{
		{now, true},
		{now - 1, true},
		{1, true},
		{now + 1, false}, // the "+1 s" case the README cannot store as data
		{now + 3600, false},
	} {
		line := fmt.Sprintf("127.0.0.1:7001,%d,5", c.ts)
		e, err := ParseDigitLine([]byte(line), digitNow)
		if c.accept != (err == nil) {
			t.Errorf("%s: err = %v, want accept=%v", line, err, c.accept)
		}
		if !c.accept && !errors.Is(err, ErrDigitFuture) {
			t.Errorf("%s: %v is not ErrDigitFuture", line, err)
		}
		if c.accept && e.Time != c.ts {
			t.Errorf("%s: Time = %d", line, e.Time)
		}
	}
	// A sub-second clock must not let the next second in early.
	if _, err := ParseDigitLine([]byte(fmt.Sprintf("127.0.0.1:7001,%d,5", now+1)), digitNow.Add(999*time.Millisecond)); err == nil {
		t.Error("accepted now+1 at now+0.999s")
	}
}

func TestParseDigitLineMore(t *testing.T) {
	for _, c := range []struct {
		line, errHas string
	}{
		{"127.0.0.1:7001,1700000000,5\r", acc},
		{"127.0.0.1:7001,1700000000,5\r\r", `bad digit "5\r": contains whitespace`},
		{"127.0.0.1:7001,1,0", acc},
		{"127.0.0.1:7001,01700000000,5", `bad time "01700000000": leading zero`},
		{"127.0.0.1:7001,+1700000000,5", `bad time "+1700000000": signed`},
		{"127.0.0.1:7001,9223372036854775808,5", `overflows int64`},
		{"127.0.0.1:7001,1700000000,٥", `bad digit "٥"`},
		{"224.0.0.1:7001,1700000000,5", `bad address "224.0.0.1:7001": multicast`},
		{"\r", `empty line`},
		{"", `empty line`},
		{",,", `bad address "": empty`},
		{"127.0.0.1:7001,1700000000", `want 3 comma-separated fields, got 2`},
		{"127.0.0.1:7001,1700000000,5,,,", `got 6`},
		{"127.0.0.1:7001,1700000000,5\x00", `bad digit "5\x00"`},
	} {
		_, err := ParseDigitLine([]byte(c.line), digitNow)
		switch {
		case c.errHas == acc && err != nil:
			t.Errorf("%q: %v", c.line, err)
		case c.errHas != acc && (err == nil || !strings.Contains(err.Error(), c.errHas)):
			t.Errorf("%q: err = %v, want %q", c.line, err, c.errHas)
		case err != nil && !errors.Is(err, ErrDigitSyntax):
			t.Errorf("%q: %v is not ErrDigitSyntax", c.line, err)
		}
	}
}

func TestParseDigitAddr(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1:7001",
		"127.0.0.2:1",
		"1.0.0.0:65535",
		"10.0.0.0:80",
		"128.84.213.13:5678",
		"223.255.255.255:6410",
		"255.255.255.254:6410",
		"192.168.0.255:6410", // may be a subnet broadcast, but only the owner of the subnet knows
	} {
		got, err := ParseDigitAddr(s)
		if err != nil || got != s {
			t.Errorf("%q: got %q, %v", s, got, err)
		}
	}
	for _, c := range []struct{ s, errHas string }{
		{"", "empty"},
		{"0.0.0.0:6410", "0.0.0.0/8"},
		{"0.1.2.3:6410", "0.0.0.0/8"},
		{"255.255.255.255:6410", "limited broadcast"},
		{"224.0.0.1:6410", "multicast"},
		{"239.255.255.255:6410", "multicast"},
		{"127.000.000.001:6410", `octet "000" has a leading zero`},
		{"01.2.3.4:6410", `octet "01" has a leading zero`},
		{"1.2.3.0004:6410", `octet "0004" exceeds 255`},
		{"1.2.3.256:6410", `octet "256" exceeds 255`},
		{"1.2.3.4:0", `port "0" out of range`},
		{"1.2.3.4:65536", `port "65536" out of range`},
		{"1.2.3.4:99999999999999999999", `out of range`},
		{"1.2.3.4:06410", `port "06410" has a leading zero`},
		{"1.2.3.4:+6410", `unexpected character "+"`},
		{"1.2.3.4:-1", `unexpected character "-"`},
		{"1.2.3.4", "want a.b.c.d:port"},
		{"1.2.3.4:", "missing port"},
		{":6410", "want a.b.c.d:port"},
		{"1.2.3:6410", "want a.b.c.d:port"},
		{"1.2.3.4.5:6410", "want a.b.c.d:port"},
		{"1..3.4:6410", "want a.b.c.d:port"},
		{".1.2.3.4:6410", "want a.b.c.d:port"},
		{"1.2.3.4:6410:1", "want a.b.c.d:port"},
		{"1.2.3.4::6410", "want a.b.c.d:port"},
		{"localhost:6410", `unexpected character "l"`},
		{"[::1]:6410", `unexpected character "["`},
		{"::ffff:1.2.3.4:6410", `unexpected character "f"`},
		{"::1.2.3.4:6410", "want a.b.c.d:port"},
		{" 1.2.3.4:6410", "contains whitespace"},
		{"1.2.3.4:6410 ", "contains whitespace"},
		{"1.2.3.4:6410\n", "contains whitespace"},
		{"+1.2.3.4:6410", `unexpected character "+"`}, // the console strips the '+'
		{"１.2.3.4:6410", `unexpected character "\xef"`},
	} {
		got, err := ParseDigitAddr(c.s)
		if err == nil || got != "" {
			t.Errorf("%q: accepted as %q", c.s, got)
			continue
		}
		if !strings.Contains(err.Error(), c.errHas) || !strings.Contains(err.Error(), strconv.Quote(c.s)) {
			t.Errorf("%q: err = %v, want it to quote the address and say %q", c.s, err, c.errHas)
		}
	}
}

func TestFormatDigitTableSeedExample(t *testing.T) {
	// The reply from the example in seeds/000.
	entries := []DigitEntry{
		{"128.84.213.13:5678", 1630281124, 1},
		{"128.84.213.43:9876", 1630282312, 7},
	}
	want := "128.84.213.13:5678,1630281124,1\n128.84.213.43:9876,1630282312,7\n"
	if got := string(FormatDigitTable(entries)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := FormatDigitTable(nil); len(got) != 0 {
		t.Errorf("empty table formats as %q", got)
	}
	if got := string(AppendDigitLine([]byte("x"), entries[1])); got != "x128.84.213.43:9876,1630282312,7\n" {
		t.Errorf("AppendDigitLine = %q", got)
	}
}

func TestFormatDigitTableRoundTrip(t *testing.T) {
	for _, file := range []string{"peiliou_reply_3_entries.csv", "hostile_crlf.csv", "hostile_too_many_lines.csv"} {
		lines, err := ReadDigitReply(bytes.NewReader(readFixture(t, "digits", file)), digitNow)
		if err != nil {
			t.Fatal(err)
		}
		entries := digitEntries(t, lines)
		again, err := ReadDigitReply(bytes.NewReader(FormatDigitTable(entries)), digitNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := digitEntries(t, again); !reflect.DeepEqual(got, entries) {
			t.Errorf("%s: round trip changed the entries", file)
		}
	}
	// A reply we format from a real capture is byte-identical to it.
	data := readFixture(t, "digits", "peiliou_reply_3_entries.csv")
	lines, _ := ReadDigitReply(bytes.NewReader(data), digitNow)
	if got := FormatDigitTable(digitEntries(t, lines)); !bytes.Equal(got, data) {
		t.Errorf("reformatted peiliou reply:\n%q\nwant\n%q", got, data)
	}
}

func TestParseDigitLineAllocatesOnlyTheAddress(t *testing.T) {
	line := []byte("127.0.0.1:7001,1795238075,1")
	n := testing.AllocsPerRun(1000, func() {
		if _, err := ParseDigitLine(line, digitNow); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 {
		t.Errorf("%v allocations per line, want at most 1", n)
	}
}

func BenchmarkReadDigitReply(b *testing.B) {
	var reply []byte
	for k := range MaxDigitLines {
		reply = AppendDigitLine(reply, DigitEntry{
			Addr:  "127.0.0.1:" + strconv.Itoa(40000+k),
			Time:  1795238075,
			Digit: uint8(k % 10),
		})
	}
	r := bytes.NewReader(reply)
	b.SetBytes(int64(len(reply)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(reply)
		lines, err := ReadDigitReply(r, digitNow)
		if err != nil || len(lines) != MaxDigitLines {
			b.Fatal(len(lines), err)
		}
	}
}

func BenchmarkFormatDigitTable(b *testing.B) {
	entries := make([]DigitEntry, 10000)
	for k := range entries {
		entries[k] = DigitEntry{
			Addr:  fmt.Sprintf("10.%d.%d.1:%d", k>>8, k&255, 6410+k),
			Time:  1795238075 + int64(k),
			Digit: uint8(k % 10),
		}
	}
	b.SetBytes(int64(len(FormatDigitTable(entries))))
	b.ReportAllocs()
	for b.Loop() {
		FormatDigitTable(entries)
	}
}
