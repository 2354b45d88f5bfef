package main

import (
	"math"

	"github.com/peerster-chat/Peerster/tests/lab/stats"
)

// percentile is the lab's (linear between closest ranks; +Inf, an
// incomplete run, sorts last, so a minority of incomplete runs still leaves
// a finite median while a majority makes the median itself incomplete).
func percentile(vals []float64, p float64) float64 { return stats.Percentile(vals, p) }

func median(vals []float64) float64 { return percentile(vals, 50) }

// worst is the slowest run; the runs' times are what it is applied to.
func worst(vals []float64) float64 { return percentile(vals, 100) }

// aggregate condenses one per-node figure over all runs: the median over runs
// of each run's median node, and the most extreme node seen in any run.
type aggregate struct {
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func aggregateNodes(runs []runResult, get func(nodeStats) float64) *aggregate {
	var medians, maxes []float64
	for _, r := range runs {
		if r.Err != "" || len(r.Nodes) == 0 {
			continue
		}
		vals := make([]float64, len(r.Nodes))
		for i, n := range r.Nodes {
			vals[i] = get(n)
		}
		medians = append(medians, median(vals))
		maxes = append(maxes, worst(vals))
	}
	if len(medians) == 0 {
		return nil
	}
	return &aggregate{Median: median(medians), Max: worst(maxes)}
}

type summary struct {
	Scenario     string     `json:"scenario"`
	Nodes        int        `json:"nodes"`
	Messages     int        `json:"messages"`
	Origin       string     `json:"origin"`
	Runs         int        `json:"runs"`
	Complete     int        `json:"complete"`
	Incomplete   int        `json:"incomplete"`
	Errors       int        `json:"errors"`
	MedianTimeMs *float64   `json:"median_time_to_all_ms"` // null: the median run was incomplete
	WorstTimeMs  *float64   `json:"worst_time_to_all_ms"`  // null: some run was incomplete
	MaxMissing   int        `json:"max_missing_pairs"`
	SendMs       *float64   `json:"median_client_send_ms"`
	IdleCPU      *aggregate `json:"idle_cpu_pct_per_node"`
	BusyCPU      *aggregate `json:"busy_cpu_pct_per_node"`
	RSSMB        *aggregate `json:"rss_mb_per_node"`
	Lines        *aggregate `json:"stdout_lines_per_node"`
	LinesPerSec  *aggregate `json:"stdout_lines_per_sec_per_node"`
}

func finite(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

func summarize(sc scenario, runs []runResult) summary {
	s := summary{
		Scenario: sc.Name,
		Nodes:    len(sc.Topo.Names),
		Messages: sc.Messages,
		Origin:   sc.Topo.Names[sc.Origin],
		Runs:     len(runs),
	}
	var times, sends []float64
	for _, r := range runs {
		if r.Err == "" {
			sends = append(sends, r.SendMs)
		}
		switch {
		case r.Err != "":
			s.Errors++
			continue
		case r.Complete:
			s.Complete++
			times = append(times, *r.TimeMs)
		default:
			s.Incomplete++
			times = append(times, math.Inf(1))
			s.MaxMissing = max(s.MaxMissing, r.Missing)
		}
	}
	if len(times) > 0 {
		s.MedianTimeMs = finite(median(times))
		s.WorstTimeMs = finite(worst(times))
	}
	if len(sends) > 0 {
		s.SendMs = finite(median(sends))
	}
	s.IdleCPU = aggregateNodes(runs, func(n nodeStats) float64 { return n.IdleCPU })
	s.BusyCPU = aggregateNodes(runs, func(n nodeStats) float64 { return n.BusyCPU })
	s.RSSMB = aggregateNodes(runs, func(n nodeStats) float64 { return n.RSSMB })
	s.Lines = aggregateNodes(runs, func(n nodeStats) float64 { return float64(n.Lines) })
	s.LinesPerSec = aggregateNodes(runs, func(n nodeStats) float64 { return n.LinesPerSec })
	return s
}
