package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// intakeRates is the rate ladder of the intake test, client messages a
// second.
var intakeRates = []int{1000, 5000, 10000, 20000}

// targetRuns is everything the side-by-side table is made of, for one
// implementation, over all runs.
type targetRuns struct {
	Target   target                 `json:"target"`
	Graph50  []runResult            `json:"graph50"`
	Graph100 []runResult            `json:"graph100"`
	Burst    []runResult            `json:"burst100"`
	Intake   map[int][]intakeResult `json:"intake"` // by rate
	Start    []float64              `json:"client_start_ms"`
	Errors   []string               `json:"errors,omitempty"`
}

// runTable measures every target with every test, run by run, the targets
// taking turns within each test (and starting from a different one each
// run) so that they all see the same machine load.
func runTable(ctx context.Context, cfg config, targets []target) ([]*targetRuns, error) {
	scs, err := buildScenarios("all", cfg.seed)
	if err != nil {
		return nil, err
	}
	graph100, err := buildScenarios("graph100", cfg.seed)
	if err != nil {
		return nil, err
	}
	graph50, burst := scs[1], scs[2]
	out := make([]*targetRuns, len(targets))
	for i, tg := range targets {
		out[i] = &targetRuns{Target: tg, Intake: map[int][]intakeResult{}}
	}
	for run := 1; run <= cfg.runs && ctx.Err() == nil; run++ {
		order := make([]int, len(targets))
		for i := range order {
			order[i] = (i + run - 1) % len(targets)
		}
		for _, sc := range []scenario{graph50, graph100[0], burst} {
			for _, i := range order {
				tr := out[i]
				res, err := runOnce(ctx, cfg, tr.Target, sc, run)
				if ctx.Err() != nil {
					return out, nil
				}
				if err != nil {
					res.Err = err.Error()
				}
				fmt.Fprintf(os.Stderr, "[%s] ", tr.Target.Name)
				progress(sc, cfg.runs, res)
				switch sc.Name {
				case "graph50":
					tr.Graph50 = append(tr.Graph50, res)
				case "graph100":
					tr.Graph100 = append(tr.Graph100, res)
				default:
					tr.Burst = append(tr.Burst, res)
				}
			}
		}
		for _, i := range order {
			tr := out[i]
			times, first, err := clientStart(ctx, tr.Target.Client, cfg.clientStarts, intakeText(99, 99, 999999))
			tr.Start = append(tr.Start, times...)
			if err != nil {
				tr.Errors = append(tr.Errors, fmt.Sprintf("run %d client start: %v", run, err))
				continue
			}
			tpl, err := newTemplate(first, intakeText(99, 99, 999999))
			if err != nil {
				tr.Errors = append(tr.Errors, fmt.Sprintf("run %d intake: %v", run, err))
				continue
			}
			for step, rate := range cfg.intakeRates {
				res, err := runIntake(ctx, cfg, tr.Target, tpl, run, step, rate)
				if ctx.Err() != nil {
					return out, nil
				}
				if err != nil {
					res.Err = err.Error()
				}
				fmt.Fprintf(os.Stderr, "[%s] intake run %d/%d %d/s: sent %d in %s, %d delivered at the far end, %d in order %s\n",
					tr.Target.Name, run, cfg.runs, rate, res.Sent, fmtMs(res.SendMs), res.Delivered, res.InOrder, lastLines(res.Err, 1))
				tr.Intake[rate] = append(tr.Intake[rate], res)
			}
		}
	}
	return out, nil
}

// tableRow is one measure: a value per target and how to show it.
type tableRow struct {
	name string
	vals []float64 // NaN: not measured
	unit string    // "ms", "MB", "%", "" for a count
}

// perRun returns the median over runs of f, over the runs without error
// where f is defined.
func perRun(runs []runResult, f func(runResult) (float64, bool)) float64 {
	var v []float64
	for _, r := range runs {
		if r.Err != "" {
			continue
		}
		if x, ok := f(r); ok {
			v = append(v, x)
		}
	}
	return median(v)
}

// timeToAll is a run's time to all, +Inf when incomplete, so that a
// majority of incomplete runs makes the median incomplete too.
func timeToAll(r runResult) (float64, bool) {
	if r.TimeMs == nil {
		return math.Inf(1), true
	}
	return *r.TimeMs, true
}

func afterSend(r runResult) (float64, bool) {
	if r.AfterSendMs == nil {
		return math.Inf(1), true
	}
	return *r.AfterSendMs, true
}

// nodeMedianMB is the run's median node for one memory figure, in MB.
func nodeMedianMB(get func(memSample) uint64) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		if len(r.Nodes) == 0 {
			return 0, false
		}
		v := make([]float64, len(r.Nodes))
		for i, n := range r.Nodes {
			v[i] = float64(get(n.Idle)) / 1024
		}
		return median(v), true
	}
}

// totalPSSMB is what all the run's idle nodes cost the machine together.
func totalPSSMB(r runResult) (float64, bool) {
	var sum uint64
	for _, n := range r.Nodes {
		sum += n.Idle.PSS
	}
	return float64(sum) / 1024, len(r.Nodes) > 0
}

// receptionsPerNode is the copies of each rumor a node other than the origin
// received, on average over nodes and rumors.
func receptionsPerNode(messages int) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		total, nodes := 0, 0
		for _, n := range r.Nodes {
			total += n.Receptions
			nodes++
		}
		if nodes < 2 || messages == 0 {
			return 0, false
		}
		return float64(total) / float64((nodes-1)*messages), true
	}
}

