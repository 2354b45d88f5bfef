package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/peerster-chat/Peerster/tests/lab/exp"
)

// Plot kinds.
var kinds = []string{"infection", "scaling", "traffic", "residue", "loss"}

// sweep is one swept parameter and its values.
type sweep struct {
	Name   string
	Values []string
}

func parseSweep(s string) (sweep, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok || vals == "" {
		return sweep{}, fmt.Errorf("sweep %q: want name=v1,v2,...", s)
	}
	if !slices.Contains(exp.Names, name) {
		return sweep{}, fmt.Errorf("sweep %q: unknown parameter (one of %s)", s, strings.Join(exp.Names, ", "))
	}
	return sweep{Name: name, Values: strings.Split(vals, ",")}, nil
}

// arm is what one engine runs of an experiment: its own sweeps, since a
// process run of 10,000 nodes is out of reach while a memory run is not.
type arm struct {
	Engine string
	Sweeps []sweep
	Runs   int
}

// experiment is one plot: a base setting, and per engine the sweeps whose
// cartesian product gives its points. The first sweep is the x axis of
// the scaling, traffic and loss plots; the coin sweep is that of the
// residue plot.
type experiment struct {
	ID   string
	Kind string
	Base exp.Params
	Arms []arm
}

// point is one setting of an experiment and its runs.
type point struct {
	Params exp.Params
	// Label names what varies within the experiment.
	Label   string
	Results []exp.Result
}

func (e experiment) points() ([]*point, error) {
	var pts []*point
	for _, a := range e.Arms {
		base := e.Base
		base.Engine = a.Engine
		if e.Kind == "residue" {
			// Mongering alone: anti-entropy would reach everyone.
			base.AE = 0
		}
		combos := []exp.Params{base}
		labels := []string{a.Engine}
		for _, s := range a.Sweeps {
			var next []exp.Params
			var nextLabels []string
			for i, c := range combos {
				for _, v := range s.Values {
					if err := c.Set(s.Name, v); err != nil {
						return nil, err
					}
					next = append(next, c)
					nextLabels = append(nextLabels, labels[i]+", "+s.Name+"="+c.Get(s.Name))
				}
			}
			combos, labels = next, nextLabels
		}
		for i, c := range combos {
			if err := c.Check(); err != nil {
				return nil, fmt.Errorf("%s: %w", e.ID, err)
			}
			pts = append(pts, &point{Params: c, Label: labels[i]})
		}
	}
	return pts, nil
}

// axis is the swept parameter plotted along x: the coin for residue plots,
// loss for loss plots, else the first sweep of the first arm.
func (e experiment) axis() string {
	switch e.Kind {
	case "residue":
		return "coin"
	case "loss":
		return "loss"
	case "infection":
		return ""
	}
	if len(e.Arms) > 0 && len(e.Arms[0].Sweeps) > 0 {
		return e.Arms[0].Sweeps[0].Name
	}
	return "n"
}

func sw(name string, vals ...string) sweep { return sweep{Name: name, Values: vals} }

// presets are the README's figures, and smoke, a small sweep of every plot.
func presets(name string, runs int) ([]experiment, error) {
	base := exp.Defaults()
	r := func(def int) int {
		if runs > 0 {
			return runs
		}
		return def
	}
	complete := base
	complete.Topo, complete.N = "complete", 200
	switch name {
	case "smoke":
		small := base
		small.N = 20
		res := small
		res.Topo, res.N = "complete", 50
		return []experiment{
			{ID: "infection", Kind: "infection", Base: small, Arms: []arm{
				{exp.Memory, []sweep{sw("loss", "0", "0.3")}, r(5)},
				{exp.Process, []sweep{sw("n", "10")}, r(1)},
			}},
			{ID: "scaling", Kind: "scaling", Base: small, Arms: []arm{
				{exp.Memory, []sweep{sw("n", "10", "30", "100", "300")}, r(3)},
				{exp.Process, []sweep{sw("n", "10")}, r(1)},
			}},
			{ID: "traffic", Kind: "traffic", Base: small, Arms: []arm{{exp.Memory, []sweep{sw("n", "10", "30", "100")}, r(3)}}},
			{ID: "residue", Kind: "residue", Base: res, Arms: []arm{{exp.Memory, []sweep{sw("coin", "stop=1", "stop=0.5", "stop=0.25")}, r(3)}}},
			{ID: "loss", Kind: "loss", Base: small, Arms: []arm{{exp.Memory, []sweep{sw("loss", "0", "0.2", "0.4")}, r(3)}}},
		}, nil
	case "infection":
		return []experiment{{ID: "infection", Kind: "infection", Base: base, Arms: []arm{
			{exp.Memory, []sweep{sw("loss", "0", "0.3")}, r(10)},
			{exp.Process, []sweep{sw("loss", "0", "0.3")}, r(5)},
		}}}, nil
	case "scaling":
		return []experiment{{ID: "scaling", Kind: "scaling", Base: base, Arms: []arm{
			{exp.Memory, []sweep{sw("n", "10", "30", "100", "200", "1000", "3000", "10000")}, r(5)},
			{exp.Process, []sweep{sw("n", "10", "30", "100", "200")}, r(3)},
		}}}, nil
	case "traffic":
		return []experiment{{ID: "traffic", Kind: "traffic", Base: base, Arms: []arm{
			{exp.Memory, []sweep{sw("n", "10", "30", "100", "200", "1000", "3000", "10000")}, r(5)},
			{exp.Process, []sweep{sw("n", "10", "30", "100", "200")}, r(3)},
		}}}, nil
	case "residue":
		return []experiment{{ID: "residue", Kind: "residue", Base: complete, Arms: []arm{
			{exp.Memory, []sweep{sw("coin", "stop=1", "stop=0.75", "stop=0.5", "stop=0.333", "stop=0.25", "stop=0.2")}, r(10)},
		}}}, nil
	case "loss":
		return []experiment{{ID: "loss", Kind: "loss", Base: base, Arms: []arm{
			{exp.Memory, []sweep{sw("loss", "0", "0.1", "0.2", "0.3", "0.4", "0.5")}, r(10)},
			{exp.Process, []sweep{sw("loss", "0", "0.1", "0.2", "0.3", "0.4", "0.5")}, r(3)},
		}}}, nil
	case "compare":
		// The acceptance sweep: n = 10…10,000 in memory and
		// 10…200 as processes, at 0% and 30% loss.
		return []experiment{{ID: "compare", Kind: "scaling", Base: base, Arms: []arm{
			{exp.Memory, []sweep{sw("n", "10", "30", "100", "200", "1000", "3000", "10000"), sw("loss", "0", "0.3")}, r(5)},
			{exp.Process, []sweep{sw("n", "10", "30", "100", "200"), sw("loss", "0", "0.3")}, r(3)},
		}}}, nil
	}
	return nil, fmt.Errorf("unknown preset %q (smoke, infection, scaling, traffic, residue, loss, compare)", name)
}
