package messages

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The captured bytes of each protocol live in testdata/<protocol>/, copied
// from ../shared/fixtures.

// readFixture reads a fixture exactly as it crossed the socket.
func readFixture(t testing.TB, protocol, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", protocol, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readHexFixture decodes a .hex fixture: one packet, lower-case hex, one
// line.
func readHexFixture(t testing.TB, protocol, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(string(readFixture(t, protocol, name))))
	if err != nil {
		t.Fatalf("%s/%s: %v", protocol, name, err)
	}
	return b
}

// addFixtureSeeds seeds a fuzz target with every fixture of protocol whose
// name ends in ext (".hex" fixtures decoded).
func addFixtureSeeds(f *testing.F, protocol, ext string) {
	files, _ := filepath.Glob(filepath.Join("testdata", protocol, "*"+ext))
	if len(files) == 0 {
		f.Fatalf("no %s fixtures in testdata/%s", ext, protocol)
	}
	for _, file := range files {
		name := filepath.Base(file)
		if ext == ".hex" {
			f.Add(readHexFixture(f, protocol, name))
		} else {
			f.Add(readFixture(f, protocol, name))
		}
	}
}
