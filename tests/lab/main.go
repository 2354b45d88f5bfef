// Command lab runs gossip experiments on the Peerster protocol code, in
// memory in virtual time and as real processes on loopback, and writes a
// self-contained report folder: report.html with the charts inline as SVG,
// the raw data as CSV, and the parameters and versions used.
//
//	go run ./tests/lab -out /tmp/lab -preset smoke
//	go run ./tests/lab -out /tmp/lab -plot scaling -engine memory -sweep n=10,100,1000 -set loss=0.3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/peerster-chat/Peerster/tests/implflag"
	"github.com/peerster-chat/Peerster/tests/lab/exp"
	"github.com/peerster-chat/Peerster/tests/lab/report"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type config struct {
	out, preset, plot, engines string
	sets, sweeps, procSweeps   multiFlag
	runs                       int
	seed                       uint64
	proc                       exp.ProcessConfig
	netns                      string
	// progress gets a line per run.
	progress io.Writer
}

func parseFlags(args []string) (config, error) {
	c := config{progress: os.Stdout}
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.StringVar(&c.out, "out", "", "report folder to write (created)")
	fs.StringVar(&c.preset, "preset", "", "smoke, infection, scaling, traffic, residue, loss or compare")
	fs.StringVar(&c.plot, "plot", "", "without -preset, one plot: "+strings.Join(kinds, ", "))
	fs.StringVar(&c.engines, "engine", exp.Memory, "with -plot, the engines: memory, process or memory,process")
	fs.Var(&c.sets, "set", "with -plot, a base parameter name=value (repeatable): "+strings.Join(exp.Names, ", "))
	fs.Var(&c.sweeps, "sweep", "with -plot, a swept parameter name=v1,v2,... (repeatable; the first is the x axis)")
	fs.Var(&c.procSweeps, "sweep.process", "with -plot, a sweep that replaces the one of the same name for the process engine")
	fs.IntVar(&c.runs, "runs", 0, "runs per point (0: the preset's, or 5 with -plot)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of run 1; run i uses seed+i-1 at every point, so points compare on the same graphs")
	impl := fs.String("impl", "", "the implementation the process engine runs, NAME=GOSSIPER,CLIENT[,cd] as tests/harness takes it (default: ours, built from this repository)")
	fs.StringVar(&c.netns, "netns", "auto", "run process runs in a network namespace of their own: on, off, or auto (on as root with ip)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case c.out == "":
		return c, errors.New("-out DIR is required")
	case (c.preset == "") == (c.plot == ""):
		return c, errors.New("give one of -preset and -plot")
	case c.plot != "" && !slices.Contains(kinds, c.plot):
		return c, fmt.Errorf("-plot %q: one of %s", c.plot, strings.Join(kinds, ", "))
	}
	if *impl != "" {
		im, err := implflag.Parse(*impl)
		if err != nil {
			return c, err
		}
		c.proc.Name, c.proc.Gossiper, c.proc.Client, c.proc.Chdir = im.Name, im.Gossiper, im.Client, im.Chdir
	}
	switch c.netns {
	case "on":
		c.proc.Netns = true
	case "auto":
		_, err := exec.LookPath("ip")
		c.proc.Netns = os.Geteuid() == 0 && err == nil
	case "off":
	default:
		return c, fmt.Errorf("-netns %q: on, off or auto", c.netns)
	}
	return c, nil
}

