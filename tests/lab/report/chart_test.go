package report

import (
	"math"
	"strings"
	"testing"

	"github.com/peerster-chat/Peerster/tests/lab/stats"
)

func TestLinearTicksAreRoundAndCoverTheRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   []string
	}{
		{0, 2.6, []string{"0", "0.5", "1", "1.5", "2", "2.5"}},
		{0, 1.02, []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{0, 0.5, []string{"0", "0.1", "0.2", "0.3", "0.4", "0.5"}},
	} {
		var got []string
		for _, tk := range linearTicks(c.lo, c.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("ticks of [%v, %v]: %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
}

func TestChartSVGIsInlineAndSkipsInfinitePoints(t *testing.T) {
	b := func(v float64) stats.Band { return stats.Band{Lo: v, Median: v, Hi: v} }
	inf := math.Inf(1)
	c := Chart{Title: "T", XLabel: "x (s)", YLabel: "y", LogX: true, LogY: true, Series: []Series{
		{Label: "a", X: []float64{1, 10, 100}, Y: []stats.Band{b(1), b(inf), b(3)}, Style: LinePoints},
	}}
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "x (s)") || strings.Contains(svg, "<?xml") {
		t.Fatalf("not an inline SVG with its labels: %.200s", svg)
	}
	if _, err := (Chart{Title: "empty", Series: []Series{{X: []float64{1}, Y: []stats.Band{b(inf)}}}}).SVG(); err == nil {
		t.Error("a chart with nothing finite to draw rendered")
	}
}
