// Package report draws the lab's charts with gonum/plot as SVG and writes
// the report folder.
package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/peerster-chat/Peerster/tests/lab/stats"
)

// Style says how a series is drawn.
type Style int

// Styles of a series.
const (
	Line       Style = iota // a line; the spread as a shaded band
	Points                  // markers; the spread as error bars
	LinePoints              // both, the spread as error bars
)

// Series is one curve: Y[i] is the median and spread at X[i]. Points that
// are not finite (a run that never got there), or not positive on a log
// axis, are left out.
type Series struct {
	Label  string
	X      []float64
	Y      []stats.Band
	Style  Style
	Dashed bool
	// Color picks from a fixed palette, so that one engine or setting
	// keeps its colour across charts.
	Color int
}

// Chart is one plot; Title and Subtitle make it stand alone.
type Chart struct {
	Title, Subtitle string
	XLabel, YLabel  string
	LogX, LogY      bool
	// YMin and YMax fix the y range when both are set (Hi > Lo).
	YMin, YMax float64
	// Headroom multiplies the top of the y range (on a log axis, by
	// decades' worth) to leave the legend room above the data; 0 leaves
	// it. LegendBottom and LegendLeft move the legend from the top right
	// to where the data leave room.
	Headroom                 float64
	LegendBottom, LegendLeft bool
	Series                   []Series
}

func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

// SVG renders the chart, 8 × 5 inches, as an <svg> element ready to be
// put inline in HTML.
func (c Chart) SVG() (string, error) {
	p := plot.New()
	p.Title.Text = c.Title
	if c.Subtitle != "" {
		p.Title.Text += "\n" + c.Subtitle
	}
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	p.Legend.Top, p.Legend.Left = !c.LegendBottom, c.LegendLeft
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.TickerFunc(linearTicks), plot.TickerFunc(linearTicks)
	if c.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if c.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	drawn := 0
	for _, s := range c.Series {
		var pts plotter.XYs
		var errs plotter.YErrors
		var lo, hi plotter.XYs
		for i := range s.X {
			b := s.Y[i]
			if !usable(s.X[i], c.LogX) || !usable(b.Median, c.LogY) {
				continue
			}
			pts = append(pts, plotter.XY{X: s.X[i], Y: b.Median})
			l, h := b.Lo, b.Hi
			if !usable(l, c.LogY) {
				l = b.Median
			}
			if !usable(h, c.LogY) {
				h = b.Median
			}
			errs = append(errs, struct{ Low, High float64 }{b.Median - l, h - b.Median})
			lo = append(lo, plotter.XY{X: s.X[i], Y: l})
			hi = append(hi, plotter.XY{X: s.X[i], Y: h})
		}
		if len(pts) == 0 {
			continue
		}
		drawn++
		col := plotutil.Color(s.Color)
		var thumbs []plot.Thumbnailer
		if s.Style == Line && len(pts) > 1 {
			band := append(plotter.XYs{}, lo...)
			for i := len(hi) - 1; i >= 0; i-- {
				band = append(band, hi[i])
			}
			if poly, err := plotter.NewPolygon(band); err == nil {
				r, g, b, _ := col.RGBA()
				poly.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 50}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		if s.Style != Points {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return "", err
			}
			l.Color, l.Width = col, vg.Points(1.5)
			if s.Dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Style != Line {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return "", err
			}
			sc.Color, sc.Shape, sc.Radius = col, plotutil.Shape(s.Color), vg.Points(3)
			if s.Style == Points {
				// Markers alone carry the series: larger, so a curve
				// over them does not hide them.
				sc.Radius = vg.Points(5)
			}
			p.Add(sc)
			thumbs = append(thumbs, sc)
			eb, err := plotter.NewYErrorBars(errorBars{pts, errs})
			if err == nil {
				eb.Color = col
				p.Add(eb)
			}
		}
		p.Legend.Add(s.Label, thumbs...)
	}
	if drawn == 0 {
		return "", fmt.Errorf("chart %q: no finite point to draw", c.Title)
	}
	if c.YMax > c.YMin {
		p.Y.Min, p.Y.Max = c.YMin, c.YMax
	}
	if c.Headroom > 1 {
		if c.LogY {
			p.Y.Max = p.Y.Min * math.Pow(p.Y.Max/p.Y.Min, c.Headroom)
		} else {
			p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)*c.Headroom
		}
	}
	canvas := vgsvg.New(8*vg.Inch, 5*vg.Inch)
	p.Draw(draw.New(canvas))
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return "", err
	}
	// Inline SVG takes no XML prolog.
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s, nil
}

type errorBars struct {
	plotter.XYs
	errs plotter.YErrors
}

func (e errorBars) YError(i int) (float64, float64) { return e.errs.YError(i) }

// linearTicks labels 5 to 10 round values (steps of 1, 2 or 5 times a
// power of ten) with a minor tick between each: gonum's default labels as
// few as two, which leaves a reader guessing times off a curve.
func linearTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step * 2); i/2*step <= hi+step*1e-9; i++ {
		v := i / 2 * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		t := plot.Tick{Value: v}
		if int(i)%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'g', 4, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}
