package messages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MaxWhisperObject caps one JSON object of the whispernet. It leaves room
// for a file of MaxWhisperFile bytes in base64 plus the other keys.
const MaxWhisperObject = 1536 << 10

// MaxWhisperFile caps the decoded size of a file sent over the whispernet.
const MaxWhisperFile = 1 << 20

// HashIDPrefix starts an ID that is the payload's own SHA-256 (the seed's
// "hashed ID" extension).
const HashIDPrefix = "hash:sha256:"

var (
	// ErrWhisperTooLarge is returned for an object over MaxWhisperObject.
	ErrWhisperTooLarge = errors.New("whisper object too large")
	// ErrWhisperSyntax is returned for input that is not a JSON object of
	// the whispernet's shape; the connection it came on is closed.
	ErrWhisperSyntax = errors.New("malformed whisper object")
)

// WhisperMessage is one message of the whispernet (pdxgo/whispering-gophers
// and the seed's extensions).
type WhisperMessage struct {
	ID   string
	Addr string
	Body string
	// Nick is read from "omitempty" (where pdxgo puts it, by a struct tag
	// slip) or else "Nick", and written under both.
	Nick string
	// Timestamp is kept as it came, seconds or milliseconds, because a
	// hashed ID covers its decimal form; Time tells which it is.
	Timestamp int64
	// FileType (a MIME type) and FileContents (base64) carry a file.
	FileType     string
	FileContents string
	// FileName is our own extension: a name the sender suggests. Other
	// programs ignore it as an unknown key.
	FileName string
}

// whisperWire is the JSON shape. encoding/json matches keys
// case-insensitively, as pdxgo does, and ignores unknown ones.
type whisperWire struct {
	ID           string `json:"ID"`
	Addr         string `json:"Addr"`
	Body         string `json:"Body"`
	Nick         string `json:"Nick,omitempty"`
	Omitempty    string `json:"omitempty"`
	Timestamp    int64  `json:"Timestamp"`
	FileType     string `json:"FileType,omitempty"`
	FileContents string `json:"FileContents,omitempty"`
	FileName     string `json:"FileName,omitempty"`
}

// millisecondsAfter separates the two units of Timestamp: a value this large
// in seconds would be past the year 5000, so it must be milliseconds.
const millisecondsAfter = 100_000_000_000

// Time is the message's timestamp, read as seconds or milliseconds; it is
// the zero time when the message has none.
func (m *WhisperMessage) Time() time.Time {
	switch {
	case m.Timestamp == 0:
		return time.Time{}
	case m.Timestamp >= millisecondsAfter || m.Timestamp <= -millisecondsAfter:
		return time.UnixMilli(m.Timestamp)
	default:
		return time.Unix(m.Timestamp, 0)
	}
}

// WhisperHashID is the hashed ID of a payload: sha256 of Addr, Body and the
// decimal Timestamp, concatenated, in lower-case hex.
func WhisperHashID(addr, body string, timestamp int64) string {
	sum := sha256.Sum256([]byte(addr + body + strconv.FormatInt(timestamp, 10)))
	return HashIDPrefix + hex.EncodeToString(sum[:])
}

// ErrWhisperHash is returned for a hashed ID that does not match its payload.
var ErrWhisperHash = errors.New("hashed ID does not match the payload")

// CheckHash verifies a "hash:sha256:" ID against the payload. Other IDs,
// unknown hash names included, are opaque and always pass.
func (m *WhisperMessage) CheckHash() error {
	if !strings.HasPrefix(m.ID, HashIDPrefix) {
		return nil
	}
	if want := WhisperHashID(m.Addr, m.Body, m.Timestamp); !strings.EqualFold(m.ID, want) {
		return fmt.Errorf("ID %q, payload hashes to %q: %w", m.ID, want, ErrWhisperHash)
	}
	return nil
}

// EncodeWhisper writes one object and a newline, as pdxgo does. The nick goes
// under "omitempty" for pdxgo and "Nick" for the seed's readers. Go's
// default HTML-safe escaping is kept: pdxgo writes the same.
func EncodeWhisper(m *WhisperMessage) ([]byte, error) {
	if m.Body == "" {
		// pdxgo indexes Body[0] and crashes on an empty one.
		return nil, fmt.Errorf("whisper message %q: empty Body is never sent", m.ID)
	}
	b, err := json.Marshal(whisperWire{
		ID: m.ID, Addr: m.Addr, Body: m.Body, Nick: m.Nick, Omitempty: m.Nick,
		Timestamp: m.Timestamp, FileType: m.FileType, FileContents: m.FileContents, FileName: m.FileName,
	})
	if err != nil {
		return nil, fmt.Errorf("encode whisper message %q: %w", m.ID, err)
	}
	if len(b) >= MaxWhisperObject {
		return nil, fmt.Errorf("whisper message %q of %d bytes: %w", m.ID, len(b), ErrWhisperTooLarge)
	}
	return append(b, '\n'), nil
}

