package gossiper

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every field of a stdout line that a peer or client chose goes through
// Printable, so that a text with a line break cannot forge protocol lines
// that scripts grep for.

// Printable escapes control characters, line separators and invalid UTF-8
// Go-style (\n, \x1b, \u2028); other text, tabs included, is unchanged.
func Printable(s string) string {
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
