package main

import (
	"math"
	"testing"
)

func TestMedianWorst(t *testing.T) {
	cases := []struct {
		in          []float64
		med, worstV float64
	}{
		{[]float64{5}, 5, 5},
		{[]float64{3, 1, 2}, 2, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{10, 10, 1, 10, 1}, 10, 10},
	}
	for _, c := range cases {
		if m := median(c.in); m != c.med {
			t.Errorf("median(%v) = %v, want %v", c.in, m, c.med)
		}
		if w := worst(c.in); w != c.worstV {
			t.Errorf("worst(%v) = %v, want %v", c.in, w, c.worstV)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its input in place")
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{0, 10, 20, 30, 40}
	for p, want := range map[float64]float64{0: 0, 25: 10, 50: 20, 90: 36, 100: 40} {
		if got := percentile(v, p); math.Abs(got-want) > 1e-9 {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestIncompleteRunsAsInf(t *testing.T) {
	inf := math.Inf(1)
	if m := median([]float64{1, 2, inf}); m != 2 {
		t.Errorf("one incomplete of three: median %v, want 2", m)
	}
	if m := median([]float64{1, inf, inf}); !math.IsInf(m, 1) {
		t.Errorf("two incomplete of three: median %v, want +Inf", m)
	}
	if m := median([]float64{1, 2, inf, inf}); !math.IsInf(m, 1) {
		t.Errorf("even count straddling Inf: median %v, want +Inf", m)
	}
	if w := worst([]float64{1, inf}); !math.IsInf(w, 1) {
		t.Errorf("worst %v, want +Inf", w)
	}
}

func f(v float64) *float64 { return &v }

func TestSummarize(t *testing.T) {
	sc := scenario{Name: "x", Topo: ringTopology(3), Origin: 1, Messages: 1}
	nodes := func(cpu ...float64) []nodeStats {
		var out []nodeStats
		for _, c := range cpu {
			out = append(out, nodeStats{IdleCPU: c, BusyCPU: 2 * c, RSSMB: 8, Lines: 10})
		}
		return out
	}
	runs := []runResult{
		{Run: 1, Complete: true, TimeMs: f(30), Nodes: nodes(1, 2, 9)},
		{Run: 2, Complete: true, TimeMs: f(10), Nodes: nodes(1, 1, 1)},
		{Run: 3, Missing: 4, Nodes: nodes(3, 3, 3)},
		{Run: 4, Err: "boom"},
	}
	s := summarize(sc, runs)
	if s.Complete != 2 || s.Incomplete != 1 || s.Errors != 1 || s.Runs != 4 || s.MaxMissing != 4 {
		t.Fatalf("counts %+v", s)
	}
	if s.MedianTimeMs == nil || *s.MedianTimeMs != 30 {
		t.Errorf("median time %v, want 30", s.MedianTimeMs)
	}
	if s.WorstTimeMs != nil {
		t.Errorf("worst time %v, want nil (incomplete)", *s.WorstTimeMs)
	}
	// Per-run node medians are 2, 1, 3; the busiest node is 9.
	if s.IdleCPU.Median != 2 || s.IdleCPU.Max != 9 || s.BusyCPU.Median != 4 {
		t.Errorf("cpu %+v %+v", *s.IdleCPU, *s.BusyCPU)
	}
	if s.Origin != "B" {
		t.Errorf("origin %s", s.Origin)
	}
	if e := summarize(sc, runs[3:]); e.IdleCPU != nil || e.MedianTimeMs != nil {
		t.Error("all-error scenario should have no figures")
	}
}
