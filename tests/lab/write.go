package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/peerster-chat/Peerster/tests/lab/exp"
	"github.com/peerster-chat/Peerster/tests/lab/report"
	"github.com/peerster-chat/Peerster/tests/lab/stats"
)

// quantiles are the delivery fractions timed in runs.csv and the scaling
// plot.
var quantiles = []float64{0.5, 0.9, 0.99, 1}

func writeReport(c config, exps []experiment, all [][]*point, command string, load []report.KV) error {
	if err := writeRuns(filepath.Join(c.out, "runs.csv"), exps, all); err != nil {
		return err
	}
	if err := writeCurves(filepath.Join(c.out, "curves.csv"), exps, all); err != nil {
		return err
	}
	if err := writeParams(filepath.Join(c.out, "params.json"), c, exps); err != nil {
		return err
	}
	page := report.Page{
		Title:   "Peerster gossip lab",
		Command: command,
		Env:     append(report.Environment(c.proc.Gossiper, c.proc.Client), load...),
		Files: []report.KV{
			{Key: "runs.csv", Value: "one row per run: every parameter, the seed, times to 50/90/99/100% of (node, message) pairs, traffic"},
			{Key: "curves.csv", Value: "every run's infection curve: fraction of pairs held at 200 evenly spaced times"},
			{Key: "params.json", Value: "the experiments as run: base parameters, engines, sweeps, runs, seed, binaries"},
		},
	}
	machine := report.Machine()
	for i, e := range exps {
		f, err := figure(e, all[i], machine, c.proc.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", e.ID, err)
		}
		page.Figures = append(page.Figures, f)
		// Each chart also on its own, for a README or a slide.
		for k, svg := range f.SVGs {
			name := fmt.Sprintf("%s-%d.svg", f.ID, k+1)
			if err := os.WriteFile(filepath.Join(c.out, name), []byte(svg), 0o644); err != nil {
				return err
			}
			page.Files = append(page.Files, report.KV{Key: name, Value: f.Heading + ", chart " + strconv.Itoa(k+1) + " alone"})
		}
	}
	return report.WriteHTML(filepath.Join(c.out, "report.html"), page)
}

func fmtF(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func writeRuns(path string, exps []experiment, all [][]*point) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := append([]string{"experiment", "kind"}, exp.Names...)
	head = append(head, "run", "seed", "pairs", "held", "reached", "t50_s", "t90_s", "t99_s", "t100_s", "end_s", "wall_s",
		"datagrams", "bytes", "rumor_datagrams", "status_datagrams", "error")
	w.Write(head)
	for i, e := range exps {
		for _, pt := range all[i] {
			for _, r := range pt.Results {
				row := []string{e.ID, e.Kind}
				for _, n := range exp.Names {
					row = append(row, r.Params.Get(n))
				}
				row = append(row, strconv.Itoa(r.Run), strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Pairs),
					strconv.Itoa(len(r.Times)), fmtF(r.Reached()))
				for _, q := range quantiles {
					row = append(row, fmtF(r.TimeTo(q)))
				}
				row = append(row, fmtF(r.End), fmtF(r.Wall), strconv.FormatInt(r.Datagrams, 10), strconv.FormatInt(r.Bytes, 10),
					strconv.FormatInt(r.Rumors, 10), strconv.FormatInt(r.Statuses, 10), r.Err)
				w.Write(row)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// curveEnd is the time axis of an infection curve: the latest first
// holding in any run, at least a millisecond.
func curveEnd(pts []*point) float64 {
	end := 1e-3
	for _, pt := range pts {
		for _, r := range pt.Results {
			if len(r.Times) > 0 {
				end = max(end, r.Times[len(r.Times)-1])
			}
		}
	}
	return end * 1.05
}

func writeCurves(path string, exps []experiment, all [][]*point) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"experiment", "point", "engine", "run", "t_s", "fraction_held"})
	for i, e := range exps {
		grid := stats.Grid(curveEnd(all[i]), 200)
		for _, pt := range all[i] {
			for _, r := range pt.Results {
				if r.Err != "" {
					continue
				}
				for _, t := range grid {
					w.Write([]string{e.ID, pt.Label, r.Params.Engine, strconv.Itoa(r.Run), fmtF(t), fmtF(r.HeldAt(t))})
				}
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeParams(path string, c config, exps []experiment) error {
	type armJSON struct {
		Engine string              `json:"engine"`
		Sweeps map[string][]string `json:"sweeps"`
		Runs   int                 `json:"runs"`
	}
	type expJSON struct {
		ID   string            `json:"id"`
		Kind string            `json:"kind"`
		Base map[string]string `json:"base"`
		Arms []armJSON         `json:"arms"`
	}
	out := struct {
		Seed     uint64    `json:"seed_of_run_1"`
		Impl     string    `json:"implementation,omitempty"`
		Gossiper string    `json:"gossiper,omitempty"`
		Client   string    `json:"client,omitempty"`
		Netns    bool      `json:"process_runs_in_own_netns"`
		Exps     []expJSON `json:"experiments"`
	}{Seed: c.seed, Impl: c.proc.Name, Gossiper: c.proc.Gossiper, Client: c.proc.Client, Netns: c.proc.Netns}
	for _, e := range exps {
		ej := expJSON{ID: e.ID, Kind: e.Kind, Base: map[string]string{}}
		for _, n := range exp.Names {
			ej.Base[n] = e.Base.Get(n)
		}
		for _, a := range e.Arms {
			aj := armJSON{Engine: a.Engine, Sweeps: map[string][]string{}, Runs: a.Runs}
			for _, s := range a.Sweeps {
				aj.Sweeps[s.Name] = s.Values
			}
			ej.Arms = append(ej.Arms, aj)
		}
		out.Exps = append(out.Exps, ej)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// svgs renders charts for the page.
func svgs(charts ...report.Chart) ([]template.HTML, error) {
	var out []template.HTML
	for _, c := range charts {
		s, err := c.SVG()
		if err != nil {
			return nil, err
		}
		// gonum's SVG output, from our own numbers and labels, which
		// it escapes.
		out = append(out, template.HTML(s))
	}
	return out, nil
}
