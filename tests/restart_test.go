package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Issue 11: a node stopped and started again with the same name, with and
// without -dataDir, loses nothing it acknowledged and shows nothing twice.

var haltSignals = []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "sigkill"
	}
	return "sigterm"
}

func TestRestartWithDataDir(t *testing.T) {
	t.Parallel()
	for _, sig := range haltSignals {
		t.Run(sigName(sig), func(t *testing.T) {
			t.Parallel()
			restartScenario(t, sig, true)
		})
	}
}

// restartScenario is the issue's: in a line A–B–C–D–E, C sends three
// messages and is stopped; A speaks while C is down; C starts again with
// the same name and ports and types a fourth message at once. In the end
// every node shows the same (origin, ID) -> text for every message, each
// once. With -dataDir (every node has one), C's history is back at once
// without protocol lines for it, and its fourth message is ID 4.
func restartScenario(t *testing.T, sig syscall.Signal, dataDir bool) {
	names := []string{"A", "B", "C", "D", "E"}
	var withData []int
	if dataDir {
		withData = []int{0, 1, 2, 3, 4}
	}
	nodes := startLine(t, names, withData...)
	a, b, c, e := nodes[0], nodes[1], nodes[2], nodes[4]

	before := []struct {
		from *chatNode
		text string
	}{{a, "A_before"}, {e, "E_before"}, {c, "C_1"}, {c, "C_2"}, {c, "C_3"}}
	var texts []string
	for _, m := range before {
		sendClient(t, m.from.node, m.text)
		texts = append(texts, m.text)
	}
	for _, n := range nodes {
		waitChat(t, n, restartTimeout, texts...)
	}
	// A printed line is what acknowledges a message (after a SIGKILL only
	// what was acknowledged must survive).
	for _, s := range texts {
		waitLine(t, c.node, protocolLineFor(s), waitTimeout)
	}
	want := peersterChatOf(t, c).texts
	for i := 1; i <= 3; i++ {
		if k := (msgKey{"C", uint32(i)}); want[k] != "C_"+strconv.Itoa(i) {
			t.Fatalf("before the restart C shows %v as %q, want %q", k, want[k], "C_"+strconv.Itoa(i))
		}
	}

	halt(t, c, sig)
	sendClient(t, a.node, "A_while_C_down")
	waitChat(t, b, restartTimeout, "A_while_C_down")
	c.restart(t)

	if dataDir {
		// The first answer, before anti-entropy could bring anything back.
		first := peersterChatOf(t, c)
		for k, s := range want {
			if first.texts[k] != s {
				t.Errorf("right after the restart C's GET /message shows %v as %q, want %q (all: %v)", k, first.texts[k], s, first.texts)
			}
		}
	}
	sendClient(t, c.node, "C_4")
	for _, n := range nodes {
		waitChat(t, n, restartTimeout, "C_4", "A_while_C_down")
	}
	var fourth msgKey
	for k, s := range peersterChatOf(t, a).texts {
		if s == "C_4" {
			fourth = k
		}
	}
	if dataDir && fourth != (msgKey{"C", 4}) {
		t.Errorf("C's fourth message is %v at A, want C/4: the sequence did not continue", fourth)
	}
	if fourth.origin != "C" {
		t.Errorf("C's fourth message is %v at A, want origin C", fourth)
	}
	if _, taken := want[fourth]; taken {
		t.Errorf("C's fourth message took %v, which already held %q", fourth, want[fourth])
	}
	want[fourth] = "C_4"
	want[msgKey{"A", 2}] = "A_while_C_down"
	waitSameChat(t, nodes, want, restartTimeout)

	// A RUMOR line for an old message may be a peer sending it again,
	// which every node prints; a CLIENT MESSAGE line can only be a reprint.
	for i := 1; i <= 3; i++ {
		if got := countLines(t, c.node, exactLine("CLIENT MESSAGE C_"+strconv.Itoa(i))); got != 0 {
			t.Errorf("C printed CLIENT MESSAGE C_%d again after the restart", i)
		}
	}
	for _, n := range nodes {
		checkStdoutGrammar(t, n.node)
	}
}

