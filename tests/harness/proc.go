package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childAttr puts every child in its own process group so a terminal Ctrl-C
// reaches only the harness, which then stops the nodes itself; Pdeathsig is
// the backstop that kills them if the harness dies without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// tailBuffer keeps the end of a node's stderr, enough to explain a crash
// without holding a chatty logger's whole output in memory.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		n := copy(t.buf, t.buf[len(t.buf)-t.max:])
		t.buf = t.buf[:n]
	}
	return len(p), nil
}

// lastLines keeps error messages short: the end of stderr is where a
// crashing program says why.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// nodeOut tracks one node's stdout: how many lines, when each wanted
// message was first proven present and in which order, how often the
// counted rumors were received, and how many coin flips were printed.
type nodeOut struct {
	mu    sync.Mutex
	lines int
	want  map[string]time.Time
	index map[string]int // wanted key -> its position in the order sent
	order []int          // positions of the wanted keys, as first proven
	found int
	last  time.Time
	// counts has an entry for every counted key: each RUMOR line of one
	// adds one, duplicates included, since every copy received is printed.
	counts map[string]int
	flips  int
}

// setWant must run before the first client starts, so no proof line can
// arrive before the harness knows to look for it. It also resets the
// reception and coin-flip counts: count lists the rumors whose receptions
// this node counts.
func (o *nodeOut) setWant(keys, count []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.want = make(map[string]time.Time, len(keys))
	o.index = make(map[string]int, len(keys))
	for i, k := range keys {
		o.want[k] = time.Time{}
		o.index[k] = i
	}
	o.order = o.order[:0]
	o.found = 0
	o.last = time.Time{}
	o.counts = make(map[string]int, len(count))
	for _, k := range count {
		o.counts[k] = 0
	}
	o.flips = 0
}

// flipPrefix starts the line the handout prints when the coin says go on.
const flipPrefix = "FLIPPED COIN"

// record reports whether the line was the first proof of a wanted message.
func (o *nodeOut) record(line string, at time.Time) bool {
	key := parseLine(line).key()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines++
	if strings.HasPrefix(line, flipPrefix) {
		o.flips++
	}
	if key == "" {
		return false
	}
	if n, ok := o.counts[key]; ok {
		o.counts[key] = n + 1
	}
	seen, ok := o.want[key]
	if !ok || !seen.IsZero() {
		return false
	}
	o.want[key] = at
	o.order = append(o.order, o.index[key])
	o.found++
	if at.After(o.last) {
		o.last = at
	}
	return true
}

func (o *nodeOut) progress() (found, total int, last time.Time, lines int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.found, len(o.want), o.last, o.lines
}

// tallies returns the receptions of the counted rumors, summed, and the
// coin flips printed since setWant.
func (o *nodeOut) tallies() (receptions, flips int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.counts {
		receptions += n
	}
	return receptions, o.flips
}

// inOrder counts the wanted messages first proven after every message sent
// before them that was proven at all: a message overtaken by a later one
// is out of order, a missing one is neither.
func (o *nodeOut) inOrder() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return countInOrder(o.order)
}

func countInOrder(order []int) int {
	n, top := 0, -1
	for _, i := range order {
		if i > top {
			n++
			top = i
		}
	}
	return n
}

type node struct {
	name       string
	gossipPort int
	uiPort     int
	cmd        *exec.Cmd
	started    time.Time
	out        nodeOut
	stderr     tailBuffer
	done       chan struct{}
	waitErr    error // written before done is closed
}

func (n *node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
	}
	return false
}

