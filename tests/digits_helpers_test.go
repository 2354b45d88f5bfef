package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// Helpers of the digit gossip tests: nodes that also listen on an explicit
// TCP digit address (and optionally read a console from a pipe), and a
// puller that reads a whole table, however long, with the strict codec.

// digitNode is a gossiper whose digit gossip listens on digitAddr.
type digitNode struct {
	*node
	digitAddr string
	// stdin is the console's input when the spec asked for -console.
	stdin io.WriteCloser
}

// digitSpec describes one node; the test's flags come after the ports.
type digitSpec struct {
	name    string
	args    []string
	console bool
}

// freeTCPPorts reserves n distinct loopback TCP ports by listening on all of
// them at once, then frees them for the daemons.
func freeTCPPorts(t testing.TB, n int) []int {
	t.Helper()
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve a TCP port: %v", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// startDigitNodes starts one gossiper per spec on fresh UDP ports and an
// explicit free TCP digit port, and waits until each holds all three. If
// another process took a port in between, the whole set is restarted on new
// ports, because the tests tell nodes each other's addresses afterwards.
func startDigitNodes(t testing.TB, specs []digitSpec) []*digitNode {
	t.Helper()
	return startWithRetries(t, "start digit nodes",
		func() ([]*digitNode, bool, error) { return tryStartDigitNodes(t, specs) },
		func(n *digitNode) { discard(n.node) })
}

func tryStartDigitNodes(t testing.TB, specs []digitSpec) (nodes []*digitNode, retry bool, err error) {
	udp := freeUDPPorts(t, 2*len(specs))
	tcp := freeTCPPorts(t, len(specs))
	for i, s := range specs {
		n := &digitNode{
			node: &node{
				name:   s.name,
				gossip: loopback(udp[2*i]),
				uiPort: udp[2*i+1],
				out:    &lineLog{},
				errLog: &lineLog{},
				exited: make(chan struct{}),
			},
			digitAddr: "127.0.0.1:" + strconv.Itoa(tcp[i]),
		}
		args := []string{
			"-UIPort=" + strconv.Itoa(n.uiPort),
			"-gossipAddr=" + n.gossip.String(),
			"-digitAddr=" + n.digitAddr,
			"-name=" + s.name,
		}
		if s.console {
			args = append(args, "-console")
		}
		args = append(args, s.args...)
		if n.stdin, err = startWithStdin(t, n.node, args, s.console); err != nil {
			return nodes, false, err
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.waitBound(); err != nil {
			return nodes, strings.Contains(n.errLog.String(), "address already in use"), err
		}
		if err := n.waitDigitBound(); err != nil {
			return nodes, strings.Contains(n.errLog.String(), "address already in use"), err
		}
	}
	return nodes, false, nil
}

// startWithStdin is node.start with, when asked, a pipe for stdin: the
// console reads it until the test closes it.
func startWithStdin(t testing.TB, n *node, args []string, withStdin bool) (io.WriteCloser, error) {
	n.cmd = exec.Command(gossiperBin, args...)
	n.cmd.Stdout = n.out
	n.cmd.Stderr = n.errLog
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n.cmd.WaitDelay = stopTimeout
	var stdin io.WriteCloser
	if withStdin {
		var err error
		if stdin, err = n.cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", n.name, err)
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.stop(t)
		if stdin != nil {
			stdin.Close()
		}
		if t.Failed() {
			t.Logf("node %s (pid %d, gossip %s, UI %d) stdout tail:\n%sstderr tail:\n%s",
				n.name, n.pid(), n.gossip, n.uiPort, n.out.tail(15), n.errLog.tail(15))
		}
	})
	return stdin, nil
}

// discard ends a node of a failed start-up attempt without the checks of
// stop: it may well have died of the port race the retry is for.
func discard(n *node) {
	n.stopOnce.Do(func() {
		if n.cmd == nil || n.cmd.Process == nil {
			return
		}
		_ = n.cmd.Process.Kill()
		<-n.exited
	})
}

// stopAll stops nodes now (SIGTERM by PID, with stop's checks), for
// benchmarks that start many clusters in one function.
func stopAll(t testing.TB, nodes []*digitNode) {
	for _, n := range nodes {
		n.stop(t)
	}
}

func (n *digitNode) digitPort() int {
	_, p, _ := strings.Cut(n.digitAddr, ":")
	v, _ := strconv.Atoi(p)
	return v
}

// waitDigitBound waits until the process listens on its TCP digit port,
// found through /proc by socket inode like waitBound. The TCP listener is
// opened after the UDP sockets, so waitBound alone is not enough.
func (n *digitNode) waitDigitBound() error {
	return n.waitReady("listen on TCP "+n.digitAddr, func() bool { return tcpListenOwned(n.pid(), n.digitPort()) })
}

// tcpListeners calls fn for every listening TCP socket of the machine
// (state 0A) with its local address in hex, port and inode.
func tcpListeners(fn func(localHex string, port int, inode string)) {
	procSockets("tcp", func(fields []string) {
		if fields[3] != "0A" {
			return
		}
		ip, port, ok := strings.Cut(fields[1], ":")
		if !ok {
			return
		}
		if p, err := strconv.ParseUint(port, 16, 16); err == nil {
			fn(ip, int(p), fields[9])
		}
	})
}

// tcpListenOwned reports whether process pid listens on TCP port.
func tcpListenOwned(pid, port int) bool {
	inodes := socketInodes(pid)
	found := false
	tcpListeners(func(_ string, p int, inode string) {
		if p == port && inodes[inode] {
			found = true
		}
	})
	return found
}

// listeningOn reports whether anything on the machine accepts TCP
// connections to addr ("a.b.c.d:port") on that address or the wildcard, so
// that a test can tell when a fixture's made-up address happens to be real.
func listeningOn(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return false
	}
	// /proc prints an IPv4 address as one little-endian word.
	b := ap.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X", b[3], b[2], b[1], b[0])
	found := false
	tcpListeners(func(ip string, p int, _ string) {
		// The IPv6 table's wildcard is all zeros too.
		if p == int(ap.Port()) && (ip == want || strings.Trim(ip, "0") == "") {
			found = true
		}
	})
	return found
}

