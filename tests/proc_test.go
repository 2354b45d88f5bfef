package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts are generous because CI machines are slow and loaded; nothing is
// ever asserted about how fast something happened, only that it did.
const (
	waitTimeout  = 15 * time.Second
	stopTimeout  = 3 * time.Second
	startTimeout = 10 * time.Second
)

// line is one line a process printed, with when the test saw it.
type line struct {
	at   time.Time
	text string
}

// lineLog records a process's output line by line. It is the process's
// Stdout/Stderr writer, so exec's copying goroutine feeds it and cmd.Wait
// returns only after the last line has been recorded.
type lineLog struct {
	mu      sync.Mutex
	lines   []line
	partial []byte
}

func (l *lineLog) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, line{at: now, text: string(l.partial[:i])})
		l.partial = l.partial[i+1:]
	}
	// Keep the buffer from pinning a large backing array once drained.
	if len(l.partial) == 0 {
		l.partial = nil
	}
	return len(p), nil
}

// since returns a copy of the lines from index i on.
func (l *lineLog) since(i int) []line {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.lines) {
		return nil
	}
	return append([]line(nil), l.lines[i:]...)
}

func (l *lineLog) all() []line { return l.since(0) }

func (l *lineLog) String() string {
	var b strings.Builder
	for _, ln := range l.all() {
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	l.mu.Lock()
	b.Write(l.partial)
	l.mu.Unlock()
	return b.String()
}

// tail is the end of the log for failure messages, with very long lines
// (65 KB rumors, 10,000-entry statuses) cut short.
func (l *lineLog) tail(n int) string {
	lines := l.all()
	lines = lines[max(0, len(lines)-n):]
	var b strings.Builder
	for _, ln := range lines {
		t := ln.text
		if len(t) > 300 {
			t = t[:300] + fmt.Sprintf("... (%d bytes)", len(ln.text))
		}
		b.WriteString("    " + t + "\n")
	}
	return b.String()
}

// matcher turns what a test looks for into a predicate: a string matches
// as a substring, a *regexp.Regexp as a regexp, a func(string) bool as
// itself.
func matcher(t testing.TB, what any) (func(string) bool, string) {
	t.Helper()
	switch w := what.(type) {
	case string:
		return func(s string) bool { return strings.Contains(s, w) }, strconv.Quote(w)
	case *regexp.Regexp:
		return w.MatchString, "/" + w.String() + "/"
	case func(string) bool:
		return w, "predicate"
	}
	t.Fatalf("matcher: unsupported %T", what)
	return nil, ""
}

// exactLine matches a whole line, so that "CLIENT MESSAGE " does not pass
// for "CLIENT MESSAGE hello".
func exactLine(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }

// node is one running gossiper started by the test.
type node struct {
	name   string
	gossip netip.AddrPort
	uiPort int
	cmd    *exec.Cmd
	out    *lineLog
	errLog *lineLog

	exited   chan struct{}
	waitErr  error // written before exited is closed
	stopOnce sync.Once
}

func (n *node) pid() int { return n.cmd.Process.Pid }

func (n *node) alive() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// waitLine polls the node's stdout until a line matches and returns it. It
// fails the test if the node exits or the timeout passes first.
func waitLine(t testing.TB, n *node, what any, timeout time.Duration) string {
	t.Helper()
	match, desc := matcher(t, what)
	deadline := time.Now().Add(timeout)
	seen := 0
	for {
		for _, ln := range n.out.since(seen) {
			seen++
			if match(ln.text) {
				return ln.text
			}
		}
		if !n.alive() {
			// The last lines are recorded before exited is closed.
			for _, ln := range n.out.since(seen) {
				if match(ln.text) {
					return ln.text
				}
			}
			t.Fatalf("node %s exited (%v) before printing a line matching %s\nstdout tail:\n%sstderr tail:\n%s",
				n.name, n.waitErr, desc, n.out.tail(20), n.errLog.tail(20))
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s printed no line matching %s within %v\nstdout tail:\n%s",
				n.name, desc, timeout, n.out.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countLines counts the stdout lines so far that match.
func countLines(t testing.TB, n *node, what any) int {
	t.Helper()
	match, _ := matcher(t, what)
	c := 0
	for _, ln := range n.out.all() {
		if match(ln.text) {
			c++
		}
	}
	return c
}

// waitCount polls until at least want lines match.
func waitCount(t testing.TB, n *node, what any, want int, timeout time.Duration) {
	t.Helper()
	_, desc := matcher(t, what)
	deadline := time.Now().Add(timeout)
	for {
		got := countLines(t, n, what)
		if got >= want {
			return
		}
		if !n.alive() || time.Now().After(deadline) {
			t.Fatalf("node %s printed %d lines matching %s, want %d (alive %v)\nstdout tail:\n%sstderr tail:\n%s",
				n.name, got, desc, want, n.alive(), n.out.tail(20), n.errLog.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nodeSpec describes one gossiper of a cluster. peers are indexes into the
// cluster; extraPeers are outside addresses (the test's raw sockets).
type nodeSpec struct {
	name       string
	peers      []int
	extraPeers []netip.AddrPort
	args       []string
}

// freeUDPPorts reserves n distinct loopback ports by binding them all at
// once, then frees them for the daemons. Another process may take one in
// between; startCluster retries when that happens.
func freeUDPPorts(t testing.TB, n int) []int {
	t.Helper()
	conns := make([]*net.UDPConn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("reserve a UDP port: %v", err)
		}
		conns = append(conns, c)
		ports = append(ports, c.LocalAddr().(*net.UDPAddr).Port)
	}
	return ports
}

func loopback(port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
}

// startCluster starts one gossiper per spec on fresh ports and waits until
// each has bound both of its sockets. If a port was taken between the
// reservation and the daemon's bind, the whole cluster is restarted on new
// ports, because the others were already told the lost address.
func startCluster(t testing.TB, specs []nodeSpec) []*node {
	t.Helper()
	return startWithRetries(t, "start cluster",
		func() ([]*node, bool, error) { return tryStartCluster(t, specs) },
		func(n *node) { n.stop(t) })
}

// startWithRetries calls start until it succeeds. When start reports that a
// port was taken between its reservation and the daemon's bind (retry), the
// nodes it started are discarded and the whole set starts again on new
// ports, at most five times.
func startWithRetries[N any](t testing.TB, what string, start func() ([]N, bool, error), discard func(N)) []N {
	t.Helper()
	const attempts = 5
	for attempt := 1; ; attempt++ {
		nodes, retry, err := start()
		if err == nil {
			return nodes
		}
		for _, n := range nodes {
			discard(n)
		}
		if !retry || attempt == attempts {
			t.Fatalf("%s (attempt %d): %v", what, attempt, err)
		}
		t.Logf("%s: %v; retrying on new ports", what, err)
	}
}

func tryStartCluster(t testing.TB, specs []nodeSpec) (nodes []*node, retry bool, err error) {
	ports := freeUDPPorts(t, 2*len(specs))
	for i, s := range specs {
		nodes = append(nodes, &node{
			name:   s.name,
			gossip: loopback(ports[2*i]),
			uiPort: ports[2*i+1],
			out:    &lineLog{},
			errLog: &lineLog{},
			exited: make(chan struct{}),
		})
	}
	for i, s := range specs {
		n := nodes[i]
		var peers []string
		for _, p := range s.peers {
			peers = append(peers, nodes[p].gossip.String())
		}
		for _, p := range s.extraPeers {
			peers = append(peers, p.String())
		}
		args := []string{
			"-UIPort=" + strconv.Itoa(n.uiPort),
			"-gossipAddr=" + n.gossip.String(),
			"-name=" + s.name,
		}
		if len(peers) > 0 {
			args = append(args, "-peers="+strings.Join(peers, ","))
		}
		args = append(args, s.args...)
		if err := n.start(t, args); err != nil {
			return nodes[:i], false, err
		}
	}
	for _, n := range nodes {
		if err := n.waitBound(); err != nil {
			return nodes, strings.Contains(n.errLog.String(), "address already in use"), err
		}
	}
	return nodes, false, nil
}

func (n *node) start(t testing.TB, args []string) error {
	n.cmd = exec.Command(gossiperBin, args...)
	n.cmd.Stdout = n.out
	n.cmd.Stderr = n.errLog
	// A child that outlives a killed test binary would hold its ports and
	// disturb the next run.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n.cmd.WaitDelay = stopTimeout
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			t.Logf("node %s (pid %d, gossip %s, UI %d) stdout tail:\n%sstderr tail:\n%s",
				n.name, n.pid(), n.gossip, n.uiPort, n.out.tail(15), n.errLog.tail(15))
		}
	})
	return nil
}

// waitBound waits until the process holds both its UDP ports, found through
// /proc by socket inode so that nobody else's socket on the port counts.
// The daemon prints nothing on stdout when it is ready, and a log message
// is not an interface.
func (n *node) waitBound() error {
	return n.waitReady(fmt.Sprintf("bind %s and UI port %d", n.gossip, n.uiPort), func() bool {
		return udpPortsOwned(n.pid(), int(n.gossip.Port()), n.uiPort)
	})
}

// waitReady polls ready until it holds, the process exits, or startTimeout
// passes.
func (n *node) waitReady(what string, ready func() bool) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if !n.alive() {
			return fmt.Errorf("node %s exited during start-up (%v): %s", n.name, n.waitErr,
				strings.TrimSpace(n.errLog.String()))
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s did not %s within %v", n.name, what, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectUsageError runs the gossiper with args, which must make it exit 2
// at once with one line on stderr and nothing on stdout.
func expectUsageError(t *testing.T, args ...string) {
	t.Helper()
	code, stdout, stderr, timedOut := runToExit(t, args...)
	if code != 2 || !oneLine(stderr) || stdout != "" {
		t.Errorf("gossiper %v: exit %d (timed out: %v), stderr %q, stdout %q; want exit 2 and one line on stderr",
			args, code, timedOut, stderr, stdout)
	}
}

// runToExit runs the gossiper with args until it exits by itself, or is
// killed after startTimeout.
func runToExit(t testing.TB, args ...string) (code int, stdout, stderr string, timedOut bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gossiperBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("gossiper %v: %v", args, err)
	}
	return code, out.String(), errb.String(), ctx.Err() != nil
}

// udpPortsOwned reports whether process pid holds a UDP socket bound to
// each of ports.
func udpPortsOwned(pid int, ports ...int) bool {
	inodes := socketInodes(pid)
	owned := map[int]bool{}
	procSockets("udp", func(fields []string) {
		if !inodes[fields[9]] {
			return
		}
		local := fields[1]
		i := strings.LastIndexByte(local, ':')
		if p, err := strconv.ParseUint(local[i+1:], 16, 16); err == nil {
			owned[int(p)] = true
		}
	})
	for _, p := range ports {
		if !owned[p] {
			return false
		}
	}
	return true
}

// socketInodes lists the socket inodes a process holds.
func socketInodes(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	return inodes
}

// procSockets calls fn with the fields of every socket of the machine in
// /proc/net/<proto> and /proc/net/<proto>6 (local address is fields[1],
// state fields[3], inode fields[9]).
func procSockets(proto string, fn func(fields []string)) {
	for _, file := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 10 {
				fn(fields)
			}
		}
		f.Close()
	}
}

// stop sends SIGTERM to this node only (by pid), waits, and kills it after
// stopTimeout. A node that died on its own before the test stopped it, or
// that does not exit cleanly on SIGTERM, fails the test: both are daemon
// bugs a user would notice.
func (n *node) stop(t testing.TB) {
	n.stopOnce.Do(func() {
		if n.cmd == nil || n.cmd.Process == nil {
			return
		}
		select {
		case <-n.exited:
			t.Errorf("node %s exited before the test stopped it: %v\nstderr tail:\n%s", n.name, n.waitErr, n.errLog.tail(20))
			return
		default:
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
			if n.waitErr != nil {
				t.Errorf("node %s did not exit cleanly on SIGTERM: %v\nstderr tail:\n%s", n.name, n.waitErr, n.errLog.tail(20))
			}
		case <-time.After(stopTimeout):
			_ = n.cmd.Process.Kill()
			<-n.exited
			t.Errorf("node %s ignored SIGTERM for %v and was killed", n.name, stopTimeout)
		}
	})
}

// rssKB reads the resident set size of a process from /proc.
func rssKB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read RSS of pid %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("parse %q: %v", l, err)
			}
			return kb
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// clientResult is what one run of the client binary did.
type clientResult struct {
	code           int
	stdout, stderr string
}

// runClient runs the client binary to completion.
func runClient(t testing.TB, args ...string) clientResult {
	t.Helper()
	cmd := exec.Command(clientBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	res := clientResult{}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start client: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("client %v did not exit within %v", args, waitTimeout)
	}
	res.stdout, res.stderr = out.String(), errb.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("client %v: %v", args, err)
	}
	return res
}