// cluster is one run's set of gossiper processes. The zero-node cluster is
// valid, so callers can defer stop() before knowing whether start worked.
type cluster struct {
	nodes   []*node
	changed chan struct{} // coalesced "some node found a wanted message"
	exited  chan *node    // a node died; during a run that is a failure
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// target is one implementation under test: ours (-gossiper, -client) or
// an -impl.
type target struct {
	Name, Gossiper, Client string
	// Chdir runs every node from the gossiper's directory instead of its
	// own scratch directory.
	Chdir bool
}

// startSettled starts topo's nodes in a scratch directory of their own and
// returns once every node listens and cfg.settle has passed. stop, never
// nil, stops the nodes and then removes the directory.
func startSettled(ctx context.Context, cfg config, tg target, topo topology, ports portSet) (c *cluster, stop func(), err error) {
	dir, err := os.MkdirTemp("", "peerster-harness-")
	if err != nil {
		return nil, func() {}, err
	}
	c, err = startCluster(cfg, tg, topo, ports, dir)
	stop = func() {
		c.stop()
		os.RemoveAll(dir)
	}
	if err != nil {
		return c, stop, err
	}
	if err := c.waitListening(ctx, cfg.startup); err != nil {
		return c, stop, err
	}
	return c, stop, c.sleep(ctx, cfg.settle)
}

func startCluster(cfg config, tg target, topo topology, ports portSet, dir string) (*cluster, error) {
	n := len(topo.Names)
	c := &cluster{changed: make(chan struct{}, 1), exited: make(chan *node, n)}
	for i, name := range topo.Names {
		peers := make([]string, len(topo.Peers[i]))
		for j, p := range topo.Peers[i] {
			peers[j] = addr(ports.gossip[p])
		}
		args := []string{
			"-UIPort=" + strconv.Itoa(ports.ui[i]),
			"-gossipAddr=" + addr(ports.gossip[i]),
			"-name=" + name,
			"-peers=" + strings.Join(peers, ","),
		}
		if cfg.antiEntropy != "" {
			args = append(args, "-antiEntropy="+cfg.antiEntropy)
		}
		// A directory per node, because some implementations write files
		// (shared files, state) relative to their working directory.
		ndir := filepath.Join(dir, name)
		if err := os.Mkdir(ndir, 0o755); err != nil {
			return c, err
		}
		nd := &node{name: name, gossipPort: ports.gossip[i], uiPort: ports.ui[i], done: make(chan struct{})}
		nd.stderr.max = 4 << 10
		if tg.Chdir {
			ndir = filepath.Dir(tg.Gossiper)
		}
		if err := c.start(tg.Gossiper, args, ndir, nd); err != nil {
			return c, fmt.Errorf("start %s: %w", name, err)
		}
	}
	return c, nil
}

func (c *cluster) start(bin string, args []string, dir string, nd *node) error {
	// Own pipes rather than cmd.StdoutPipe: Wait must be free to reap the
	// process the moment it dies, independently of the readers.
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = childAttr()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	nd.cmd = cmd
	nd.started = time.Now()
	c.nodes = append(c.nodes, nd)
	go func() {
		defer outR.Close()
		readLines(outR, func(line string, at time.Time) {
			if nd.out.record(line, at) {
				select {
				case c.changed <- struct{}{}:
				default:
				}
			}
		})
	}()
	go func() {
		defer errR.Close()
		io.Copy(&nd.stderr, errR)
	}()
	go func() {
		nd.waitErr = cmd.Wait()
		close(nd.done)
		c.exited <- nd // buffered for every node, never blocks
	}()
	return nil
}

func (c *cluster) exitErr(nd *node) error {
	tail := lastLines(nd.stderr.String(), 10)
	if tail == "" {
		tail = "(empty)"
	}
	return fmt.Errorf("node %s (pid %d) exited early: %v; stderr tail:\n%s", nd.name, nd.cmd.Process.Pid, nd.waitErr, tail)
}

// stop ends every node by PID: SIGTERM, then SIGKILL after a 2 s grace.
// Signalling through os.Process (a pidfd on Linux) cannot hit a recycled PID.
func (c *cluster) stop() {
	for _, nd := range c.nodes {
		if !nd.exited() {
			nd.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, nd := range c.nodes {
		select {
		case <-nd.done:
		case <-grace.Done():
		}
	}
	for _, nd := range c.nodes {
		if !nd.exited() {
			nd.cmd.Process.Kill()
		}
	}
	reap, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	for _, nd := range c.nodes {
		select {
		case <-nd.done:
		case <-reap.Done():
			fmt.Fprintf(os.Stderr, "harness: node %s (pid %d) not reaped after SIGKILL\n", nd.name, nd.cmd.Process.Pid)
		}
	}
}

// sleep waits d but gives up early if the run is cancelled or a node dies,
// so a crash is reported as such rather than as a slow run.
func (c *cluster) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case nd := <-c.exited:
		return c.exitErr(nd)
	}
}

// waitListening polls the kernel's socket table instead of probing the ports,
// because probing a UDP port would inject a packet the node must parse.
func (c *cluster) waitListening(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		bound, err := boundUDPPorts()
		if err != nil {
			return err
		}
		var missing []*node
		for _, nd := range c.nodes {
			if !bound[nd.gossipPort] || !bound[nd.uiPort] {
				missing = append(missing, nd)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			nd := missing[0]
			return fmt.Errorf("%d of %d nodes not listening after %v; first: %s (gossip %d, UI %d), stderr tail:\n%s",
				len(missing), len(c.nodes), limit, nd.name, nd.gossipPort, nd.uiPort, lastLines(nd.stderr.String(), 10))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case nd := <-c.exited:
			return c.exitErr(nd)
		case <-tick.C:
		}
	}
}

// waitComplete returns when every node has every wanted message, or at the
// deadline. last is the latest first-proof time over all nodes, taken from
// the reader goroutines, so the measured time does not depend on how quickly
// this loop wakes up.
func (c *cluster) waitComplete(ctx context.Context, deadline time.Time) (last time.Time, missing int, err error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		last, missing = c.progress()
		if missing == 0 {
			return last, 0, nil
		}
		select {
		case <-c.changed:
		case nd := <-c.exited:
			return last, missing, c.exitErr(nd)
		case <-ctx.Done():
			return last, missing, ctx.Err()
		case <-t.C:
			last, missing = c.progress()
			return last, missing, nil
		}
	}
}

