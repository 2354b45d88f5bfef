package implflag

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "gossiper")
	cli := filepath.Join(dir, "client")
	for _, p := range []string{exe, cli} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	im, err := Parse("nt1m=" + exe + "," + cli + ",cd")
	if err != nil || im.Name != "nt1m" || im.Gossiper != exe || im.Client != cli || !im.Chdir {
		t.Fatalf("Parse = %+v, %v", im, err)
	}
	for _, bad := range []string{"nt1m", "=" + exe, "nt1m=" + exe, "nt1m=" + dir + "," + cli, "nt1m=" + exe + "," + cli + ",x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	var l List
	if err := l.Set("a=" + exe + "," + cli); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("a=" + exe + "," + cli); err == nil {
		t.Error("the same name accepted twice")
	}
}
