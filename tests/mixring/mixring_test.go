package main

import (
	"bytes"
	"strings"
	"testing"
)

// A failing test_2_ring.sh run as tests/ring/lib.sh prints it, colours on.
const failingRun = "node outputs go to /tmp/peerster_test_2_ring.abc\n" +
	"all 10 nodes listen on their gossip and UI ports\n" +
	"client -> E (UIPort 12349): Weather_is_clear\n" +
	"###CHECK every node ran until it was stopped\n\x1b[0;32m***PASSED***\x1b[0m\n" +
	"###CHECK rumor messages\n\x1b[0;32m***PASSED***\x1b[0m\n" +
	"###CHECK flipped coin\n" +
	"  node E (127.0.0.1:5004): no line contains 'FLIPPED COIN sending rumor to 127.0.0.1:5003'\n" +
	"  node F (127.0.0.1:5005): no line contains 'FLIPPED COIN sending rumor to 127.0.0.1:5004'\n" +
	"  node F (127.0.0.1:5005): no line contains 'FLIPPED COIN sending rumor to 127.0.0.1:5006'\n" +
	"\x1b[0;31m***FAILED***\x1b[0m\n" +
	"###CHECK in sync\n\x1b[0;32m***PASSED***\x1b[0m\n" +
	"\n\x1b[0;31m1 of 4 checks failed:\x1b[0m\n  flipped coin\n" +
	"node outputs kept in /tmp/peerster_test_2_ring.abc\n"

func TestParseResultFindsEachFailureAndItsNode(t *testing.T) {
	r := ParseResult(failingRun, 1)
	if r.Passed || r.Checks != 4 || len(r.Failed) != 1 || r.Failed[0] != "flipped coin" {
		t.Fatalf("result %+v", r)
	}
	if len(r.Failures) != 3 || r.Failures[0].Node != 4 || r.Failures[1].Node != 5 || r.Failures[0].Check != "flipped coin" {
		t.Fatalf("failures %+v", r.Failures)
	}
	if r.OutDir != "/tmp/peerster_test_2_ring.abc" {
		t.Fatalf("out dir %q", r.OutDir)
	}
}

func TestParseResultOfAPassingAndOfAnAbortedRun(t *testing.T) {
	pass := "###CHECK rumor messages\n***PASSED***\n\nall 1 checks passed\n"
	if r := ParseResult(pass, 0); !r.Passed || r.Checks != 1 || len(r.Failures) != 0 {
		t.Fatalf("passing run read as %+v", r)
	}
	// Exit status decides: checks that passed do not hide a failing exit.
	if r := ParseResult(pass, 1); r.Passed {
		t.Fatal("a run that exited 1 read as passed")
	}
	aborted := "ERROR: after 10s not every node listens on its UDP ports:\n  node B (pid 7) does not hold: 5001\n"
	r := ParseResult(aborted, 1)
	if r.Passed || r.Checks != 0 || !strings.Contains(r.Setup, "not every node listens") || len(r.Failures) != 0 {
		t.Fatalf("aborted run read as %+v", r)
	}
	if r := ParseResult("", 2); r.Setup == "" {
		t.Fatal("empty output gave no reason")
	}
}

func TestSideOfEachNode(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		node int
		want string
	}{
		{ModeMixed, 4, "ours"}, {ModeMixed, 5, "theirs"}, {ModeMixed, 0, "ours"}, {ModeMixed, 9, "theirs"},
		{ModeOurs, 5, "ours"}, {ModeAlone, 4, "theirs"}, {ModeMixed, -1, "ring"},
	} {
		if got := Side(c.mode, c.node); got != c.want {
			t.Errorf("Side(%s, %d) = %s, want %s", c.mode, c.node, got, c.want)
		}
	}
}

func TestMatrixAttributesFailuresToTheImplementationAtTheNode(t *testing.T) {
	m := NewMatrix()
	scripts := []string{"test_2_ring.sh"}
	m.Add(Run{Script: scripts[0], Mode: ModeOurs, Result: ParseResult("###CHECK a\n***PASSED***\n", 0)})
	m.Add(Run{Impl: "x", Script: scripts[0], Mode: ModeAlone, Result: ParseResult(failingRun, 1)})
	m.Add(Run{Impl: "x", Script: scripts[0], Mode: ModeMixed, Result: ParseResult(failingRun, 1)})
	m.Add(Run{Impl: "x", Script: scripts[0], Mode: ModeMixed, Result: ParseResult("###CHECK a\n***PASSED***\n", 0)})
	var b bytes.Buffer
	m.Write(&b, scripts)
	out := b.String()
	for _, want := range []string{
		"| ours (all ten nodes) | 1/1 | – | none | none |",
		"| x | 0/1 | 1/2 | test_2: flipped coin ×1 | test_2: flipped coin ×1 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q:\n%s", want, out)
		}
	}
	if n := m.OursFailures(); n != 1 {
		t.Errorf("OursFailures = %d, want 1 (E failed in one mixed run; F is theirs)", n)
	}
}