func (c *cluster) progress() (last time.Time, missing int) {
	for _, nd := range c.nodes {
		found, total, l, _ := nd.out.progress()
		missing += total - found
		if l.After(last) {
			last = l
		}
	}
	return last, missing
}

type cpuSample struct {
	ticks uint64
	at    time.Time
}

// cpuSnapshot timestamps each node's reading separately: reading 50 files
// takes long enough to matter against a 1 s window at 10 ms tick resolution.
func (c *cluster) cpuSnapshot() ([]cpuSample, error) {
	out := make([]cpuSample, len(c.nodes))
	for i, nd := range c.nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", nd.cmd.Process.Pid))
		at := time.Now()
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", nd.name, err)
		}
		ticks, err := parseStatTicks(string(b))
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", nd.name, err)
		}
		out[i] = cpuSample{ticks: ticks, at: at}
	}
	return out, nil
}

// cpuPercent is in percent of one core, so 200 is both cores flat out.
func cpuPercent(a, b cpuSample, hz float64) float64 {
	dt := b.at.Sub(a.at).Seconds()
	if dt <= 0 || b.ticks < a.ticks {
		return 0
	}
	return float64(b.ticks-a.ticks) / hz / dt * 100
}

// parseStatTicks returns utime+stime from /proc/<pid>/stat. The command name
// is in parentheses and may itself hold spaces or ')', so fields are counted
// from the last ')'.
func parseStatTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return ut + st, nil
}

// statusKB returns a "Key:  N kB" field of /proc/<pid>/status or
// /proc/<pid>/smaps_rollup, in KiB.
func statusKB(text, key string) (uint64, error) {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		return strconv.ParseUint(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s", key)
}

// parseVmRSS returns VmRSS from /proc/<pid>/status in KiB.
func parseVmRSS(status string) (uint64, error) { return statusKB(status, "VmRSS") }

func readRSSMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	kb, err := parseVmRSS(string(b))
	return float64(kb) / 1024, err
}

// memSample is what one process costs, in KiB: RSS as ps shows it, the
// private (anonymous) part of it, and the proportional set size, which
// splits each shared page (the binary's, the C library's) among the
// processes that map it, so that PSS summed over processes is what they
// cost the machine together.
type memSample struct {
	RSS, Anon, PSS uint64
}

