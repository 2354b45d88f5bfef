package peerster

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
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckNameRefusesWhatWouldGarbleStatusLines(t *testing.T) {
	for _, ok := range []string{"A", "nodeB", "Élodie", "0b3e-uuid"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "x\nCLIENT MESSAGE forged", "tab\there", "nul\x00"} {
		if CheckName(bad) == nil {
			t.Errorf("CheckName(%q) accepted", bad)
		}
	}
}
