package peerster

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/peerster-chat/Peerster/messages"
)

// The stdout lines of the handout, spelled exactly as the course scripts and
// 2018 implementations print them. Every field a peer or client chose goes
// through printable, so that a text with a line break cannot forge protocol
// lines that scripts grep for.

// printable escapes control characters, line separators and invalid UTF-8
// Go-style (\n, \x1b, \u2028); other text, tabs included, is unchanged.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case isInvalidAt(s, i):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case needsEscape(r) && r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		case needsEscape(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isInvalidAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size == 1
}

func needsEscape(r rune) bool {
	return r == utf8.RuneError || (unicode.IsControl(r) && r != '\t') || r == '\u2028' || r == '\u2029'
}

func clientLine(text string) string { return "CLIENT MESSAGE " + printable(text) }

func simpleLine(m *messages.SimpleMessage, relay string) string {
	return "SIMPLE MESSAGE origin " + printable(m.OriginalName) + " from " + relay + " contents " + printable(m.Contents)
}

func rumorLine(r *messages.RumorMessage, from netip.AddrPort) string {
	return "RUMOR origin " + printable(r.Origin) + " from " + from.String() + " ID " +
		strconv.FormatUint(uint64(r.ID), 10) + " contents " + printable(r.Text)
}

func mongeringLine(to netip.AddrPort) string { return "MONGERING with " + to.String() }

// statusLine keeps the peer's entry order. An empty status prints a trailing
// space, as every 2018 implementation did.
func statusLine(from netip.AddrPort, s *messages.StatusPacket) string {
	var b strings.Builder
	b.Grow(16 + 24*len(s.Want))
	b.WriteString("STATUS from ")
	b.WriteString(from.String())
	b.WriteByte(' ')
	for i, ps := range s.Want {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("peer ")
		b.WriteString(printable(ps.Identifier))
		b.WriteString(" nextID ")
		b.WriteString(strconv.FormatUint(uint64(ps.NextID), 10))
	}
	return b.String()
}

func flippedLine(to netip.AddrPort) string { return "FLIPPED COIN sending rumor to " + to.String() }

func inSyncLine(with netip.AddrPort) string { return "IN SYNC WITH " + with.String() }

func peersLine(p *peerList) string { return p.line() }