func flipLines(r runResult) (float64, bool) {
	total := 0
	for _, n := range r.Nodes {
		total += n.Flips
	}
	return float64(total), len(r.Nodes) > 0
}

// deliveredInOrder is the median over runs of the share of the messages sent
// at rate that reached the far end in order; a run cut short by a crash
// counts what arrived before.
func deliveredInOrder(runs []intakeResult) float64 {
	var v []float64
	for _, r := range runs {
		if r.Sent == 0 && r.Err != "" {
			v = append(v, 0)
			continue
		}
		want := max(r.Sent, 1)
		v = append(v, 100*float64(r.InOrder)/float64(want))
	}
	return median(v)
}

func tableRows(cfg config, trs []*targetRuns, burstMessages int) []tableRow {
	col := func(f func(*targetRuns) float64) []float64 {
		v := make([]float64, len(trs))
		for i, tr := range trs {
			v[i] = f(tr)
		}
		return v
	}
	rows := []tableRow{
		{"50-node graph, one message to all", col(func(t *targetRuns) float64 { return perRun(t.Graph50, timeToAll) }), "ms"},
		{"100 nodes, one message to all", col(func(t *targetRuns) float64 { return perRun(t.Graph100, timeToAll) }), "ms"},
		{"burst of 100: done after the last client call", col(func(t *targetRuns) float64 { return perRun(t.Burst, afterSend) }), "ms"},
	}
	for _, rate := range cfg.intakeRates {
		rows = append(rows, tableRow{fmt.Sprintf("client messages into one node at %d/s for %v: delivered in order at a 3-node line's far end", rate, cfg.intakeFor),
			col(func(t *targetRuns) float64 { return deliveredInOrder(t.Intake[rate]) }), "%"})
	}
	rows = append(rows,
		tableRow{"idle RSS per node (100 nodes, median node)", col(func(t *targetRuns) float64 {
			return perRun(t.Graph100, nodeMedianMB(func(m memSample) uint64 { return m.RSS }))
		}), "MB"},
		tableRow{"of which private (RssAnon)", col(func(t *targetRuns) float64 {
			return perRun(t.Graph100, nodeMedianMB(func(m memSample) uint64 { return m.Anon }))
		}), "MB"},
		tableRow{"PSS per node (smaps_rollup)", col(func(t *targetRuns) float64 {
			return perRun(t.Graph100, nodeMedianMB(func(m memSample) uint64 { return m.PSS }))
		}), "MB"},
		tableRow{"machine total for 100 idle nodes (sum of PSS)", col(func(t *targetRuns) float64 { return perRun(t.Graph100, totalPSSMB) }), "MB"},
		tableRow{"receptions of each rumor per node, 50-node burst", col(func(t *targetRuns) float64 { return perRun(t.Burst, receptionsPerNode(burstMessages)) }), "x"},
		tableRow{"FLIPPED COIN lines in that burst", col(func(t *targetRuns) float64 { return perRun(t.Burst, flipLines) }), ""},
		tableRow{"client start: exec to datagram sent", col(func(t *targetRuns) float64 { return median(t.Start) }), "ms"},
	)
	return rows
}

func fmtVal(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "incomplete"
	}
	switch unit {
	case "ms":
		return fmtMs(v)
	case "MB":
		return fmt.Sprintf("%.2f MB", v)
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "x":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// ratio is ours over theirs, "-" where either is missing or theirs is 0.
func ratio(ours, theirs float64) string {
	if math.IsNaN(ours) || math.IsNaN(theirs) || math.IsInf(ours, 0) || math.IsInf(theirs, 0) || theirs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", ours/theirs)
}

// printMarkdown writes the table with the first target (ours) first, then
// each other, then ours over each other.
func printMarkdown(w io.Writer, cfg config, trs []*targetRuns, burstMessages int, when time.Time) {
	fmt.Fprintf(w, "%d interleaved runs, medians; %s; seed %d; %s\n\n", cfg.runs, when.UTC().Format("2006-01-02 15:04 MST"), cfg.seed, hostLine())
	head := []string{"measure"}
	for _, tr := range trs {
		head = append(head, tr.Target.Name)
	}
	for _, tr := range trs[1:] {
		head = append(head, trs[0].Target.Name+" / "+tr.Target.Name)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for _, r := range tableRows(cfg, trs, burstMessages) {
		cells := []string{r.name}
		for _, v := range r.vals {
			cells = append(cells, fmtVal(v, r.unit))
		}
		for _, v := range r.vals[1:] {
			cells = append(cells, ratio(r.vals[0], v))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	for _, tr := range trs {
		for _, e := range tr.Errors {
			fmt.Fprintf(w, "\n%s: %s", tr.Target.Name, lastLines(e, 3))
		}
		for _, runs := range [][]runResult{tr.Graph50, tr.Graph100, tr.Burst} {
			for _, r := range runs {
				if r.Err != "" {
					fmt.Fprintf(w, "\n%s run %d: %s", tr.Target.Name, r.Run, lastLines(r.Err, 3))
				}
			}
		}
	}
	fmt.Fprintln(w)
}

// hostLine says what the figures were measured on: cores and the load
// average when the table was printed.
func hostLine() string {
	load := "load unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			load = "load average " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), load)
}
