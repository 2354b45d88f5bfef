package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/peerster-chat/Peerster/tests/lab/demers"
	"github.com/peerster-chat/Peerster/tests/lab/exp"
	"github.com/peerster-chat/Peerster/tests/lab/report"
	"github.com/peerster-chat/Peerster/tests/lab/stats"
)

// engineName says in every legend what produced a curve.
func engineName(e string) string {
	if e == exp.Memory {
		return "memory (virtual time)"
	}
	return "processes on loopback"
}

// ok is the runs that produced figures.
func ok(pt *point) []exp.Result {
	var out []exp.Result
	for _, r := range pt.Results {
		if r.Err == "" {
			out = append(out, r)
		}
	}
	return out
}

// subtitle names engines, runs and machine, and the setting common to
// every point.
func subtitle(e experiment, pts []*point, machine, impl string) string {
	var parts []string
	for _, a := range e.Arms {
		n := 0
		for _, pt := range pts {
			if pt.Params.Engine == a.Engine {
				n = max(n, len(ok(pt)))
			}
		}
		name := engineName(a.Engine)
		if a.Engine == exp.Process && impl != "" {
			name += " (" + impl + ")"
		}
		parts = append(parts, fmt.Sprintf("%s: %d runs per point", name, n))
	}
	swept := map[string]bool{"engine": true}
	for _, a := range e.Arms {
		for _, s := range a.Sweeps {
			swept[s.Name] = true
		}
	}
	var fixed []string
	for _, n := range []string{"topo", "k", "n", "loss", "ae", "ack", "coin", "msgs", "origin", "latency", "jitter"} {
		if swept[n] || (n == "k" && e.Base.Topo != "regular") || (n == "ae" && e.Kind == "residue") {
			continue
		}
		fixed = append(fixed, n+"="+e.Base.Get(n))
	}
	if e.Kind == "residue" {
		fixed = append(fixed, "anti-entropy off")
	}
	return strings.Join(parts, "; ") + "; " + machine + "\n" + strings.Join(fixed, " ")
}

// series groups an experiment's points by everything but the x axis: one
// line per engine and setting of the other sweeps.
func series(pts []*point, axis string) (keys []string, groups map[string][]*point) {
	groups = map[string][]*point{}
	for _, pt := range pts {
		var parts []string
		for _, p := range strings.Split(pt.Label, ", ")[1:] {
			if !strings.HasPrefix(p, axis+"=") {
				parts = append(parts, p)
			}
		}
		key := engineName(pt.Params.Engine)
		if len(parts) > 0 {
			key += ", " + strings.Join(parts, ", ")
		}
		if _, seen := groups[key]; !seen {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], pt)
	}
	return keys, groups
}

