package exp

import (
	"math"
	"slices"
)

// Result is one run of one setting.
type Result struct {
	Params Params
	Run    int
	Seed   uint64
	// Pairs is nodes × messages; Times holds, sorted, the seconds after
	// the first message at which each (node, message) pair was first held.
	Pairs int
	Times []float64
	// Traffic from the first message to the end of the run, all nodes.
	Datagrams, Bytes, Rumors, Statuses int64
	// End is how long the run went on after the first message, in seconds
	// (virtual for the memory engine); Wall what it took on the clock.
	End, Wall float64
	// Err says why the run failed; it then has no figures.
	Err string
}

// Reached is the fraction of pairs held at the end.
func (r Result) Reached() float64 {
	if r.Pairs == 0 {
		return 0
	}
	return float64(len(r.Times)) / float64(r.Pairs)
}

// TimeTo is when a fraction q of pairs was held, +Inf if never.
func (r Result) TimeTo(q float64) float64 {
	need := int(math.Ceil(q*float64(r.Pairs) - 1e-9))
	switch {
	case need <= 0:
		return 0
	case need > len(r.Times):
		return math.Inf(1)
	}
	return r.Times[need-1]
}

// HeldAt is the fraction of pairs held t seconds after the first message.
func (r Result) HeldAt(t float64) float64 {
	n, _ := slices.BinarySearch(r.Times, math.Nextafter(t, math.Inf(1)))
	return float64(n) / float64(r.Pairs)
}

// PerNodeMessage divides a traffic count by nodes × messages.
func (r Result) PerNodeMessage(v int64) float64 {
	return float64(v) / float64(r.Pairs)
}