// custom is the experiment -plot describes.
func custom(c config) ([]experiment, error) {
	base := exp.Defaults()
	for _, s := range c.sets {
		name, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("-set %q: want name=value", s)
		}
		if err := base.Set(name, v); err != nil {
			return nil, err
		}
	}
	var sweeps, procSweeps []sweep
	for _, s := range c.sweeps {
		sw, err := parseSweep(s)
		if err != nil {
			return nil, err
		}
		sweeps = append(sweeps, sw)
	}
	procSweeps = slices.Clone(sweeps)
	for _, s := range c.procSweeps {
		sw, err := parseSweep(s)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(procSweeps, func(o sweep) bool { return o.Name == sw.Name })
		if i < 0 {
			procSweeps = append(procSweeps, sw)
		} else {
			procSweeps[i] = sw
		}
	}
	runs := c.runs
	if runs == 0 {
		runs = 5
	}
	e := experiment{ID: c.plot, Kind: c.plot, Base: base}
	for _, eng := range strings.Split(c.engines, ",") {
		switch eng {
		case exp.Memory:
			e.Arms = append(e.Arms, arm{eng, sweeps, runs})
		case exp.Process:
			e.Arms = append(e.Arms, arm{eng, procSweeps, runs})
		default:
			return nil, fmt.Errorf("-engine %q: memory, process or both", eng)
		}
	}
	return []experiment{e}, nil
}

func main() { os.Exit(realMain(os.Args[1:])) }

func realMain(args []string) int {
	c, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 2
	}
	var exps []experiment
	if c.preset != "" {
		exps, err = presets(c.preset, c.runs)
	} else {
		exps, err = custom(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C ends the experiment after the current run, whose
	// nodes are then stopped; a second one kills the lab at once, and its
	// nodes with it (Pdeathsig).
	go func() {
		<-ctx.Done()
		stop()
	}()
	// Thousands of simulated nodes allocate a lot of short-lived garbage;
	// a laxer collector halves the wall time of a 10,000-node run.
	debug.SetGCPercent(400)
	if err := run(ctx, c, exps, strings.Join(append([]string{"go run ./tests/lab"}, args...), " ")); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, c config, exps []experiment, command string) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	var all [][]*point
	needProc := false
	for _, e := range exps {
		pts, err := e.points()
		if err != nil {
			return err
		}
		all = append(all, pts)
		for _, a := range e.Arms {
			needProc = needProc || a.Engine == exp.Process
		}
	}
	if needProc && c.proc.Gossiper == "" {
		if err := buildBinaries(&c.proc, filepath.Join(c.out, "bin")); err != nil {
			return err
		}
		c.proc.Name = "ours"
	}
	// Other work on the machine slows the process engine; the report says
	// how busy it was.
	loadBefore := loadAverage()
	for i, e := range exps {
		for _, pt := range all[i] {
			runs := 0
			for _, a := range e.Arms {
				if a.Engine == pt.Params.Engine {
					runs = a.Runs
				}
			}
			for r := 1; r <= runs; r++ {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				res := exp.Run(pt.Params, r, c.seed+uint64(r-1), c.proc)
				pt.Results = append(pt.Results, res)
				status := fmt.Sprintf("reached %.4f, t100 %.3fs", res.Reached(), res.TimeTo(1))
				if res.Err != "" {
					status = "error: " + res.Err
				}
				fmt.Fprintf(c.progress, "%s: %s run %d/%d: %s (%.1fs wall)\n", e.ID, pt.Label, r, runs, status, res.Wall)
			}
		}
	}
	return writeReport(c, exps, all, command, []report.KV{{Key: "load average before runs", Value: loadBefore}, {Key: "load average after runs", Value: loadAverage()}})
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// buildBinaries builds this repository's gossiper and client for the
// process engine, so a report always says which code it ran.
func buildBinaries(p *exp.ProcessConfig, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("finding the module to build: %w", err)
	}
	mod := strings.TrimSpace(string(root))
	for _, b := range []struct {
		dst *string
		pkg string
		out string
	}{{&p.Gossiper, ".", "Peerster"}, {&p.Client, "./client", "client"}} {
		out := filepath.Join(dir, b.out)
		cmd := exec.Command("go", "build", "-o", out, b.pkg)
		cmd.Dir = mod
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v: %s", b.pkg, err, msg)
		}
		abs, err := filepath.Abs(out)
		if err != nil {
			return err
		}
		*b.dst = abs
	}
	return nil
}