// xValue is a point's position on the x axis.
func xValue(p exp.Params, axis string) float64 {
	switch axis {
	case "coin":
		s, _ := p.StopProbability()
		return s
	case "ae", "ack", "latency", "jitter", "settle", "horizon":
		v := map[string]float64{"ae": p.AE.Seconds(), "ack": p.Ack.Seconds(), "latency": p.Latency.Seconds(),
			"jitter": p.Jitter.Seconds(), "settle": p.Settle.Seconds(), "horizon": p.Horizon.Seconds()}
		return v[axis]
	}
	f, err := strconv.ParseFloat(p.Get(axis), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

func axisLabel(axis string) string {
	switch axis {
	case "n":
		return "nodes n"
	case "loss":
		return "loss rate (fraction of datagrams dropped)"
	case "coin":
		return "stop probability after an exchange (1/k; the handout's fair coin is 0.5)"
	case "k":
		return "degree k"
	case "msgs":
		return "messages sent at once"
	case "ae", "ack", "latency", "jitter":
		return axis + " (s)"
	}
	return axis
}

// over maps a point's runs to a band of one figure: median and min–max.
// timeToSeries is, for each group and each fraction q, the time until q of
// the (node, message) pairs were held against the axis.
func timeToSeries(keys []string, groups map[string][]*point, axis string, fractions []float64) []report.Series {
	var out []report.Series
	for gi, k := range keys {
		for qi, q := range fractions {
			s := report.Series{Label: fmt.Sprintf("%s: %g%%", k, q*100), Style: report.LinePoints, Color: qi, Dashed: gi%2 == 1}
			for _, pt := range groups[k] {
				s.X = append(s.X, xValue(pt.Params, axis))
				s.Y = append(s.Y, over(pt, func(r exp.Result) float64 { return r.TimeTo(q) }))
			}
			out = append(out, s)
		}
	}
	return out
}

func over(pt *point, f func(exp.Result) float64) stats.Band {
	var v []float64
	for _, r := range ok(pt) {
		v = append(v, f(r))
	}
	return stats.Spread(v, 0, 100)
}

func figure(e experiment, pts []*point, machine, impl string) (report.Figure, error) {
	f := report.Figure{ID: e.ID}
	sub := subtitle(e, pts, machine, impl)
	var charts []report.Chart
	switch e.Kind {
	case "infection":
		f.Heading = "Infection curve"
		grid := stats.Grid(curveEnd(pts), 200)
		ch := report.Chart{Title: "Fraction of (node, message) pairs held after the first message was sent", Subtitle: sub,
			XLabel: "time since the message was sent (s)", YLabel: "fraction of pairs held", YMin: 0, YMax: 1.02, LegendBottom: true}
		for i, pt := range pts {
			rs := ok(pt)
			if len(rs) == 0 {
				continue
			}
			ch.Series = append(ch.Series, report.Series{
				Label: labelOf(pt) + " (median, band min–max)", X: grid, Color: i,
				Y: stats.Curve(len(rs), grid, func(r int, t float64) float64 { return rs[r].HeldAt(t) }),
			})
		}
		charts = append(charts, ch)
		f.Text = append(f.Text, "Each curve is the median over runs of the fraction of (node, message) pairs held, with the range over runs shaded. "+
			"Time 0 is when the message was given to its origin: in memory, the virtual instant of the call; with processes, just before the client process is started.")
	case "scaling", "traffic", "loss":
		axis := e.axis()
		logX := axis == "n"
		// One chart per setting of the other sweeps; on it, each engine
		// has its line style and each figure its colour.
		for _, grp := range bySetting(pts, axis) {
			keys, groups := series(grp.pts, axis)
			title := func(s string) string {
				if grp.name != "" {
					return s + ", " + grp.name
				}
				return s
			}
			switch e.Kind {
			case "scaling":
				ch := report.Chart{Title: title("Time until a fraction of (node, message) pairs is held"), Subtitle: sub,
					XLabel: axisLabel(axis), YLabel: "time (s), log scale", LogX: logX, LogY: true, Headroom: 1.6}
				ch.Series = timeToSeries(keys, groups, axis, quantiles)
				charts = append(charts, ch)
			case "traffic":
				dg := report.Chart{Title: title("Datagrams sent per node per message, until every node held it"), Subtitle: sub,
					XLabel: axisLabel(axis), YLabel: "datagrams per node per message", LogX: logX, Headroom: 1.5}
				by := report.Chart{Title: title("Bytes sent per node per message (UDP payload)"), Subtitle: sub,
					XLabel: axisLabel(axis), YLabel: "bytes per node per message", LogX: logX, Headroom: 1.4}
				for gi, k := range keys {
					all := report.Series{Label: k + ": all datagrams", Style: report.LinePoints, Color: 0, Dashed: gi%2 == 1}
					rum := report.Series{Label: k + ": rumors only", Style: report.LinePoints, Color: 1, Dashed: gi%2 == 1}
					b := report.Series{Label: k, Style: report.LinePoints, Color: 0, Dashed: gi%2 == 1}
					for _, pt := range groups[k] {
						x := xValue(pt.Params, axis)
						all.X, rum.X, b.X = append(all.X, x), append(rum.X, x), append(b.X, x)
						traffic := func(v func(exp.Result) int64) stats.Band {
							return over(pt, func(r exp.Result) float64 {
								if v(r) < 0 {
									return math.NaN()
								}
								return r.PerNodeMessage(v(r))
							})
						}
						all.Y = append(all.Y, traffic(func(r exp.Result) int64 { return r.Datagrams }))
						rum.Y = append(rum.Y, traffic(func(r exp.Result) int64 { return r.Rumors }))
						b.Y = append(b.Y, traffic(func(r exp.Result) int64 { return r.Bytes }))
					}
					dg.Series = append(dg.Series, all, rum)
					by.Series = append(by.Series, b)
				}
				charts = append(charts, dg, by)
			case "loss":
				ch := report.Chart{Title: title("Time until 90% and 100% of (node, message) pairs are held, against loss"), Subtitle: sub,
					XLabel: axisLabel(axis), YLabel: "time (s)", Headroom: 1.5}
				ch.Series = timeToSeries(keys, groups, axis, []float64{0.9, 1})
				charts = append(charts, ch)
			}
		}
		switch e.Kind {
		case "scaling":
			f.Heading = "Time to 50/90/99/100% of nodes against " + axis
			f.Text = append(f.Text, "Points are medians over runs, bars the range; a run that never reached a fraction counts as infinitely late, so a point is missing when most runs did not get there.")
		case "traffic":
			f.Heading = "Datagrams and bytes per node per message"
			f.Text = append(f.Text, "Counted from the first message until every node held every message, so anti-entropy statuses sent meanwhile are included. "+
				"The memory engine counts every datagram written, lost or not; the process engine reads each daemon's peerster_packets_total and peerster_bytes_total from /metrics before and after (another implementation has no /metrics, and its runs show no traffic).")
		case "loss":
			f.Heading = "Delivery time against loss rate"
			f.Text = append(f.Text, "Loss is drawn per datagram and per link, independently: in memory by the virtual network, with processes by an nftables rule on the input hook of a network namespace of the run's own (a silent drop, as on a real network).")
		}
	case "residue":
		f.Heading = "Residue of rumor mongering alone, against the coin, with Demers et al. 1987"
		res, traffic, table, err := residueCharts(e, pts, sub)
		if err != nil {
			return f, err
		}
		charts = append(charts, res, traffic)
		f.Table = table
		f.Text = append(f.Text, residueText(pts)...)
	default:
		return f, fmt.Errorf("unknown plot %q", e.Kind)
	}
	f.Text = append(f.Text, incomplete(pts)...)
	f.Text = append(f.Text, compare(e, pts)...)
	var err error
	f.SVGs, err = svgs(charts...)
	return f, err
}

// setting is the points of one chart: those sharing every swept value but
// the engine and the x axis.
type setting struct {
	name string
	pts  []*point
}

func bySetting(pts []*point, axis string) []setting {
	var out []setting
	for _, pt := range pts {
		var parts []string
		for _, p := range strings.Split(pt.Label, ", ")[1:] {
			if !strings.HasPrefix(p, axis+"=") {
				parts = append(parts, p)
			}
		}
		name := strings.Join(parts, ", ")
		i := slices.IndexFunc(out, func(s setting) bool { return s.name == name })
		if i < 0 {
			out = append(out, setting{name: name})
			i = len(out) - 1
		}
		out[i].pts = append(out[i].pts, pt)
	}
	return out
}

func labelOf(pt *point) string {
	parts := strings.Split(pt.Label, ", ")
	return strings.Join(append([]string{engineName(parts[0])}, parts[1:]...), ", ")
}

// incomplete says which points had runs that failed or did not reach
// every node, since a median hides them.
func incomplete(pts []*point) []string {
	var out []string
	for _, pt := range pts {
		failed, short := 0, 0
		var firstErr string
		for _, r := range pt.Results {
			switch {
			case r.Err != "":
				failed++
				firstErr = r.Err
			case r.Reached() < 1:
				short++
			}
		}
		if failed > 0 {
			out = append(out, fmt.Sprintf("%s: %d of %d runs failed (%s).", labelOf(pt), failed, len(pt.Results), firstErr))
		}
		if short > 0 && pt.Params.AE > 0 {
			out = append(out, fmt.Sprintf("%s: %d of %d runs had not reached every node after the %v horizon.", labelOf(pt), short, len(pt.Results), pt.Params.Horizon))
		}
	}
	return out
}

// compare puts side by side the memory and process points of the same
// setting, and says where the gap comes from.
func compare(e experiment, pts []*point) []string {
	type pair struct{ mem, proc *point }
	byKey := map[string]*pair{}
	var order []string
	for _, pt := range pts {
		p := pt.Params
		p.Engine = ""
		k := p.Key()
		if byKey[k] == nil {
			byKey[k] = &pair{}
			order = append(order, k)
		}
		if pt.Params.Engine == exp.Memory {
			byKey[k].mem = pt
		} else {
			byKey[k].proc = pt
		}
	}
	var rows []string
	faster := false
	for _, k := range order {
		pr := byKey[k]
		if pr.mem == nil || pr.proc == nil || len(ok(pr.mem)) == 0 || len(ok(pr.proc)) == 0 {
			continue
		}
		m50 := over(pr.mem, func(r exp.Result) float64 { return r.TimeTo(0.5) }).Median
		p50 := over(pr.proc, func(r exp.Result) float64 { return r.TimeTo(0.5) }).Median
		m100 := over(pr.mem, func(r exp.Result) float64 { return r.TimeTo(1) }).Median
		p100 := over(pr.proc, func(r exp.Result) float64 { return r.TimeTo(1) }).Median
		faster = faster || p50 < m50 || p100 < m100
		rows = append(rows, fmt.Sprintf("Same setting (n=%d, loss=%s): median time to 50%% %s s in memory, %s s with processes; to 100%% %s s and %s s, processes/memory %s×.",
			pr.mem.Params.N, pr.mem.Params.Get("loss"), sig(m50), sig(p50), sig(m100), sig(p100), sig(p100/m100)))
	}
	if len(rows) == 0 {
		return nil
	}
	if faster {
		rows = append(rows, "At some settings above the processes were faster than the simulation. Under loss, the time to reach half the nodes is bimodal in both engines: "+
			"a first exchange with a peer waits the full ack timeout when its rumor or ack is lost (the daemon has not measured the round trip yet), "+
			"so a run whose early exchanges lose a datagram stalls for a large part of a second and one whose early exchanges succeed does not. "+
			"With a handful of runs per point the median can land in either mode; more runs (-runs) tell a real gap from this.")
	}
	return append(rows, "What differs between the engines, beyond the protocol code they share: "+
		"(1) the links: in memory each datagram takes the set latency and jitter (here "+e.Base.Latency.String()+" + up to "+e.Base.Jitter.String()+") and handling it takes no time, "+
		"while on loopback the wire is fast but n processes share this machine's cores (see the load average above), so every hop also waits for a CPU, more so as n grows: "+
		"this is why, without loss, the processes are slower and the gap widens with n; "+
		"(2) time 0 for processes is taken before the client process starts, and a node is counted when its stdout line is read from the pipe; "+
		"(3) both engines run the same timers (ack timeouts, anti-entropy), so where recovering lost datagrams dominates, as at 30% loss, the two are closer, "+
		"and which exchanges fail depends on the order of concurrent events, which differs between engines; with a handful of runs per point the bars are wide, so read gaps within them as noise.")
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// sig is v to 3 significant digits.
func sig(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// residueCharts draws the measured residue and traffic against the stop
// probability next to the paper's Table 2, its analysis, and a Monte Carlo
// run of its model on as many sites.
func residueCharts(e experiment, pts []*point, sub string) (report.Chart, report.Chart, *report.Table, error) {
	res := report.Chart{Title: "Residue: share of nodes never reached by rumor mongering alone", Subtitle: sub,
		XLabel: axisLabel("coin"), YLabel: "residue (fraction of nodes)", YMin: 0, YMax: 1, LegendLeft: true}
	tr := report.Chart{Title: "Rumor traffic: rumor datagrams per node until mongering stopped", Subtitle: sub,
		XLabel: axisLabel("coin"), YLabel: "rumor datagrams per node"}
	keys, groups := series(pts, "coin")
	for gi, k := range keys {
		s := report.Series{Label: "Peerster, " + k, Style: report.LinePoints, Color: gi}
		t := report.Series{Label: "Peerster, " + k, Style: report.LinePoints, Color: gi}
		for _, pt := range groups[k] {
			x := xValue(pt.Params, "coin")
			s.X, t.X = append(s.X, x), append(t.X, x)
			s.Y = append(s.Y, over(pt, func(r exp.Result) float64 { return 1 - r.Reached() }))
			t.Y = append(t.Y, over(pt, func(r exp.Result) float64 { return r.PerNodeMessage(r.Rumors) }))
		}
		res.Series, tr.Series = append(res.Series, s), append(tr.Series, t)
	}
	// The analysis, as curves over the stop probability p = 1/k.
	var px []float64
	for p := 0.05; p <= 1.0001; p += 0.01 {
		px = append(px, p)
	}
	blind := report.Series{Label: "analysis, blind coin: s = e^{-k(1-s)}", X: px, Color: 5, Dashed: true}
	feedback := report.Series{Label: "Demers et al., feedback coin: s = e^{-(k+1)(1-s)}", X: px, Color: 6, Dashed: true}
	blindM := report.Series{Label: "analysis, blind coin: m = -ln s", X: px, Color: 5, Dashed: true}
	for _, p := range px {
		sb, sf := demers.BlindCoinResidue(1/p), demers.FeedbackCoinResidue(1/p)
		blind.Y = append(blind.Y, stats.Band{Lo: sb, Median: sb, Hi: sb})
		feedback.Y = append(feedback.Y, stats.Band{Lo: sf, Median: sf, Hi: sf})
		m := demers.Traffic(sb)
		blindM.Y = append(blindM.Y, stats.Band{Lo: m, Median: m, Hi: m})
	}
	table2 := report.Series{Label: "Demers et al. Table 2 (blind, coin; 1000 sites)", Style: report.Points, Color: 2}
	table2M := table2
	for _, row := range demers.BlindCoin {
		p := 1 / float64(row.K)
		table2.X, table2M.X = append(table2.X, p), append(table2M.X, p)
		table2.Y = append(table2.Y, stats.Band{Lo: row.Residue, Median: row.Residue, Hi: row.Residue})
		table2M.Y = append(table2M.Y, stats.Band{Lo: row.Traffic, Median: row.Traffic, Hi: row.Traffic})
	}
	// The paper's model itself, simulated on as many sites as we ran.
	model := report.Series{Label: fmt.Sprintf("model of the paper, blind coin, simulated (n=%d, 200 runs)", e.Base.N), Style: report.LinePoints, Color: 3}
	modelM := model
	var ps []float64
	for _, pt := range pts {
		if p := xValue(pt.Params, "coin"); p > 0 && !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	rng := rand.New(rand.NewPCG(1, 1987))
	modelRes := map[float64]stats.Band{}
	for _, p := range ps {
		var sv, mv []float64
		for range 200 {
			s, m := demers.Simulate(e.Base.N, 1/p, true, rng)
			sv, mv = append(sv, s), append(mv, m)
		}
		b := stats.Spread(sv, 10, 90)
		modelRes[p] = b
		model.X, modelM.X = append(model.X, p), append(modelM.X, p)
		model.Y, modelM.Y = append(model.Y, b), append(modelM.Y, stats.Spread(mv, 10, 90))
	}
	res.Series = append(res.Series, model, table2, blind, feedback)
	tr.Series = append(tr.Series, modelM, table2M, blindM)

	table := &report.Table{Head: []string{"stop probability p", "k = 1/p", "Peerster residue, median (min–max)",
		"model simulated, median (10–90%)", "Table 2 residue", "analysis blind", "analysis feedback", "Peerster rumor datagrams/node", "Table 2 traffic"}}
	for _, k := range keys {
		for _, pt := range groups[k] {
			p := xValue(pt.Params, "coin")
			b := over(pt, func(r exp.Result) float64 { return 1 - r.Reached() })
			m := over(pt, func(r exp.Result) float64 { return r.PerNodeMessage(r.Rumors) })
			t2, t2m := "–", "–"
			for _, row := range demers.BlindCoin {
				if math.Abs(1/float64(row.K)-p) < 0.005 {
					t2, t2m = fmtF(row.Residue), fmtF(row.Traffic)
				}
			}
			kk, ab, af, mod := "∞", "0", "0", "–"
			if p > 0 {
				kk = fmtF(round3(1 / p))
				ab, af = fmtF(round3(demers.BlindCoinResidue(1/p))), fmtF(round3(demers.FeedbackCoinResidue(1/p)))
				mb := modelRes[p]
				mod = fmt.Sprintf("%s (%s–%s)", fmtF(round3(mb.Median)), fmtF(round3(mb.Lo)), fmtF(round3(mb.Hi)))
			}
			table.Rows = append(table.Rows, []string{fmtF(p), kk,
				fmt.Sprintf("%s (%s–%s)", fmtF(round3(b.Median)), fmtF(round3(b.Lo)), fmtF(round3(b.Hi))),
				mod, t2, ab, af, fmtF(round3(m.Median)), t2m})
		}
	}
	return res, tr, table, nil
}

func residueText(pts []*point) []string {
	return []string{
		"Compared with: " + demers.Citation + ". The table values are transcribed from the paper's Table 2; the feedback equation is the paper's " +
			"(di/ds = -(k+1)/k + 1/(ks), hence s = e^{-(k+1)(1-s)}; its TeX source is in the Xerox PARC archive, " + demers.Source + "), " +
			"and the blind one follows from the same steps with removal independent of s. " +
			"Our handout's coin is blind (it is flipped after every exchange, whether the peer had the rumor or not) with p = 1/2, i.e. k = 2, where Table 2 gives a residue of 0.205 and 1.59 messages per site.",
		"Why Peerster's residue is far below the paper's: the daemon does more than the model. On tails it sends its status to every peer that, as far as it knows, lacks the rumor " +
			"(README, \"On tails\"), which starts a pull exchange at once; it prefers peers that lack the rumor when it picks one; and it flips again on any in-sync status while a rumor is fresh. " +
			"The paper's model is pure blind push to a uniformly random site; the curve \"model of the paper, simulated\" runs exactly that model on as many sites and lands on Table 2, " +
			"which checks that the comparison is made in the same units (residue = share of nodes never reached; traffic = rumor pushes per node).",
	}
}
