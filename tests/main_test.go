// Package tests drives the real Peerster and client binaries over loopback
// UDP: every test starts processes, talks to them through real sockets and
// reads their stdout, so what is checked is what a user or another
// implementation would see.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Paths of the binaries under test, built once by TestMain so that the
// tests, which start dozens of processes, never pay for a build.
var (
	gossiperBin string
	clientBin   string
	repoRoot    string
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerster-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if repoRoot, err = filepath.Abs(".."); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	gossiperBin = filepath.Join(dir, "Peerster")
	clientBin = filepath.Join(dir, "client")
	// PEERSTER_RACE=1 builds the daemon with the race detector, which finds
	// data races that only real sockets and real timing provoke.
	var flags []string
	if os.Getenv("PEERSTER_RACE") == "1" {
		flags = append(flags, "-race")
	}
	for _, b := range []struct{ out, pkg string }{
		{gossiperBin, "."},
		{clientBin, "./client"},
	} {
		args := append([]string{"build"}, flags...)
		args = append(args, "-o", b.out, b.pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "tests: go %v: %v\n%s", args, err, out)
			return 1
		}
	}
	return m.Run()
}
