// Command mixring runs the course's ring scripts on rings that mix our
// gossiper with other Peerster implementations, and reports per check and
// per node which implementation failed.
//
// For each implementation, each script and each of -runs rounds it runs
// three rings, interleaved so that all see the same machine load: ten of our
// nodes, ten of theirs (each driven by its own client), and a mixed ring in
// which A, C, E, G, I are ours and B, D, F, H, J theirs. It prints a
// Markdown matrix: pass rates side by side, and the checks that failed at
// our nodes and at theirs.
//
//	go run ./tests/mixring -runs 5 \
//	    -impl nt1m=/scratch/nt1m/Peerster,/scratch/nt1m/client/client \
//	    -impl romain=/scratch/romain/Peerster,/scratch/romain/client/client,cd
//
// ",cd" runs that implementation from its binary's directory, for those that
// read files (a GUI) by relative path. Other people's code is never part of
// this repository: build it elsewhere and pass the paths.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/peerster-chat/Peerster/tests/implflag"
)

func main() {
	var impls implflag.List
	flag.Var(&impls, "impl", "another implementation, NAME=GOSSIPER,CLIENT[,cd] (repeatable)")
	runs := flag.Int("runs", 5, "rounds; each runs every ring once")
	scripts := flag.String("scripts", "test_1_ring.sh,test_2_ring.sh", "ring scripts, comma-separated, from the repository root")
	repo := flag.String("repo", ".", "repository root, holding the scripts")
	ours := flag.String("ours", "", "our gossiper (default: built from -repo into a temporary directory)")
	ourClient := flag.String("client", "", "our client (default: built with the gossiper)")
	gossipBase := flag.Int("gossipBase", 5000, "first gossip port of a ring (10 ports); the course's checks expect 4 digits")
	uiBase := flag.Int("uiBase", 12345, "first UI port of a ring (10 ports)")
	keep := flag.String("keep", "", "keep the node outputs of failing runs under this directory")
	jsonOut := flag.String("json", "", "also write every run's result to this file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./tests/mixring -impl NAME=GOSSIPER,CLIENT[,cd] ... [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if len(impls) == 0 || *runs < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, config{
		impls: impls, runs: *runs, scripts: strings.Split(*scripts, ","), repo: *repo,
		ours: *ours, client: *ourClient, gossipBase: *gossipBase, uiBase: *uiBase, keep: *keep, json: *jsonOut,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "mixring:", err)
		os.Exit(1)
	}
}

type config struct {
	impls              []implflag.Impl
	runs               int
	scripts            []string
	repo, ours, client string
	gossipBase, uiBase int
	keep, json         string
}

func run(ctx context.Context, cfg config) error {
	repo, err := filepath.Abs(cfg.repo)
	if err != nil {
		return err
	}
	for _, s := range cfg.scripts {
		if _, err := os.Stat(filepath.Join(repo, s)); err != nil {
			return fmt.Errorf("script %s: %w (is -repo the repository root?)", s, err)
		}
	}
	tmp, err := os.MkdirTemp("", "mixring")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if cfg.ours == "" || cfg.client == "" {
		if cfg.ours, cfg.client, err = buildOurs(ctx, repo, tmp); err != nil {
			return err
		}
	}
	for i, im := range cfg.impls {
		if im.Chdir {
			if cfg.impls[i].Gossiper, err = chdirWrapper(tmp, im); err != nil {
				return err
			}
		}
	}

	m := NewMatrix()
	var all []Run
	total := cfg.runs * len(cfg.scripts) * (1 + 2*len(cfg.impls))
	done := 0
	for round := 1; round <= cfg.runs; round++ {
		for _, script := range cfg.scripts {
			rings := []Run{{Script: script, Mode: ModeOurs}}
			for _, im := range cfg.impls {
				rings = append(rings, Run{Impl: im.Name, Script: script, Mode: ModeAlone}, Run{Impl: im.Name, Script: script, Mode: ModeMixed})
			}
			for _, r := range rings {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				env := ringEnv(cfg, r, implNamed(cfg.impls, r.Impl))
				start := time.Now()
				r.Result = runScript(ctx, repo, script, env)
				if r.Result.OutDir != "" {
					keepOutputs(cfg.keep, r, round)
				}
				done++
				fmt.Fprintf(os.Stderr, "[%d/%d] round %d %s %s %s: %s (%.0f s)\n", done, total, round, script, r.Mode, orOurs(r.Impl),
					summary(r), time.Since(start).Seconds())
				m.Add(r)
				all = append(all, r)
			}
		}
	}
	fmt.Printf("%d rounds on %s; each cell is passed/run.\n\n", cfg.runs, hostDescription())
	m.Write(os.Stdout, cfg.scripts)
	if cfg.json != "" {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.json, b, 0o644); err != nil {
			return err
		}
	}
	if n := m.OursFailures(); n > 0 {
		return fmt.Errorf("a check failed at one of our nodes in %d mixed runs", n)
	}
	return nil
}

