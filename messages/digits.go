package messages

// Codec of the digit gossip protocol (seeds/000): a puller connects and sends
// nothing, the server writes one "a.b.c.d:port,unix_seconds,digit" line per
// table entry and closes. Real peers accepted aliases (zero-padded octets and
// ports), broadcast addresses, signs and whitespace, which let a hostile peer
// plant entries nobody can dial or overwrite; so the grammar here is exact and
// every accepted line has exactly one spelling.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DigitEntry is one line of a digit table.
type DigitEntry struct {
	Addr  string `json:"addr"`  // canonical "a.b.c.d:port"
	Time  int64  `json:"time"`  // Unix seconds of the originator's update
	Digit uint8  `json:"digit"` // 0..9
}

const (
	MaxDigitLines      = 256     // only the first 256 lines of a reply count
	MaxDigitLineLen    = 64      // longer lines are rejected (a valid one is at most 44 bytes with CR)
	MaxDigitReplyBytes = 1 << 20 // reading stops here whatever happens
)

// Kinds of rejection, for errors.Is: a caller may want to log a peer whose
// clock runs ahead differently from one that sends garbage.
var (
	ErrDigitSyntax  = errors.New("malformed digit line")
	ErrDigitFuture  = errors.New("digit line time is in the future")
	ErrDigitTooLong = errors.New("digit line too long")
)

// digitError keeps the message free of the sentinel's text while still
// unwrapping to it.
type digitError struct {
	msg  string
	kind error
}

func (e *digitError) Error() string { return e.msg }
func (e *digitError) Unwrap() error { return e.kind }

func digitSyntaxf(format string, args ...any) error {
	return &digitError{msg: fmt.Sprintf(format, args...), kind: ErrDigitSyntax}
}

// digitReadBuf bounds what ReadDigitReply pulls from the peer beyond the
// lines it uses; it must exceed MaxDigitLineLen+1 so that a whole line of
// the maximal length always fits after compaction.
const digitReadBuf = 4096

// digitMaxEmptyReads mirrors bufio: a reader that keeps returning (0, nil)
// is broken, and looping on it would spin a core.
const digitMaxEmptyReads = 100

// ParseDigitLine parses one line without its LF; one trailing CR is stripped.
// now is the receiver's clock: a time after now is rejected as future.
func ParseDigitLine(line []byte, now time.Time) (DigitEntry, error) {
	return parseDigitLine(line, now.Unix())
}

func parseDigitLine(line []byte, now int64) (DigitEntry, error) {
	if len(line) > MaxDigitLineLen {
		return DigitEntry{}, &digitError{
			msg:  fmt.Sprintf("line too long: %d bytes (limit %d)", len(line), MaxDigitLineLen),
			kind: ErrDigitTooLong,
		}
	}
	// Windows-style peers end lines with CRLF; only one CR, so that "x\r\r"
	// still fails instead of being silently cleaned twice.
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return DigitEntry{}, digitSyntaxf("empty line")
	}
	c1 := bytes.IndexByte(line, ',')
	if c1 < 0 {
		return DigitEntry{}, digitSyntaxf("want 3 comma-separated fields, got 1: %q", line)
	}
	c2 := bytes.IndexByte(line[c1+1:], ',')
	if c2 < 0 {
		return DigitEntry{}, digitSyntaxf("want 3 comma-separated fields, got 2: %q", line)
	}
	c2 += c1 + 1
	if n := bytes.Count(line[c2+1:], []byte{','}); n > 0 {
		return DigitEntry{}, digitSyntaxf("want 3 comma-separated fields, got %d: %q", 3+n, line)
	}
	addrF, timeF, digitF := line[:c1], line[c1+1:c2], line[c2+1:]

	if err := checkDigitAddr(addrF); err != nil {
		return DigitEntry{}, err
	}
	ts, err := parseDigitTime(timeF, now)
	if err != nil {
		return DigitEntry{}, err
	}
	if len(digitF) != 1 || !digitIsDec(digitF[0]) {
		reason := "want one ASCII digit 0-9"
		if bytes.ContainsFunc(digitF, func(r rune) bool { return r < 0x80 && digitIsSpace(byte(r)) }) {
			reason = "contains whitespace"
		}
		return DigitEntry{}, digitSyntaxf("bad digit %q: %s", digitF, reason)
	}
	// The address is the only allocation: the rest are value fields.
	return DigitEntry{Addr: string(addrF), Time: ts, Digit: digitF[0] - '0'}, nil
}

// ParseDigitAddr checks an address with the same strict grammar (used for flags/console "+ip:port").
func ParseDigitAddr(s string) (string, error) {
	if err := checkDigitAddr(s); err != nil {
		return "", err
	}
	// Accepted addresses are already canonical, so s is its own normal form.
	return s, nil
}

func digitIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// digitBadChar names the first byte of s outside allowed, or returns "".
// Whitespace gets its own wording because it is what real peers tolerated
// and what a human reading the log will be looking for.
func digitBadChar[T string | []byte](s T, allowed func(byte) bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if allowed(c) {
			continue
		}
		if digitIsSpace(c) {
			return "contains whitespace"
		}
		return fmt.Sprintf("unexpected character %q", string(s[i:i+1]))
	}
	return ""
}

func digitIsDec(c byte) bool      { return '0' <= c && c <= '9' }
func digitIsAddrByte(c byte) bool { return digitIsDec(c) || c == '.' || c == ':' }
func digitAddrErr(s any, reason string) error {
	return digitSyntaxf("bad address %q: %s", s, reason)
}

// checkDigitAddr accepts only the canonical dotted quad with a port, so that
// one node has one spelling and a table keyed by the string cannot hold two
// entries (two digits) for the same socket.
func checkDigitAddr[T string | []byte](s T) error {
	if len(s) == 0 {
		return digitAddrErr(s, "empty")
	}
	if r := digitBadChar(s, digitIsAddrByte); r != "" {
		return digitAddrErr(s, r)
	}
	var oct [4]int
	i := 0
	for k := range 4 {
		start := i
		for i < len(s) && digitIsDec(s[i]) {
			i++
		}
		f := s[start:i]
		switch {
		case len(f) == 0:
			return digitAddrErr(s, "want a.b.c.d:port")
		case len(f) > 3:
			return digitAddrErr(s, fmt.Sprintf("octet %q exceeds 255", f))
		case len(f) > 1 && f[0] == '0':
			return digitAddrErr(s, fmt.Sprintf("octet %q has a leading zero", f))
		}
		v := 0
		for j := 0; j < len(f); j++ {
			v = v*10 + int(f[j]-'0')
		}
		if v > 255 {
			return digitAddrErr(s, fmt.Sprintf("octet %q exceeds 255", f))
		}
		oct[k] = v
		want := byte('.')
		if k == 3 {
			want = ':'
		}
		if i >= len(s) || s[i] != want {
			return digitAddrErr(s, "want a.b.c.d:port")
		}
		i++
	}
	p := s[i:]
	for j := 0; j < len(p); j++ {
		if !digitIsDec(p[j]) { // a second ':' or a '.' lands here
			return digitAddrErr(s, "want a.b.c.d:port")
		}
	}
	switch {
	case len(p) == 0:
		return digitAddrErr(s, "missing port")
	case len(p) > 1 && p[0] == '0':
		return digitAddrErr(s, fmt.Sprintf("port %q has a leading zero", p))
	case len(p) > 5:
		return digitAddrErr(s, fmt.Sprintf("port %q out of range 1-65535", p))
	}
	port := 0
	for j := 0; j < len(p); j++ {
		port = port*10 + int(p[j]-'0')
	}
	if port < 1 || port > 65535 {
		return digitAddrErr(s, fmt.Sprintf("port %q out of range 1-65535", p))
	}
	// None of these can be dialled as a peer; storing them would only make
	// every node waste gossip rounds on them.
	switch {
	case oct[0] == 0:
		return digitAddrErr(s, "in 0.0.0.0/8 (unspecified, this network)")
	case oct == [4]int{255, 255, 255, 255}:
		return digitAddrErr(s, "limited broadcast address")
	case oct[0] >= 224 && oct[0] <= 239:
		return digitAddrErr(s, "multicast address (224.0.0.0/4)")
	}
	return nil
}

func parseDigitTime(f []byte, now int64) (int64, error) {
	bad := func(reason string) error {
		return digitSyntaxf("bad time %q: %s", f, reason)
	}
	switch {
	case len(f) == 0:
		return 0, bad("empty")
	case f[0] == '+' || f[0] == '-':
		return 0, bad("signed")
	}
	if r := digitBadChar(f, digitIsDec); r != "" {
		return 0, bad(r)
	}
	if len(f) > 1 && f[0] == '0' {
		return 0, bad("leading zero")
	}
	var v int64
	for _, c := range f {
		d := int64(c - '0')
		if v > (1<<63-1-d)/10 {
			return 0, bad("overflows int64")
		}
		v = v*10 + d
	}
	// The fixture README calls ts 0 harmless, but the protocol's times are
	// real update times ("decimal time > 0" in our issue), and a 0 can only
	// come from a bug or a probe; rejecting it costs no honest peer anything.
	if v == 0 {
		return 0, bad("must be > 0")
	}
	if v > now {
		return 0, &digitError{
			msg:  fmt.Sprintf("bad time %q: after now (%d)", f, now),
			kind: ErrDigitFuture,
		}
	}
	return v, nil
}

