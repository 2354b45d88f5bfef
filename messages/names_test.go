package messages

import "testing"

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