func parseMem(status, rollup string) (memSample, error) {
	var m memSample
	var err error
	if m.RSS, err = statusKB(status, "VmRSS"); err != nil {
		return m, fmt.Errorf("status: %w", err)
	}
	if m.Anon, err = statusKB(status, "RssAnon"); err != nil {
		return m, fmt.Errorf("status: %w", err)
	}
	if m.PSS, err = statusKB(rollup, "Pss"); err != nil {
		return m, fmt.Errorf("smaps_rollup: %w", err)
	}
	return m, nil
}

func readMem(pid int) (memSample, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, err
	}
	ro, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memSample{}, err
	}
	return parseMem(string(st), string(ro))
}

// parseNetPorts lists the local ports in a /proc/net/udp{,6} table, whatever
// address they are bound to, since an implementation may bind 0.0.0.0 or ::.
func parseNetPorts(table string, into map[int]bool) {
	first := true
	for line := range strings.Lines(table) {
		if first {
			first = false
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
			into[int(p)] = true
		}
	}
}

func boundUDPPorts() (map[int]bool, error) {
	bound := make(map[int]bool)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) && f != "/proc/net/udp" {
			continue
		}
		if err != nil {
			return nil, err
		}
		parseNetPorts(string(b), bound)
	}
	return bound, nil
}

type portSet struct {
	gossip, ui []int
}

// portFree binds and closes the port. TCP is checked as well as UDP because
// Peerster daemons commonly also open a TCP GUI on the UI port number.
func portFree(p int) bool {
	pc, err := net.ListenPacket("udp4", addr(p))
	if err != nil {
		return false
	}
	pc.Close()
	l, err := net.Listen("tcp4", addr(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// pickPorts gives node i gossip port base+i and UI port base+n+i when a base
// is set; otherwise random free ports in 20000-59999, fresh for every run so a
// straggler from an earlier run can never be mistaken for a new node.
func pickPorts(base, n int) (portSet, error) {
	ps := portSet{gossip: make([]int, n), ui: make([]int, n)}
	if base > 0 {
		if base+2*n-1 > 65535 {
			return ps, fmt.Errorf("-portBase %d: needs %d ports, past 65535", base, 2*n)
		}
		for i := range n {
			ps.gossip[i], ps.ui[i] = base+i, base+n+i
		}
		for p := base; p < base+2*n; p++ {
			if !portFree(p) {
				return ps, fmt.Errorf("port %d on 127.0.0.1 is in use", p)
			}
		}
		return ps, nil
	}
	used := make(map[int]bool, 2*n)
	var got []int
	for tries := 0; len(got) < 2*n; tries++ {
		if tries > 20000 {
			return ps, errors.New("could not find enough free ports in 20000-59999")
		}
		p := 20000 + rand.IntN(40000)
		if used[p] {
			continue
		}
		used[p] = true
		if portFree(p) {
			got = append(got, p)
		}
	}
	copy(ps.gossip, got[:n])
	copy(ps.ui, got[n:])
	return ps, nil
}

// sendAll delivers texts to the origin in order, the way -send says.
func sendAll(ctx context.Context, cfg config, client string, uiPort int, texts []string) error {
	if cfg.send == "client" {
		for _, t := range texts {
			if err := runClient(ctx, client, uiPort, t); err != nil {
				return err
			}
		}
		return nil
	}
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: uiPort})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, t := range texts {
		if _, err := conn.Write(clientDatagram(t)); err != nil {
			return fmt.Errorf("datagram to UIPort %d: %w", uiPort, err)
		}
	}
	return nil
}

// clientDatagram is Message{Text: text} in the course's protobuf encoding
// (field 1, length-delimited), byte-identical to what 2018 clients sent.
func clientDatagram(text string) []byte {
	b := []byte{0x0a}
	b = binary.AppendUvarint(b, uint64(len(text)))
	return append(b, text...)
}

// runClient sends one message the way a user would; a client that fails or
// hangs makes the run fail rather than skewing the figures.
func runClient(ctx context.Context, bin string, uiPort int, text string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, "-UIPort="+strconv.Itoa(uiPort), "-msg="+text)
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("client -UIPort=%d -msg=%q: %v: %s", uiPort, text, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// clockTicks asks getconf, as the kernel's USER_HZ is not visible to Go; 100
// is what every mainstream Linux build uses.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}
