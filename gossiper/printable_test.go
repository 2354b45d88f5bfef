package gossiper

import "testing"

func TestPrintableEscapesWhatCouldForgeALine(t *testing.T) {
	cases := map[string]string{
		"Weather_is_clear":          "Weather_is_clear",
		"Let's go\tskiing? é 日本":    "Let's go\tskiing? é 日本",
		"hi\nCLIENT MESSAGE forged": `hi\nCLIENT MESSAGE forged`,
		"a\rb":                      `a\rb`,
		"bell\x07esc\x1b[31m":       `bell\x07esc\x1b[31m`,
		"nul\x00del\x7f":            `nul\x00del\x7f`,
		"c1\u0085ls\u2028ps\u2029":  `c1\u0085ls\u2028ps\u2029`,
		"bad\xffutf8\xc3":           `bad\xffutf8\xc3`,
		"":                          "",
	}
	for in, want := range cases {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
