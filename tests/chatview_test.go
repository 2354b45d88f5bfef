package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The chat view is tested as a person uses it: the daemon runs in a real
// terminal (a tmux pane), the test types into it and reads the screen.

// tmuxTerm is one tmux server of the test's own, on a private socket, with
// one session whose pane runs the daemon.
type tmuxTerm struct {
	t testing.TB
	// sock is the server's socket, in the test's temporary directory so
	// that it goes with it (tmux leaves it behind on kill-server).
	sock string
	// dir holds the configuration and each session's exit status.
	dir  string
	conf string
}

// newTmux starts nothing yet: the first session starts the server. The
// server is killed when the test ends, which ends the daemon if it still
// runs; no other tmux server is touched.
func newTmux(t testing.TB) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	x := &tmuxTerm{t: t, sock: filepath.Join(dir, "tmux.sock"), dir: dir, conf: filepath.Join(dir, "tmux.conf")}
	// remain-on-exit keeps a pane whose daemon exited, so that its last
	// screen can be read; without the status line the pane is the whole
	// terminal.
	if err := os.WriteFile(x.conf, []byte("set -g remain-on-exit on\nset -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = x.run("kill-server") })
	return x
}

func (x *tmuxTerm) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-S", x.sock, "-f", x.conf}, args...)...)
	// A test run from inside tmux must not talk to that tmux.
	cmd.Env = append(os.Environ(), "TMUX=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tmux %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

func (x *tmuxTerm) must(args ...string) string {
	x.t.Helper()
	out, err := x.run(args...)
	if err != nil {
		x.t.Fatal(err)
	}
	return out
}

// start runs argv in a new session of a w×h terminal, named name, and
// returns its process id, or 0 if it exited before it was seen.
func (x *tmuxTerm) start(name string, w, h int, argv ...string) int {
	x.t.Helper()
	// A shell runs the daemon in the foreground and writes its exit
	// status to a file: tmux 3.3 was seen to mark the pane dead without
	// ever reaping the daemon, so pane_dead_status stayed empty.
	script := `"$@"; echo $? >"$0.tmp" && mv "$0.tmp" "$0"`
	x.must(append([]string{"new-session", "-d", "-s", name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "--",
		"sh", "-c", script, x.statusFile(name)}, argv...)...)
	sh := x.pane(name, "#{pane_pid}")
	deadline := time.Now().Add(startTimeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", sh, sh))
		if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				x.t.Fatalf("children of the pane's shell: %q", b)
			}
			return pid
		}
		if _, dead := x.exitStatus(name); dead {
			// It failed at once; the caller reads why on the screen.
			return 0
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("the pane's shell started no daemon within %v:\n%s", startTimeout, x.screen(name))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (x *tmuxTerm) statusFile(name string) string { return filepath.Join(x.dir, name+".status") }

// screen is what the pane shows now, line by line, trailing blanks cut.
func (x *tmuxTerm) screen(name string) string {
	x.t.Helper()
	return x.must("capture-pane", "-p", "-t", name)
}

// typeText types text literally, then each named key (Enter, C-u).
func (x *tmuxTerm) typeText(name, text string, keys ...string) {
	x.t.Helper()
	if text != "" {
		x.must("send-keys", "-t", name, "-l", text)
	}
	if len(keys) > 0 {
		x.must(append([]string{"send-keys", "-t", name}, keys...)...)
	}
}

func (x *tmuxTerm) pane(name, format string) string {
	x.t.Helper()
	return strings.TrimSpace(x.must("display-message", "-p", "-t", name, format))
}

// exitStatus is the daemon's exit status once it has exited.
func (x *tmuxTerm) exitStatus(name string) (int, bool) {
	x.t.Helper()
	b, err := os.ReadFile(x.statusFile(name))
	if err != nil {
		return 0, false
	}
	st, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		x.t.Fatalf("exit status file of %s: %q", name, b)
	}
	return st, true
}

// waitScreen polls the screen until cond holds, and fails with the last
// screen if it never does or the daemon exits first.
func (x *tmuxTerm) waitScreen(name, what string, cond func(string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := x.screen(name)
		if cond(s) {
			return s
		}
		if st, dead := x.exitStatus(name); dead {
			x.t.Fatalf("daemon exited (status %d) before the screen showed %s:\n%s", st, what, s)
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("screen did not show %s within %v:\n%s", what, waitTimeout, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (x *tmuxTerm) waitText(name string, want ...string) string {
	x.t.Helper()
	return x.waitScreen(name, fmt.Sprintf("%q", want), func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

func (x *tmuxTerm) waitExit(name string) int {
	x.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if st, dead := x.exitStatus(name); dead {
			return st
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("daemon did not exit within %v:\n%s", waitTimeout, x.screen(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lastLine is the screen's bottom line: the input line.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

// chatViewNode is a daemon running in a tmux pane.
type chatViewNode struct {
	session   string
	gossip    string
	uiPort    int
	digit     string
	tracePath string
}

// startChatView starts a daemon with -console in a tmux pane of 100×30 and
// waits until it holds its ports and the view is drawn. A port taken
// between reservation and bind starts it again on new ones.
func startChatView(t *testing.T, x *tmuxTerm, session string, args ...string) chatViewNode {
	t.Helper()
	for attempt := 1; ; attempt++ {
		udp, tcp := freeUDPPorts(t, 2), freeTCPPorts(t, 1)
		n := chatViewNode{
			session: fmt.Sprintf("%s%d", session, attempt), gossip: loopback(udp[0]).String(), uiPort: udp[1],
			digit: loopback(tcp[0]).String(), tracePath: filepath.Join(t.TempDir(), "trace"),
		}
		argv := append([]string{gossiperBin, "-gossipAddr=" + n.gossip, "-UIPort=" + strconv.Itoa(n.uiPort),
			"-digitAddr=" + n.digit, "-GUIPort=0", "-console", "-trace=" + n.tracePath}, args...)
		pid := x.start(n.session, 100, 30, argv...)
		deadline := time.Now().Add(startTimeout)
		for !udpPortsOwned(pid, udp[0], udp[1]) {
			if _, dead := x.exitStatus(n.session); dead || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if udpPortsOwned(pid, udp[0], udp[1]) {
			x.waitText(n.session, "gossipAddr "+n.gossip)
			return n
		}
		screen := x.screen(n.session)
		if !strings.Contains(screen, "address already in use") || attempt == 5 {
			t.Fatalf("chat view daemon did not start (attempt %d):\n%s", attempt, screen)
		}
		t.Logf("chat view daemon: port taken; retrying on new ports")
	}
}

func TestChatViewInATerminal(t *testing.T) {
	t.Parallel()
	x := newTmux(t)
	bob := startCluster(t, []nodeSpec{{name: "bob", args: []string{"-GUIPort=0", "-digitAddr=off"}}})[0]
	dataDir := t.TempDir()
	alice := startChatView(t, x, "alice", "-name=alice", "-peers="+bob.gossip.String(), "-dataDir="+dataDir)
	s := alice.session

	// A message typed in the view reaches bob, and shows as ours.
	x.typeText(s, "hello bob", "Enter")
	waitLine(t, bob, "RUMOR origin alice from "+alice.gossip+" ID 1 contents hello bob", waitTimeout)
	x.waitText(s, "alice: hello bob")

	// What the user is typing stays while messages arrive: bob's, and a
	// burst from a peer of many rumors.
	x.typeText(s, "half typed")
	x.waitScreen(s, "the typed text", func(s string) bool { return lastLine(s) == "> half typed" })
	sendClient(t, bob, "hi alice, bob here")
	x.waitText(s, "bob: hi alice, bob here")
	burst := newRawPeer(t)
	aliceAddr := loopback(alice.port())
	const burstSize = 300
	sendBurst := func() {
		for i := 1; i <= burstSize; i++ {
			burst.send(t, aliceAddr, encode(t, rumor("carol", uint32(i), fmt.Sprintf("burst %d", i))))
		}
	}
	// A datagram lost on a loaded machine leaves a gap that the raw peer
	// never fills through anti-entropy, so the whole burst is sent again
	// until the last message shows; the node ignores what it holds.
	sendBurst()
	sent := time.Now()
	last := fmt.Sprintf("carol: burst %d", burstSize)
	screen := x.waitScreen(s, strconv.Quote(last), func(scr string) bool {
		if strings.Contains(scr, last) {
			return true
		}
		if time.Since(sent) > 2*time.Second {
			sendBurst()
			sent = time.Now()
		}
		return false
	})
	if got := lastLine(screen); got != "> half typed" {
		t.Errorf("input line is %q after %d incoming messages, want %q:\n%s", got, burstSize, "> half typed", screen)
	}
	x.typeText(s, " and sent", "Enter")
	waitLine(t, bob, "contents half typed and sent", waitTimeout)

	// Commands, and their errors, show in the view.
	for _, c := range []struct{ line, want string }{
		{"/digit 7", "our digit is now 7"},
		{"/digits", "* " + alice.digit},
		{"/digit 12", `bad digit "12": want one of 0-9`},
		{"/peer nonsense", `bad address "nonsense"`},
		{"/links", "no whisper or mesh links"},
		{"/nope", "unknown command /nope"},
		{"/help", "/file PATH"},
		{"/name alice2", "you are now alice2"},
	} {
		x.typeText(s, c.line, "Enter")
		x.waitText(s, c.want)
	}
	x.waitText(s, "alice2 │ gossipAddr")

	// A smaller terminal is redrawn to its size.
	x.must("resize-window", "-t", s, "-x", "60", "-y", "20")
	screen = x.waitScreen(s, "a 60×20 view", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return len(lines) == 20 && strings.HasPrefix(lines[0], " alice2 │") && strings.HasPrefix(lastLine(s), "> ")
	})
	for _, l := range strings.Split(screen, "\n") {
		if len([]rune(l)) > 60 {
			t.Errorf("line wider than the terminal after a resize: %q", l)
		}
	}

	// No protocol line ever reaches the screen: they are in the trace.
	for _, bad := range []string{"RUMOR origin", "STATUS from", "PEERS ", "level="} {
		if strings.Contains(screen, bad) {
			t.Errorf("screen shows %q:\n%s", bad, screen)
		}
	}
	x.typeText(s, "/quit", "Enter")
	if st := x.waitExit(s); st != 0 {
		t.Fatalf("/quit: exit status %d, want 0:\n%s", st, x.screen(s))
	}
	trace, err := os.ReadFile(alice.tracePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CLIENT MESSAGE hello bob\n", "RUMOR origin bob from " + bob.gossip.String() + " ID 1 contents hi alice, bob here\n", alice.digit + " --> 7\n"} {
		if !strings.Contains(string(trace), want) {
			t.Errorf("trace lacks %q", want)
		}
	}

	// The history is back after a restart with the data directory, and
	// Ctrl-C stops the daemon cleanly.
	again := startChatView(t, x, "again", "-name=alice", "-dataDir="+dataDir)
	x.waitText(again.session, "alice: half typed and sent")
	// The first messages are a few pages up: scrolling there reads them
	// from the store.
	x.waitScreen(again.session, "the first messages", func(scr string) bool {
		if strings.Contains(scr, "alice: hello bob") && strings.Contains(scr, "(start of the chat)") {
			return true
		}
		x.typeText(again.session, "", "PPage")
		return false
	})
	x.typeText(again.session, "", "C-c")
	if st := x.waitExit(again.session); st != 0 {
		t.Fatalf("Ctrl-C: exit status %d, want 0:\n%s", st, x.screen(again.session))
	}
}

func (n chatViewNode) port() int {
	_, p, _ := strings.Cut(n.gossip, ":")
	port, _ := strconv.Atoi(p)
	return port
}
