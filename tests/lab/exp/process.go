package exp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ProcessConfig says which implementation the process engine runs.
type ProcessConfig struct {
	// Name labels the implementation in the report. Gossiper and Client
	// are its binaries, taking the handout's flags: -UIPort -gossipAddr
	// -name -peers -antiEntropy, and -UIPort -msg. Chdir runs each node
	// from its binary's directory, for implementations that read files
	// by relative path.
	Name, Gossiper, Client string
	Chdir                  bool
	// Netns runs every run in a network namespace of its own (needs root
	// and ip): nothing else on the machine shares its loopback, and loss
	// is made there by nftables. Without it loss must be 0.
	Netns bool
}

// Ports inside a namespace of our own are fixed; on the host's loopback
// they are drawn at random per run.
const (
	gossipBase = 20000
	uiBase     = 40000
)

type proc struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{}
	seen  map[string]time.Time // message text -> when this node first proved it held it
	gport int
	uport int
}

// runProcess starts p.N gossiper processes, sends the messages with the
// client and reads every node's stdout for the lines that prove it holds
// them (CLIENT MESSAGE at the origin, RUMOR elsewhere), timestamped as
// they are read. Traffic is read from our daemon's /metrics; another
// implementation has none and its runs report no traffic.
func runProcess(p Params, run int, seed uint64, cfg ProcessConfig) Result {
	res := Result{Params: p, Run: run, Seed: seed, Pairs: p.N * p.Msgs, Datagrams: -1, Bytes: -1, Rumors: -1, Statuses: -1}
	wall := time.Now()
	if err := runProcessInto(&res, p, seed, cfg); err != nil {
		res.Err = err.Error()
	}
	res.Wall = time.Since(wall).Seconds()
	return res
}