// AppendDigitLine appends "addr,time,digit\n".
func AppendDigitLine(b []byte, e DigitEntry) []byte {
	b = append(b, e.Addr...)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Time, 10)
	b = append(b, ',')
	// AppendUint rather than '0'+Digit: an out-of-range digit (a bug) then
	// shows up as "12" that every receiver rejects, not as some punctuation.
	b = strconv.AppendUint(b, uint64(e.Digit), 10)
	return append(b, '\n')
}

// FormatDigitTable formats entries in the given order, LF after every line (also the last).
func FormatDigitTable(entries []DigitEntry) []byte {
	n := 0
	for i := range entries {
		// addr + ',' + time (≤ 20) + ',' + digit + LF
		n += len(entries[i].Addr) + 24
	}
	b := make([]byte, 0, n)
	for i := range entries {
		b = AppendDigitLine(b, entries[i])
	}
	return b
}

// DigitLine is the outcome of one line of a reply; Line counts from 1.
type DigitLine struct {
	Line  int
	Entry DigitEntry
	Err   error
}

// ReadDigitReply reads a reply from r until EOF, MaxDigitLines lines, or MaxDigitReplyBytes,
// and returns one DigitLine per line read (bad lines carry Err; they never spoil the others).
// A line longer than MaxDigitLineLen is rejected with bounded memory: the rest of it is
// discarded up to its LF and it counts as one line. A last line without LF is accepted when
// the reader ends (EOF or any read error such as a deadline: Pygossip leaves the socket open
// without a final LF; a truncated line can never parse as valid because the digit is last).
// The returned error is the read error that ended the reply, if any other than EOF
// (results read before it are still returned).
//
// A line cut by MaxDigitReplyBytes itself is rejected rather than accepted:
// the peer was still sending, so it is known to be incomplete.
func ReadDigitReply(r io.Reader, now time.Time) ([]DigitLine, error) {
	nowUnix := now.Unix()
	buf := make([]byte, digitReadBuf)
	var (
		out        []DigitLine
		start, end int   // unprocessed bytes are buf[start:end]
		total      int   // bytes taken from r, capped by MaxDigitReplyBytes
		longLen    int   // >0 while discarding an over-long line: its length so far
		empties    int   // consecutive (0, nil) reads
		readErr    error // what ended the reply
	)
	emit := func(e DigitEntry, err error) {
		out = append(out, DigitLine{Line: len(out) + 1, Entry: e, Err: err})
	}
	tooLong := func(n int) error {
		return &digitError{
			msg:  fmt.Sprintf("line too long: %d bytes (limit %d)", n, MaxDigitLineLen),
			kind: ErrDigitTooLong,
		}
	}
	for {
		// Hand out every complete line already buffered.
		for len(out) < MaxDigitLines {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			if longLen > 0 {
				emit(DigitEntry{}, tooLong(longLen+i))
				longLen = 0
			} else {
				emit(parseDigitLine(buf[start:start+i], nowUnix))
			}
			start += i + 1
		}
		if len(out) >= MaxDigitLines {
			return out, nil
		}
		// No LF in buf[start:end]: keep at most one line's worth of it.
		if pending := end - start; longLen > 0 {
			longLen += pending
			start, end = 0, 0
		} else if pending > MaxDigitLineLen {
			longLen = pending
			start, end = 0, 0
		} else {
			copy(buf, buf[start:end])
			start, end = 0, pending
		}

		if readErr != nil || total >= MaxDigitReplyBytes {
			break
		}
		want := min(len(buf)-end, MaxDigitReplyBytes-total)
		n, err := r.Read(buf[end : end+want])
		if n < 0 || n > want {
			// A broken reader must not make us index out of range.
			n, err = 0, fmt.Errorf("digit reply: reader returned %d bytes for a %d-byte buffer", n, want)
		}
		end += n
		total += n
		switch {
		case err != nil:
			readErr = err // process the n bytes first, as io.Reader asks
		case n == 0:
			if empties++; empties >= digitMaxEmptyReads {
				readErr = io.ErrNoProgress
			}
		default:
			empties = 0
		}
	}

	// The reply has ended with an unterminated line.
	switch cut := readErr == nil; {
	case longLen > 0:
		emit(DigitEntry{}, tooLong(longLen))
	case end > start && cut:
		emit(DigitEntry{}, digitSyntaxf("line cut at the %d-byte reply limit: %q", MaxDigitReplyBytes, buf[start:end]))
	case end > start:
		emit(parseDigitLine(buf[start:end], nowUnix))
	}
	if readErr == io.EOF {
		readErr = nil
	}
	return out, readErr
}
