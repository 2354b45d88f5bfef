// Command harness benchmarks any Peerster (EPFL CS438 2018, homework 1)
// implementation from the outside: it starts the gossiper binary with the
// handout's flags only, sends messages with the client binary, and reads the
// nodes' stdout protocol lines to time dissemination. Linux only: CPU, memory
// and socket state come from /proc.
//
//	go run ./tests/harness -gossiper ./Peerster -client ./client/client -runs 5
//
// With -impl (repeatable) or -scenario table it measures ours and every
// other implementation side by side, interleaved run by run, and prints a
// Markdown table with the ratios:
//
//	go run ./tests/harness -runs 3 -impl gregunz=/scratch/gregunz/Peerster,/scratch/gregunz/client/client
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/peerster-chat/Peerster/tests/implflag"
)

type config struct {
	gossiper    string
	client      string
	scenario    string
	runs        int
	seed        uint64
	timeout     time.Duration
	portBase    int
	settle      time.Duration
	idle        time.Duration
	startup     time.Duration
	antiEntropy string
	json        bool
	send        string
	hz          float64
	tail        time.Duration
	impls       implflag.List
	// The side-by-side table's intake test and client start timing.
	intakeRates  []int
	intakeFor    time.Duration
	intakeWait   time.Duration
	clientStarts int
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	fs.StringVar(&cfg.gossiper, "gossiper", "./Peerster", "gossiper binary")
	fs.StringVar(&cfg.client, "client", "./client/client", "client binary")
	fs.StringVar(&cfg.scenario, "scenario", "all", "ring10, graph50, burst100, graph100, all (the first three) or table (the side-by-side table; the default with -impl)")
	fs.IntVar(&cfg.runs, "runs", 5, "runs per scenario; medians are over these")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the random graph and its origin node")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per run, from the first client launch")
	fs.IntVar(&cfg.portBase, "portBase", 0, "node i gets gossip port base+i and UI port base+N+i; 0: random free ports in 20000-59999")
	fs.DurationVar(&cfg.settle, "settle", 1500*time.Millisecond, "wait after all nodes listen, before measuring")
	fs.DurationVar(&cfg.idle, "idle", 2*time.Second, "idle CPU window, before the first message")
	fs.DurationVar(&cfg.startup, "startup", 10*time.Second, "how long nodes may take to bind their ports")
	fs.StringVar(&cfg.antiEntropy, "antiEntropy", "", "if set, passed to every gossiper as -antiEntropy=VALUE")
	fs.BoolVar(&cfg.json, "json", false, "also print machine-readable results")
	fs.StringVar(&cfg.send, "send", "client", "how messages reach the origin: client (run the client binary per message) or datagram (write the 2018 Message{Text} datagrams to its UIPort from one socket, so a burst is not limited by process start-up)")
	fs.DurationVar(&cfg.tail, "tail", time.Second, "after a run completes, how long receptions and FLIPPED COIN lines are still counted")
	fs.Var(&cfg.impls, "impl", "another implementation to measure side by side with ours, NAME=GOSSIPER,CLIENT[,cd] (repeatable; cd: run it from its binary's directory)")
	rates := fs.String("intakeRates", "1000,5000,10000,20000", "table: the intake test's rates, client messages a second")
	fs.DurationVar(&cfg.intakeFor, "intakeFor", 2*time.Second, "table: how long each intake rate is sent")
	fs.DurationVar(&cfg.intakeWait, "intakeWait", 5*time.Second, "table: how long the far end may take after the last intake message")
	fs.IntVar(&cfg.clientStarts, "clientStarts", 10, "table: client launches timed per implementation and run")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if len(cfg.impls) > 0 && !flagSet(fs, "scenario") {
		cfg.scenario = "table"
	}
	var err error
	if cfg.intakeRates, err = parseRates(*rates); err != nil {
		return cfg, err
	}
	if cfg.intakeFor <= 0 || cfg.intakeWait < 0 || cfg.clientStarts < 1 || cfg.tail < 0 {
		return cfg, errors.New("-intakeFor and -clientStarts must be positive, -intakeWait and -tail not negative")
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.send != "client" && cfg.send != "datagram" {
		return cfg, fmt.Errorf("-send %q: want client or datagram", cfg.send)
	}
	if cfg.runs < 1 {
		return cfg, errors.New("-runs must be at least 1")
	}
	if cfg.timeout <= 0 || cfg.settle < 0 || cfg.idle <= 0 || cfg.startup <= 0 {
		return cfg, errors.New("-timeout, -idle and -startup must be positive, -settle not negative")
	}
	if cfg.portBase < 0 || cfg.portBase > 65535 {
		return cfg, errors.New("-portBase out of range")
	}
	// Absolute paths, because each node runs in its own scratch directory.
	for _, p := range []*string{&cfg.gossiper, &cfg.client} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return cfg, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return cfg, fmt.Errorf("binary: %w", err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return cfg, fmt.Errorf("%s is not an executable file", abs)
		}
		*p = abs
	}
	return cfg, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseRates reads a comma-separated list of positive rates.