func runProcessInto(res *Result, p Params, seed uint64, cfg ProcessConfig) error {
	switch {
	case p.Coin != "fair" || (p.Ack != 0 && p.Ack != time.Second):
		return errors.New("the process engine runs the binary's own fair coin and 1 s ack timeout")
	case p.AE%time.Second != 0:
		return fmt.Errorf("ae=%v: -antiEntropy takes whole seconds", p.AE)
	case p.Loss > 0 && !cfg.Netns:
		return errors.New("loss on the process engine needs a network namespace (-netns, as root)")
	case p.Dup > 0:
		return errors.New("the process engine cannot duplicate datagrams")
	case p.N > uiBase-gossipBase:
		return fmt.Errorf("n=%d: the process engine runs at most %d nodes", p.N, uiBase-gossipBase)
	}
	peers, err := Topology(p, seed)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "peerster-lab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ns := ""
	if cfg.Netns {
		ns = fmt.Sprintf("peerlab%d-%d", os.Getpid(), seed%100000)
		if err := makeNetns(ns, p.Loss); err != nil {
			return err
		}
		defer exec.Command("ip", "netns", "del", ns).Run()
	}
	gports, uports, err := ports(p.N, ns != "")
	if err != nil {
		return err
	}
	texts := make([]string, p.Msgs)
	for m := range texts {
		texts[m] = fmt.Sprintf("lab-%d-%d", seed, m+1)
	}

	var mu sync.Mutex
	changed := make(chan struct{}, 1)
	procs := make([]*proc, p.N)
	defer stopAll(procs)
	for i := range p.N {
		ps := make([]string, len(peers[i]))
		for j, q := range peers[i] {
			ps[j] = "127.0.0.1:" + strconv.Itoa(gports[q])
		}
		args := []string{
			"-UIPort=" + strconv.Itoa(uports[i]),
			"-gossipAddr=127.0.0.1:" + strconv.Itoa(gports[i]),
			"-name=" + fmt.Sprintf("N%05d", i),
			"-peers=" + strings.Join(ps, ","),
			"-antiEntropy=" + strconv.Itoa(int(p.AE/time.Second)),
		}
		pr := &proc{name: fmt.Sprintf("N%05d", i), done: make(chan struct{}), seen: make(map[string]time.Time), gport: gports[i], uport: uports[i]}
		ndir := filepath.Join(dir, pr.name)
		if err := os.Mkdir(ndir, 0o755); err != nil {
			return err
		}
		if cfg.Chdir {
			ndir = filepath.Dir(cfg.Gossiper)
		}
		if err := start(pr, cfg.Gossiper, args, ndir, ns, func(text string, at time.Time) {
			mu.Lock()
			if _, ok := pr.seen[text]; !ok && slices.Contains(texts, text) {
				pr.seen[text] = at
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			mu.Unlock()
		}); err != nil {
			return fmt.Errorf("start node %d: %w", i, err)
		}
		procs[i] = pr
	}
	if err := waitListening(procs, 10*time.Second); err != nil {
		return err
	}
	time.Sleep(p.Settle)
	before := scrapeAll(procs, ns)

	origins := rand.New(rand.NewPCG(seed, 1))
	from := make([]int, p.Msgs)
	for m := range from {
		from[m] = p.OriginOf(m, origins)
	}
	t0 := time.Now()
	for m, text := range texts {
		if err := sendClient(cfg.Client, ns, uports[from[m]], text); err != nil {
			return err
		}
	}
	for {
		mu.Lock()
		held := 0
		for _, pr := range procs {
			held += len(pr.seen)
		}
		mu.Unlock()
		if held == res.Pairs {
			break
		}
		exited := -1
		for i, pr := range procs {
			select {
			case <-pr.done:
				exited = i
			default:
			}
		}
		if exited >= 0 {
			return fmt.Errorf("node %d exited during the run", exited)
		}
		// Woken by a new proof, or every 100 ms to notice a dead node
		// or the horizon.
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(t0) >= p.Horizon {
			break
		}
	}
	res.End = time.Since(t0).Seconds()
	after := scrapeAll(procs, ns)
	if before != nil && after != nil {
		for k, v := range after {
			d := v - before[k]
			switch k {
			case "packets/rumor":
				res.Rumors = d
			case "packets/status":
				res.Statuses = d
			}
		}
		res.Datagrams, res.Bytes = after["packets"]-before["packets"], after["bytes"]-before["bytes"]
	}
	mu.Lock()
	for _, pr := range procs {
		for _, at := range pr.seen {
			res.Times = append(res.Times, at.Sub(t0).Seconds())
		}
	}
	mu.Unlock()
	slices.Sort(res.Times)
	return nil
}

// makeNetns creates a namespace with loopback up and, for loss, an
// nftables rule dropping that share of datagrams to gossip ports on
// input, where a drop is silent as on a real network.
func makeNetns(ns string, loss float64) error {
	cmds := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
	}
	if loss > 0 {
		pct := strconv.Itoa(int(loss*100 + 0.5))
		cmds = append(cmds,
			[]string{"ip", "netns", "exec", ns, "nft", "add", "table", "inet", "loss"},
			[]string{"ip", "netns", "exec", ns, "nft", "add chain inet loss in { type filter hook input priority 0 ; }"},
			[]string{"ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "loss", "in", "udp", "dport",
				fmt.Sprintf("%d-%d", gossipBase, uiBase-1), "numgen", "random", "mod", "100", "<", pct, "counter", "drop"})
	}
	for i, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			if i > 0 {
				exec.Command("ip", "netns", "del", ns).Run()
			}
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// ports are fixed inside our own namespace, else drawn at random among
// free ones in 20000-59999, fresh each run so a straggler of an earlier
// run is never taken for a new node.
func ports(n int, own bool) ([]int, []int, error) {
	g, u := make([]int, n), make([]int, n)
	if own {
		for i := range n {
			g[i], u[i] = gossipBase+i, uiBase+i
		}
		return g, u, nil
	}
	used := map[int]bool{}
	draw := func() (int, error) {
		for range 20000 {
			p := 20000 + rand.IntN(40000)
			if !used[p] && portFree(p) {
				used[p] = true
				return p, nil
			}
		}
		return 0, errors.New("no free ports in 20000-59999")
	}
	for i := range n {
		var err error
		if g[i], err = draw(); err != nil {
			return nil, nil, err
		}
		if u[i], err = draw(); err != nil {
			return nil, nil, err
		}
	}
	return g, u, nil
}

// portFree checks UDP and TCP, since our daemon also opens TCP on both.
func portFree(p int) bool {
	a := "127.0.0.1:" + strconv.Itoa(p)
	pc, err := net.ListenPacket("udp4", a)
	if err != nil {
		return false
	}
	pc.Close()
	l, err := net.Listen("tcp4", a)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func start(pr *proc, bin string, args []string, dir, ns string, line func(string, time.Time)) error {
	if ns != "" {
		args = append([]string{"netns", "exec", ns, bin}, args...)
		bin = "ip"
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// Own process group, so a terminal's Ctrl-C reaches only the lab,
	// which stops the nodes itself; Pdeathsig kills them if it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pr.cmd = cmd
	go func() {
		defer close(pr.done)
		readProof(out, line)
		cmd.Wait()
	}()
	return nil
}

// readProof calls line with the text of every CLIENT MESSAGE and RUMOR
// line, timestamped when read: that time is the measurement.
func readProof(r io.Reader, line func(string, time.Time)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s := sc.Text()
		if text, ok := strings.CutPrefix(s, "CLIENT MESSAGE "); ok {
			line(text, time.Now())
		} else if strings.HasPrefix(s, "RUMOR origin ") {
			if _, text, ok := strings.Cut(s, " contents "); ok {
				line(text, time.Now())
			}
		}
	}
	// Keep draining after a line too long to scan, so the node never
	// blocks on a full pipe.
	io.Copy(io.Discard, r)
}

// stopAll ends our nodes by PID: SIGTERM, SIGKILL after 2 s.
func stopAll(procs []*proc) {
	for _, pr := range procs {
		if pr != nil {
			pr.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace := time.After(2 * time.Second)
	for _, pr := range procs {
		if pr == nil {
			continue
		}
		select {
		case <-pr.done:
		case <-grace:
			pr.cmd.Process.Kill()
			<-pr.done
		}
	}
}

// waitListening polls the socket table the nodes see (their namespace's)
// rather than probing ports, which would inject datagrams.
func waitListening(procs []*proc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/udp", procs[0].cmd.Process.Pid))
		if err != nil {
			return err
		}
		bound := map[int]bool{}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			if _, h, ok := strings.Cut(f[1], ":"); ok {
				if v, err := strconv.ParseUint(h, 16, 16); err == nil {
					bound[int(v)] = true
				}
			}
		}
		missing := 0
		for _, pr := range procs {
			if !bound[pr.gport] || !bound[pr.uport] {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes not listening after %v", missing, len(procs), limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sendClient(client, ns string, uiPort int, text string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := []string{"-UIPort=" + strconv.Itoa(uiPort), "-msg=" + text}
	bin := client
	if ns != "" {
		args = append([]string{"netns", "exec", ns, client}, args...)
		bin = "ip"
	}
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("client: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// scrapeAll sums every node's Peerster datagrams and bytes sent, from
// our daemon's /metrics on the UI port number; nil when a node has none
// (another implementation).
func scrapeAll(procs []*proc, ns string) map[string]int64 {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dialIn(ns)}}
	defer client.CloseIdleConnections()
	sum := map[string]int64{}
	for _, pr := range procs {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", pr.uport))
		if err != nil {
			return nil
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			l := sc.Text()
			for _, metric := range []string{"packets", "bytes"} {
				rest, ok := strings.CutPrefix(l, "peerster_"+metric+"_total{")
				if !ok || !strings.Contains(rest, `direction="out"`) || !strings.Contains(rest, `protocol="peerster"`) {
					continue
				}
				labels, val, _ := strings.Cut(rest, "} ")
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil {
					continue
				}
				sum[metric] += int64(f)
				if _, typ, ok := strings.Cut(labels, `type="`); ok {
					typ, _, _ = strings.Cut(typ, `"`)
					sum[metric+"/"+typ] += int64(f)
				}
			}
		}
		resp.Body.Close()
	}
	return sum
}

// dialIn dials inside namespace ns: the socket is made on a thread
// switched into it, and stays there once the thread switches back.
func dialIn(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if ns == "" {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			// A thread that cannot switch back is never unlocked, so
			// the runtime discards it when this goroutine ends.
			runtime.LockOSThread()
			orig, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer orig.Close()
			target, err := os.Open("/var/run/netns/" + ns)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := d.DialContext(ctx, network, addr)
			if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}