// clientOK runs the client against n with args and insists it worked.
func clientOK(t testing.TB, n *node, args ...string) {
	t.Helper()
	r := runClient(t, append([]string{"-UIPort=" + strconv.Itoa(n.uiPort)}, args...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("client %v to %s: exit %d, stderr %q", args, n.name, r.code, r.stderr)
	}
}

// digitLine is the stdout line for a digit entry.
func digitLine(addr string, d int) *regexp.Regexp {
	return exactLine(fmt.Sprintf("%s --> %d", addr, d))
}

// parseWholeReply parses a reply of any length with the strict codec:
// ReadDigitReply stops at 256 lines, so the reply is cut after every 256th
// LF and each piece read on its own; line numbers count from the reply's
// start.
func parseWholeReply(b []byte, now time.Time) ([]messages.DigitLine, error) {
	var out []messages.DigitLine
	for len(b) > 0 {
		end, lines := 0, 0
		for lines < messages.MaxDigitLines {
			i := bytes.IndexByte(b[end:], '\n')
			if i < 0 {
				end = len(b)
				break
			}
			end += i + 1
			lines++
		}
		got, err := messages.ReadDigitReply(bytes.NewReader(b[:end]), now)
		if err != nil {
			return out, err
		}
		offset := len(out)
		for _, l := range got {
			l.Line += offset
			out = append(out, l)
		}
		b = b[end:]
	}
	return out, nil
}

// digitTable is a table as addr -> entry.
type digitTable map[string]messages.DigitEntry

// fetchReply connects to addr as a puller (sending nothing) and reads until
// the server closes, at most timeout.
func fetchReply(addr string, timeout time.Duration) ([]byte, error) {
	conn, err := net.DialTimeout("tcp4", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	return io.ReadAll(conn)
}

// readTable pulls a node's whole table and parses it strictly. Our node
// must send only valid lines (LF after every one), no address twice.
func readTable(addr string, timeout time.Duration) (digitTable, error) {
	b, err := fetchReply(addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w (after %d bytes)", addr, err, len(b))
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("pull %s: reply does not end with LF: ...%q", addr, b[max(0, len(b)-40):])
	}
	lines, err := parseWholeReply(b, time.Now())
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", addr, err)
	}
	tab := digitTable{}
	for _, l := range lines {
		if l.Err != nil {
			return nil, fmt.Errorf("pull %s: line %d rejected: %v", addr, l.Line, l.Err)
		}
		if _, dup := tab[l.Entry.Addr]; dup {
			return nil, fmt.Errorf("pull %s: address %s twice", addr, l.Entry.Addr)
		}
		tab[l.Entry.Addr] = l.Entry
	}
	return tab, nil
}

// mustTable is readTable that fails the test.
func mustTable(t testing.TB, addr string) digitTable {
	t.Helper()
	tab, err := readTable(addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// waitTable pulls addr until cond holds for its table, and returns it.
func waitTable(t testing.TB, addr string, timeout time.Duration, what string, cond func(digitTable) bool) digitTable {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tab, err := readTable(addr, waitTimeout)
		if err == nil && cond(tab) {
			return tab
		}
		if time.Now().After(deadline) {
			t.Fatalf("table of %s: %s not reached within %v (last error %v)\n%s", addr, what, timeout, err, tab.diffString(nil))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diffString shows a table, or its difference from want when want is set.
func (tab digitTable) diffString(want digitTable) string {
	var b strings.Builder
	n := 0
	add := func(format string, args ...any) {
		if n++; n <= 40 {
			fmt.Fprintf(&b, "    "+format+"\n", args...)
		}
	}
	if want == nil {
		for _, e := range sortedEntries(tab) {
			add("%s,%d,%d", e.Addr, e.Time, e.Digit)
		}
	} else {
		for _, e := range sortedEntries(want) {
			got, ok := tab[e.Addr]
			switch {
			case !ok:
				add("missing %s,%d,%d", e.Addr, e.Time, e.Digit)
			case got != e:
				add("got %s,%d,%d want %s,%d,%d", got.Addr, got.Time, got.Digit, e.Addr, e.Time, e.Digit)
			}
		}
		for _, e := range sortedEntries(tab) {
			if _, ok := want[e.Addr]; !ok {
				add("extra %s,%d,%d", e.Addr, e.Time, e.Digit)
			}
		}
	}
	if n > 40 {
		fmt.Fprintf(&b, "    ... (%d lines in all)\n", n)
	}
	return b.String()
}

func (tab digitTable) equal(want digitTable) bool {
	if len(tab) != len(want) {
		return false
	}
	for a, e := range want {
		if tab[a] != e {
			return false
		}
	}
	return true
}

func sortedEntries(tab digitTable) []messages.DigitEntry {
	out := make([]messages.DigitEntry, 0, len(tab))
	for _, e := range tab {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// strictMerge applies what a strict puller does with a reply it read: the
// valid lines (of at most the first 256) in order, each kept only when its
// address is not self and its time is strictly later than the table's.
func strictMerge(tab digitTable, self string, lines []messages.DigitLine) {
	for _, l := range lines {
		if l.Err != nil || l.Entry.Addr == self {
			continue
		}
		if old, ok := tab[l.Entry.Addr]; ok && l.Entry.Time <= old.Time {
			continue
		}
		tab[l.Entry.Addr] = l.Entry
	}
}

// deadlineReader yields b, then fails as a read deadline would: what the
// node's reader sees of a reply that stalls.
type deadlineReader struct{ r *bytes.Reader }

func (d deadlineReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, os.ErrDeadlineExceeded
	}
	return n, err
}

// waitStderr polls the node's stderr from line index from on until a line
// matches, and returns it.
func waitStderr(t testing.TB, n *node, from int, what any, timeout time.Duration) string {
	t.Helper()
	match, desc := matcher(t, what)
	deadline := time.Now().Add(timeout)
	seen := from
	for {
		for _, ln := range n.errLog.since(seen) {
			seen++
			if match(ln.text) {
				return ln.text
			}
		}
		if !n.alive() || time.Now().After(deadline) {
			t.Fatalf("node %s printed no stderr line matching %s within %v (alive %v)\nstderr tail:\n%s",
				n.name, desc, timeout, n.alive(), n.errLog.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// firstLineAt is when the node first printed a line matching re at or after
// index from, polling until timeout; ok is false if it never did.
func firstLineAt(n *node, from int, re *regexp.Regexp, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	seen := from
	for {
		for _, ln := range n.out.since(seen) {
			seen++
			if re.MatchString(ln.text) {
				return ln.at, true
			}
		}
		if !n.alive() || time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cpuTicks is utime+stime of a process from /proc/<pid>/stat, counted from
// the last ')' because the command name may hold spaces.
func cpuTicks(t testing.TB, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read stat of pid %d: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		t.Fatalf("stat of pid %d: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("stat of pid %d: %v %v", pid, err1, err2)
	}
	return ut + st
}

// clockTicks is the kernel's USER_HZ, which Go cannot read directly.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}

// cpuPercent measures a process's CPU over window, in percent of one core.
func cpuPercent(t testing.TB, pid int, window time.Duration) float64 {
	t.Helper()
	hz := clockTicks()
	t0, a := time.Now(), cpuTicks(t, pid)
	time.Sleep(window)
	t1, b := time.Now(), cpuTicks(t, pid)
	return float64(b-a) / hz / t1.Sub(t0).Seconds() * 100
}

// hostileServer is a TCP listener the test tells a node to pull; each
// accepted connection is handed to the next function of the test's choice.
type hostileServer struct {
	ln   net.Listener
	addr string
}

func newHostileServer(t testing.TB) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile server: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return &hostileServer{ln: ln, addr: ln.Addr().String()}
}

// accept waits for the next pull.
func (h *hostileServer) accept(t testing.TB, timeout time.Duration) *net.TCPConn {
	t.Helper()
	if err := h.ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	c, err := h.ln.Accept()
	if err != nil {
		t.Fatalf("hostile server %s: no pull within %v: %v", h.addr, timeout, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// serveAndWait writes payload, half-closes, and waits until the puller
// closes its end, so that the pull has been read completely (the node
// merges right after). A puller that stops reading early (the 256-line cap)
// makes the write fail, which is expected.
func serveAndWait(t testing.TB, c *net.TCPConn, payload []byte, timeout time.Duration) (writeErr error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(timeout))
	_, writeErr = c.Write(payload)
	if writeErr == nil {
		c.CloseWrite()
	}
	// The puller sends nothing: the read ends when it closes.
	var one [1]byte
	n, err := c.Read(one[:])
	if n > 0 {
		t.Errorf("puller sent bytes to the server")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("puller did not close the connection within %v", timeout)
	}
	return writeErr
}