func implNamed(impls []implflag.Impl, name string) implflag.Impl {
	for _, im := range impls {
		if im.Name == name {
			return im
		}
	}
	return implflag.Impl{}
}

func orOurs(name string) string {
	if name == "" {
		return "ours"
	}
	return name
}

// ringEnv is the environment of tests/ring/lib.sh for one ring.
func ringEnv(cfg config, r Run, im implflag.Impl) []string {
	env := append(os.Environ(),
		"PEERSTER_NO_BUILD=1",
		fmt.Sprintf("GOSSIP_BASE=%d", cfg.gossipBase),
		fmt.Sprintf("UI_BASE=%d", cfg.uiBase),
	)
	if cfg.keep != "" {
		env = append(env, "KEEP_OUT=1")
	}
	switch r.Mode {
	case ModeOurs:
		env = append(env, "PEERSTER_BIN="+cfg.ours, "CLIENT_BIN="+cfg.client, "OTHER_BIN=")
	case ModeAlone:
		env = append(env, "PEERSTER_BIN="+im.Gossiper, "CLIENT_BIN="+im.Client, "OTHER_BIN=")
	case ModeMixed:
		env = append(env, "PEERSTER_BIN="+cfg.ours, "CLIENT_BIN="+cfg.client, "OTHER_BIN="+im.Gossiper, "OTHER_CLIENT_BIN="+im.Client)
	}
	return env
}

func runScript(ctx context.Context, repo, script string, env []string) Result {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, script))
	cmd.Dir = repo
	cmd.Env = env
	// The script stops its own nodes on SIGTERM; a kill would leave them.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		return Result{Setup: err.Error()}
	}
	return ParseResult(string(out), code)
}

func summary(r Run) string {
	res := r.Result
	switch {
	case res.Passed:
		return "passed"
	case res.Checks == 0:
		return "did not run: " + res.Setup
	}
	var where []string
	for _, f := range res.Failures {
		where = append(where, fmt.Sprintf("%s@%s", f.Check, nodeName(f.Node, r.Mode)))
	}
	return fmt.Sprintf("FAILED %s (%s)", strings.Join(res.Failed, ", "), strings.Join(dedupe(where), " "))
}

func nodeName(i int, mode Mode) string {
	if i < 0 {
		return "ring"
	}
	return fmt.Sprintf("%c(%s)", 'A'+i, Side(mode, i))
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// keepOutputs moves a failing run's node outputs under dir, and removes a
// passing run's.
func keepOutputs(dir string, r Run, round int) {
	if r.Result.Passed || dir == "" {
		os.RemoveAll(r.Result.OutDir)
		return
	}
	dst := filepath.Join(dir, fmt.Sprintf("%s-%s-%s-round%d", strings.TrimSuffix(r.Script, ".sh"), r.Mode, orOurs(r.Impl), round))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := os.Rename(r.Result.OutDir, dst); err == nil {
			fmt.Fprintf(os.Stderr, "  outputs kept in %s\n", dst)
			return
		}
	}
	os.RemoveAll(r.Result.OutDir)
}

func buildOurs(ctx context.Context, repo, dir string) (gossiper, client string, err error) {
	gossiper, client = filepath.Join(dir, "Peerster"), filepath.Join(dir, "client")
	for _, b := range [][2]string{{gossiper, "."}, {client, "./client"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b[0], b[1])
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return gossiper, client, nil
}

// chdirWrapper writes a script that runs the gossiper from its directory.
func chdirWrapper(dir string, im implflag.Impl) (string, error) {
	path := filepath.Join(dir, "run-"+im.Name)
	script := fmt.Sprintf("#!/bin/sh\ncd %s && exec %s \"$@\"\n", shellQuote(filepath.Dir(im.Gossiper)), shellQuote(im.Gossiper))
	return path, os.WriteFile(path, []byte(script), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func hostDescription() string {
	host, _ := os.Hostname()
	cpus := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpus = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			cpus++
		}
	}
	return fmt.Sprintf("%s (%d CPUs), %s", host, cpus, time.Now().Format("2006-01-02"))
}
