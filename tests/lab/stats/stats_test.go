package stats

import (
	"math"
	"testing"
)

func TestPercentileInterpolatesAndSortsInfinityLast(t *testing.T) {
	for _, c := range []struct {
		vals []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 100, 4},
		{[]float64{10, 20}, 25, 12.5},
		{[]float64{1, math.Inf(1), 2}, 50, 2},
		{[]float64{math.Inf(1), math.Inf(1), 2}, 50, math.Inf(1)},
		{[]float64{5}, 90, 5},
	} {
		if got := Percentile(c.vals, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.vals, c.p, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestPercentileLeavesInputAlone(t *testing.T) {
	v := []float64{3, 1, 2}
	Median(v)
	if v[0] != 3 || v[1] != 1 || v[2] != 2 {
		t.Fatalf("input reordered: %v", v)
	}
}

func TestCurveTakesMedianAndRangeOverRuns(t *testing.T) {
	// Three runs reaching everyone at t = 1, 2 and 4.
	ends := []float64{1, 2, 4}
	grid := Grid(4, 4)
	got := Curve(3, grid, func(r int, t float64) float64 { return math.Min(1, t/ends[r]) })
	want := []Band{{0, 0, 0}, {0.25, 0.5, 1}, {0.5, 1, 1}, {0.75, 1, 1}, {1, 1, 1}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("t=%v: %+v, want %+v", grid[i], got[i], want[i])
		}
	}
}