// WhisperDecoder reads a stream of JSON objects with any whitespace or none
// between them, as the whispernet sends them: no framing, no hello.
type WhisperDecoder struct {
	dec   *json.Decoder
	limit *objectLimit
}

// NewWhisperDecoder reads objects from r, each at most MaxWhisperObject
// bytes.
func NewWhisperDecoder(r io.Reader) *WhisperDecoder {
	l := &objectLimit{r: r, max: MaxWhisperObject}
	d := &WhisperDecoder{dec: json.NewDecoder(l), limit: l}
	l.dec = d.dec
	return d
}

// Decode reads the next message. io.EOF means the stream ended cleanly
// between objects. Any other error leaves the stream unusable: malformed
// JSON, a value that is not an object, a key with the wrong type (a float
// Timestamp, as pdxgo also refuses) or an object over the size cap.
func (d *WhisperDecoder) Decode() (*WhisperMessage, error) {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		case errors.Is(err, ErrWhisperTooLarge):
			return nil, err
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("stream ended inside an object: %w", ErrWhisperSyntax)
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("offset %d: %v: %w", syn.Offset, syn, ErrWhisperSyntax)
		}
		return nil, err
	}
	return ParseWhisper(raw)
}

// ParseWhisper decodes one JSON object.
func ParseWhisper(raw []byte) (*WhisperMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%.40q is not a JSON object: %w", raw, ErrWhisperSyntax)
	}
	if len(raw) > MaxWhisperObject {
		return nil, fmt.Errorf("object of %d bytes: %w", len(raw), ErrWhisperTooLarge)
	}
	var w whisperWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrWhisperSyntax)
	}
	nick := w.Omitempty
	if nick == "" {
		nick = w.Nick
	}
	return &WhisperMessage{
		ID: w.ID, Addr: w.Addr, Body: w.Body, Nick: nick, Timestamp: w.Timestamp,
		FileType: w.FileType, FileContents: w.FileContents, FileName: w.FileName,
	}, nil
}

// objectLimit stops the JSON decoder from buffering more than max bytes past
// the end of the last whole object, so a peer cannot grow our memory with
// one endless object (or endless whitespace).
type objectLimit struct {
	r    io.Reader
	dec  *json.Decoder
	max  int64
	read int64
}

func (l *objectLimit) Read(p []byte) (int, error) {
	allowed := l.dec.InputOffset() + l.max - l.read
	if allowed <= 0 {
		return 0, fmt.Errorf("over %d bytes without the end of an object: %w", l.max, ErrWhisperTooLarge)
	}
	if int64(len(p)) > allowed {
		p = p[:allowed]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// ReadWhisperAnnouncement parses a UDP discovery datagram: "IP:PORT",
// optionally followed by a line break.
func ReadWhisperAnnouncement(b []byte) (string, error) {
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) > 64 {
		return "", fmt.Errorf("announcement of %d bytes: %w", len(b), ErrWhisperSyntax)
	}
	ap, err := ParseWhisperAddr(s)
	if err != nil {
		return "", fmt.Errorf("announcement: %w", err)
	}
	return ap.String(), nil
}

// ErrWhisperAddr is returned for an Addr we would not dial.
var ErrWhisperAddr = errors.New("not a whisper peer address")

// ParseWhisperAddr reads an Addr: an IP (not unspecified, multicast or
// broadcast) and a port from 1 to 65535.
func ParseWhisperAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	switch {
	case err != nil:
		return ap, fmt.Errorf("%.80q: %v: %w", s, err, ErrWhisperAddr)
	case ap.Port() == 0:
		return ap, fmt.Errorf("%q: port 0: %w", s, ErrWhisperAddr)
	case ap.Addr().IsUnspecified(), ap.Addr().IsMulticast(), ap.Addr() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return ap, fmt.Errorf("%q: cannot be dialled: %w", s, ErrWhisperAddr)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