// sendClient sends one -msg through the real client and insists it worked.
func sendClient(t testing.TB, n *node, msg string) {
	t.Helper()
	r := runClient(t, "-UIPort="+strconv.Itoa(n.uiPort), "-msg="+msg)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("client -msg=%q to %s: exit %d, stderr %q", msg, n.name, r.code, r.stderr)
	}
}

// stdoutGrammar is every line the interface allows on stdout. Names and
// texts in these tests never contain spaces where \S is used.
var stdoutGrammar = []*regexp.Regexp{
	regexp.MustCompile(`^CLIENT MESSAGE .*$`),
	regexp.MustCompile(`^SIMPLE MESSAGE origin .* from \S+ contents .*$`),
	regexp.MustCompile(`^RUMOR origin .* from \S+ ID \d+ contents .*$`),
	regexp.MustCompile(`^MONGERING with \S+$`),
	regexp.MustCompile(`^STATUS from \S+ (peer \S* nextID \d+( peer \S* nextID \d+)*)?$`),
	regexp.MustCompile(`^FLIPPED COIN sending rumor to \S+$`),
	regexp.MustCompile(`^IN SYNC WITH \S+$`),
	regexp.MustCompile(`^PEERS ?\S*$`),
	regexp.MustCompile(`^\S+ --> \d$`),
	regexp.MustCompile(`^WHISPER origin .* from \S+ contents .*$`),
	regexp.MustCompile(`^P2P origin .* from \S+ contents .*$`),
}

// checkStdoutGrammar fails the test for any stdout line that is not one of
// the protocol lines: scripts grep stdout, so anything else is noise at
// best and a forged line at worst.
func checkStdoutGrammar(t testing.TB, n *node) {
	t.Helper()
	bad := 0
	for _, ln := range n.out.all() {
		ok := false
		for _, re := range stdoutGrammar {
			if re.MatchString(ln.text) {
				ok = true
				break
			}
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("node %s: stdout line outside the protocol: %.200q", n.name, ln.text)
			}
		}
	}
}
