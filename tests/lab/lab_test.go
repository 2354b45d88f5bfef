package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/peerster-chat/Peerster/tests/lab/exp"
)

// tinyReport runs every plot on the memory engine with a few nodes and
// writes the report into a fresh folder.
func tinyReport(t *testing.T) string {
	t.Helper()
	base := exp.Defaults()
	base.N = 8
	complete := base
	complete.Topo = "complete"
	exps := []experiment{
		{ID: "infection", Kind: "infection", Base: base, Arms: []arm{{exp.Memory, []sweep{sw("loss", "0", "0.3")}, 2}}},
		{ID: "scaling", Kind: "scaling", Base: base, Arms: []arm{{exp.Memory, []sweep{sw("n", "6", "12")}, 2}}},
		{ID: "traffic", Kind: "traffic", Base: base, Arms: []arm{{exp.Memory, []sweep{sw("n", "6", "12")}, 2}}},
		{ID: "residue", Kind: "residue", Base: complete, Arms: []arm{{exp.Memory, []sweep{sw("coin", "stop=1", "fair")}, 2}}},
		{ID: "loss", Kind: "loss", Base: base, Arms: []arm{{exp.Memory, []sweep{sw("loss", "0", "0.3")}, 2}}},
	}
	out := t.TempDir()
	if err := run(context.Background(), config{out: out, seed: 1, progress: io.Discard}, exps, "go test"); err != nil {
		t.Fatal(err)
	}
	return out
}

func readCSV(t *testing.T, path string) (map[string]int, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	return col, rows[1:]
}

func TestTinyExperimentWritesDataAndReport(t *testing.T) {
	out := tinyReport(t)

	col, rows := readCSV(t, filepath.Join(out, "runs.csv"))
	// 2 runs of 2 points in each of the five experiments.
	if len(rows) != 20 {
		t.Fatalf("runs.csv has %d runs, want 20", len(rows))
	}
	for _, name := range append([]string{"experiment", "run", "seed", "reached", "t50_s", "t100_s", "datagrams", "bytes", "rumor_datagrams"}, exp.Names...) {
		if _, ok := col[name]; !ok {
			t.Fatalf("runs.csv lacks column %q", name)
		}
	}
	lossSeen := map[string]bool{}
	for _, r := range rows {
		if r[col["error"]] != "" {
			t.Fatalf("run failed: %v", r)
		}
		if r[col["engine"]] != exp.Memory {
			t.Errorf("engine %q", r[col["engine"]])
		}
		reached, _ := strconv.ParseFloat(r[col["reached"]], 64)
		t100, err := strconv.ParseFloat(r[col["t100_s"]], 64)
		// Anti-entropy reaches every node; on a complete graph of 8 the
		// daemon's probes on tails do so without it.
		if reached != 1 || err != nil || t100 <= 0 || math.IsInf(t100, 0) {
			t.Errorf("%s run %s: reached %v, t100 %q", r[col["experiment"]], r[col["run"]], reached, r[col["t100_s"]])
		}
		t50, _ := strconv.ParseFloat(r[col["t50_s"]], 64)
		if t50 > t100 {
			t.Errorf("t50 %v after t100 %v", t50, t100)
		}
		if dg, _ := strconv.Atoi(r[col["datagrams"]]); dg <= 0 {
			t.Errorf("%s: %d datagrams", r[col["experiment"]], dg)
		}
		if r[col["experiment"]] == "residue" && r[col["ae"]] != "0s" {
			t.Errorf("residue run with anti-entropy %s", r[col["ae"]])
		}
		if r[col["experiment"]] == "infection" {
			lossSeen[r[col["loss"]]] = true
		}
	}
	if !lossSeen["0"] || !lossSeen["0.3"] {
		t.Errorf("infection sweep over loss ran %v", lossSeen)
	}

	col, rows = readCSV(t, filepath.Join(out, "curves.csv"))
	last := map[string]float64{}
	for _, r := range rows {
		key := r[col["experiment"]] + "/" + r[col["point"]] + "/" + r[col["run"]]
		v, err := strconv.ParseFloat(r[col["fraction_held"]], 64)
		if err != nil || v < last[key] || v > 1 {
			t.Fatalf("curve %s goes from %v to %q", key, last[key], r[col["fraction_held"]])
		}
		last[key] = v
	}
	if len(last) != 20 {
		t.Errorf("%d curves, want one per run (20)", len(last))
	}
	for k, v := range last {
		if v != 1 {
			t.Errorf("curve %s ends at %v", k, v)
		}
	}

	var params struct {
		Exps []struct {
			Kind string            `json:"kind"`
			Base map[string]string `json:"base"`
		} `json:"experiments"`
	}
	b, err := os.ReadFile(filepath.Join(out, "params.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &params); err != nil || len(params.Exps) != 5 || params.Exps[0].Base["n"] != "8" {
		t.Fatalf("params.json: %v %+v", err, params)
	}

	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	// infection 1, scaling 1, traffic 2, residue 2, loss 1.
	if n := strings.Count(page, "<svg"); n != 7 {
		t.Errorf("report has %d inline SVG charts, want 7", n)
	}
	for _, want := range []string{
		"2 runs per point", "memory (virtual time)", runtime.Version(), "Table 2", "0.205",
		"Fraction of (node, message) pairs held", "Datagrams sent per node per message",
		"Residue: share of nodes never reached", "Time until 90% and 100%", "time (s)",
		`href="runs.csv"`, "cores",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestSameSeedSameRuns(t *testing.T) {
	p := exp.Defaults()
	p.N, p.Loss, p.Dup = 30, 0.2, 0.05
	a := exp.Run(p, 1, 7, exp.ProcessConfig{})
	b := exp.Run(p, 1, 7, exp.ProcessConfig{})
	if a.Err != "" || a.Datagrams != b.Datagrams || a.Bytes != b.Bytes || len(a.Times) != len(b.Times) {
		t.Fatalf("same seed, different runs: %+v / %+v", a, b)
	}
	for i := range a.Times {
		if a.Times[i] != b.Times[i] {
			t.Fatalf("pair %d held at %v, then %v", i, a.Times[i], b.Times[i])
		}
	}
}
