// Package stats condenses runs into the figures the lab plots.
package stats

import (
	"math"
	"slices"
)

// Percentile interpolates linearly between closest ranks (p in 0..100).
// +Inf stands for a run that never got there: it sorts last, so a minority
// of such runs leaves a finite median. NaN for no values.
func Percentile(vals []float64, p float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	pos := p / 100 * float64(len(s)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	if s[lo] == s[hi] {
		return s[lo]
	}
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Median is the 50th percentile.
func Median(vals []float64) float64 { return Percentile(vals, 50) }

// Band is a median with a spread around it.
type Band struct{ Lo, Median, Hi float64 }

// Spread is the median and the range from the lo-th to the hi-th
// percentile of vals.
func Spread(vals []float64, lo, hi float64) Band {
	return Band{Lo: Percentile(vals, lo), Median: Median(vals), Hi: Percentile(vals, hi)}
}

// Curve samples f(run, t) at every t of grid for each run and returns,
// per grid point, the median and the min–max range over runs.
func Curve(runs int, grid []float64, f func(run int, t float64) float64) []Band {
	out := make([]Band, len(grid))
	vals := make([]float64, runs)
	for i, t := range grid {
		for r := range runs {
			vals[r] = f(r, t)
		}
		out[i] = Spread(vals, 0, 100)
	}
	return out
}

// Grid is n+1 evenly spaced points from 0 to end.
func Grid(end float64, n int) []float64 {
	g := make([]float64, n+1)
	for i := range g {
		g[i] = end * float64(i) / float64(n)
	}
	return g
}
