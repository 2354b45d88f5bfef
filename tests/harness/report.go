package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

func fmtMs(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fs", v/1000)
}

func fmtAgg(a *aggregate, format string) string {
	if a == nil {
		return "-"
	}
	return fmt.Sprintf(format+" (max "+format+")", a.Median, a.Max)
}

// progress goes to stderr so that stdout stays the table (and JSON) only.
func progress(sc scenario, runs int, r runResult) {
	prefix := fmt.Sprintf("%s run %d/%d:", sc.Name, r.Run, runs)
	if r.Err != "" {
		fmt.Fprintf(os.Stderr, "%s ERROR %s\n", prefix, r.Err)
		return
	}
	t := fmt.Sprintf("incomplete, %d of %d (node,message) pairs missing", r.Missing, r.Pairs)
	if r.Complete {
		t = fmtMs(*r.TimeMs)
	}
	var idle, busy, rss, lines []float64
	for _, n := range r.Nodes {
		idle = append(idle, n.IdleCPU)
		busy = append(busy, n.BusyCPU)
		rss = append(rss, n.RSSMB)
		lines = append(lines, float64(n.Lines))
	}
	fmt.Fprintf(os.Stderr, "%s %s (clients %s); per node median: idle %.1f%% busy %.1f%% [%s %s] rss %.1fMB lines %.0f\n",
		prefix, t, fmtMs(r.SendMs), median(idle), median(busy), r.BusyWindow, fmtMs(r.BusyWindowMs), median(rss), median(lines))
}

func printTable(w io.Writer, cfg config, reports []scenarioReport) {
	fmt.Fprintf(w, "gossiper %s\nclient   %s\n", cfg.gossiper, cfg.client)
	fmt.Fprintf(w, "runs %d, timeout %v, settle %v, idle window %v, CLK_TCK %.0f\n", cfg.runs, cfg.timeout, cfg.settle, cfg.idle, cfg.hz)
	for _, r := range reports {
		fmt.Fprintf(w, "  %-9s %s\n", r.Summary.Scenario+":", r.Desc)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\truns\tcomplete\ttime med\ttime worst\tclients med\tidle CPU%/node\tbusy CPU%/node\tRSS MB/node\tlines/node\tlines/s/node")
	for _, r := range reports {
		s := r.Summary
		med, worstS := "-", "-"
		if s.Complete+s.Incomplete > 0 {
			med, worstS = "incomplete", fmt.Sprintf("incomplete (%d missing)", s.MaxMissing)
			if s.MedianTimeMs != nil {
				med = fmtMs(*s.MedianTimeMs)
			}
			if s.WorstTimeMs != nil {
				worstS = fmtMs(*s.WorstTimeMs)
			}
		}
		send := "-"
		if s.SendMs != nil {
			send = fmtMs(*s.SendMs)
		}
		done := fmt.Sprintf("%d/%d", s.Complete, s.Runs)
		if s.Errors > 0 {
			done += fmt.Sprintf(" (%d err)", s.Errors)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Scenario, s.Runs, done, med, worstS, send,
			fmtAgg(s.IdleCPU, "%.1f"), fmtAgg(s.BusyCPU, "%.1f"), fmtAgg(s.RSSMB, "%.1f"),
			fmtAgg(s.Lines, "%.0f"), fmtAgg(s.LinesPerSec, "%.1f"))
	}
	tw.Flush()
	fmt.Fprintln(w, strings.TrimSpace(`
time: from just before the first client launch until every node has printed
  every message (CLIENT MESSAGE at the origin, RUMOR origin ... elsewhere).
  clients: how long launching the client binary took (all of it for burst100,
  which is part of the time).
CPU%: utime+stime from /proc/<pid>/stat, percent of one core. idle: the idle
  window after settling. busy: from the first client launch until every node
  has every message, stretched to 1 s when shorter (until the timeout if never).
  The kernel counts in 1/CLK_TCK s ticks, so 0.0 means under one tick.
per-node columns: median over runs of each run's median node (max: the
  highest node in any run). RSS at the end of the run; lines: all stdout lines
  since the node started, and that count over the node's lifetime.`))
}