func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-intakeRates %q: want positive integers separated by commas", s)
		}
		out = append(out, r)
	}
	return out, nil
}

type scenarioReport struct {
	Summary summary     `json:"summary"`
	Desc    string      `json:"description"`
	Names   []string    `json:"node_names"`
	Edges   [][2]int    `json:"edges"`
	Results []runResult `json:"runs"`
}

func main() { os.Exit(realMain()) }

func realMain() int {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	cfg.hz = clockTicks()
	if cfg.scenario == "table" {
		return tableMain(cfg)
	}
	scenarios, err := buildScenarios(cfg.scenario, cfg.seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C the harness cleans up; a second one should kill
	// it at once (the nodes then die through Pdeathsig).
	go func() {
		<-ctx.Done()
		stop()
	}()

	var reports []scenarioReport
	errorsSeen := false
	for _, sc := range scenarios {
		rep := scenarioReport{Desc: sc.Desc, Names: sc.Topo.Names, Edges: sc.Topo.edges()}
		for run := 1; run <= cfg.runs && ctx.Err() == nil; run++ {
			res, err := runOnce(ctx, cfg, target{Name: "ours", Gossiper: cfg.gossiper, Client: cfg.client}, sc, run)
			if ctx.Err() != nil {
				break // an interrupted run is neither a result nor a failure
			}
			if err != nil {
				res.Err = err.Error()
				errorsSeen = true
			}
			progress(sc, cfg.runs, res)
			rep.Results = append(rep.Results, res)
		}
		rep.Summary = summarize(sc, rep.Results)
		reports = append(reports, rep)
		if ctx.Err() != nil {
			break
		}
	}

	printTable(os.Stdout, cfg, reports)
	if cfg.json {
		out := struct {
			Gossiper    string           `json:"gossiper"`
			Client      string           `json:"client"`
			Runs        int              `json:"runs_requested"`
			Seed        uint64           `json:"seed"`
			TimeoutMs   float64          `json:"timeout_ms"`
			SettleMs    float64          `json:"settle_ms"`
			IdleMs      float64          `json:"idle_ms"`
			ClkTck      float64          `json:"clk_tck"`
			Interrupted bool             `json:"interrupted"`
			Scenarios   []scenarioReport `json:"scenarios"`
		}{cfg.gossiper, cfg.client, cfg.runs, cfg.seed, ms(cfg.timeout), ms(cfg.settle), ms(cfg.idle), cfg.hz, ctx.Err() != nil, reports}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		fmt.Println()
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(os.Stderr, "harness: json:", err)
			return 1
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "harness: interrupted")
		return 130
	case errorsSeen:
		return 1
	}
	return 0
}

// tableMain runs the side-by-side table: ours first, then every -impl.
func tableMain(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	targets := []target{{Name: "ours", Gossiper: cfg.gossiper, Client: cfg.client}}
	for _, im := range cfg.impls {
		targets = append(targets, target{Name: im.Name, Gossiper: im.Gossiper, Client: im.Client, Chdir: im.Chdir})
	}
	start := time.Now()
	trs, err := runTable(ctx, cfg, targets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	printMarkdown(os.Stdout, cfg, trs, 100, start)
	if cfg.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		fmt.Println()
		if err := enc.Encode(trs); err != nil {
			fmt.Fprintln(os.Stderr, "harness: json:", err)
			return 1
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "harness: interrupted")
		return 130
	}
	return 0
}