// TestDataDirBadStates: what a user gets wrong with -dataDir gets one line
// and exit 1, never a panic and never a reset of what is there.
func TestDataDirBadStates(t *testing.T) {
	t.Parallel()
	t.Run("held by another daemon", func(t *testing.T) {
		t.Parallel()
		first := startLine(t, []string{"Holder"}, 0)[0]
		dir := dataDirOf(t, first)
		code, out, errs := runDaemonToExit(t, "-dataDir="+dir)
		if code != 1 || !oneLine(errs) || out != "" ||
			!strings.Contains(errs, dir) || !strings.Contains(errs, "process "+strconv.Itoa(first.pid())) {
			t.Errorf("second daemon on %s: exit %d, stderr %q, stdout %q; want exit 1 and one line naming the directory and pid %d",
				dir, code, errs, out, first.pid())
		}
		checkAlive(t, first.node)
	})
	t.Run("foreign file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		file := filepath.Join(dir, "peerster.db")
		junk := []byte(strings.Repeat("not a database, someone else's file\n", 300))
		if err := os.WriteFile(file, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		expectRefusedFile(t, dir, file, junk)
	})
	t.Run("created with mode 0700", func(t *testing.T) {
		t.Parallel()
		n := startLine(t, []string{"Fresh"}, 0)[0]
		dir := dataDirOf(t, n)
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("the daemon created %s with mode %v, want 0700", dir, st.Mode().Perm())
		}
	})
}

// expectRefusedFile runs a daemon on dir, whose store file is bad: it must
// exit 1 with one line naming the file and leave the file as it was.
func expectRefusedFile(t *testing.T, dir, file string, content []byte) {
	t.Helper()
	code, out, errs := runDaemonToExit(t, "-dataDir="+dir)
	if code != 1 || !oneLine(errs) || out != "" || !strings.Contains(errs, file) || strings.Contains(errs, "panic") {
		t.Errorf("daemon on a bad %s: exit %d, stderr %q, stdout %q; want exit 1 and one line naming the file", file, code, errs, out)
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after, content) {
		t.Errorf("the daemon changed %s (%d bytes, was %d): a bad file must be left for the user", file, len(after), len(content))
	}
}

// TestGUIHistoryAfterRestart: after a SIGKILL and a restart with -dataDir,
// the page shows what was said before, once each, and stdout shows none of
// it again.
func TestGUIHistoryAfterRestart(t *testing.T) {
	exe := requireChromium(t)
	t.Parallel()
	home := startLine(t, []string{"Home"}, 0)[0]
	history := []string{"said_before_the_restart", "and_this_too"}
	for _, s := range history {
		sendClient(t, home.node, s)
		waitLine(t, home.node, exactLine("CLIENT MESSAGE "+s), waitTimeout)
	}
	halt(t, home, syscall.SIGKILL)
	home.restart(t)

	tab := openPage(t, exe, "Home", fmt.Sprintf("http://127.0.0.1:%d/", home.guiPort))
	for _, s := range history {
		tab.waitChat("Home", s, waitTimeout)
	}
	var texts []string
	for _, it := range tab.chat() {
		texts = append(texts, it.Text)
	}
	if !slices.Equal(texts, history) {
		t.Errorf("the page shows %q after the restart, want %q", texts, history)
	}
	// Home has no peers, so nothing since the restart was a protocol event:
	// any line would be the history printed again.
	if lines := home.out.all(); len(lines) > 0 {
		t.Errorf("after the restart Home printed %d lines for its stored history, want none:\n%s", len(lines), home.out.tail(10))
	}
}

// TestRestartWithoutDataDir is the scenario without -dataDir: C
// starts from nothing while the network holds C:1..3, and its fourth
// message, typed before any status told it so, must still reach every
// node under an ID of its own.
func TestRestartWithoutDataDir(t *testing.T) {
	t.Parallel()
	for _, sig := range haltSignals {
		t.Run(sigName(sig), func(t *testing.T) {
			t.Parallel()
			restartScenario(t, sig, false)
		})
	}
}
