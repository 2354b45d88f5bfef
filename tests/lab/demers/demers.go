// Package demers is the analysis of rumor mongering in Demers et al.,
// "Epidemic algorithms for replicated database maintenance", PODC 1987,
// section 1.4, against which the lab compares the Peerster protocol.
//
// A site with a hot rumor pushes it to a random site each cycle and loses
// interest with probability 1/k: after every push (blind) or only after a
// push to a site that already knew it (feedback). With s the fraction of
// sites still susceptible and i the fraction infective, the paper's
// feedback analysis gives di/ds = -(k+1)/k + 1/(k s), hence at the end
// (i = 0) s = e^{-(k+1)(1-s)}. The same steps for the blind variant, where
// removal does not depend on s, give di/ds = -1 + 1/(k s) and
// s = e^{-k(1-s)}. For any push variant the traffic m, in pushes per site,
// satisfies s = e^{-m}.
package demers

import (
	"math"
	"math/rand/v2"
)

// Citation is where the compared figures are printed.
const Citation = `A. Demers, D. Greene, C. Hauser, W. Irish, J. Larson, S. Shenker, H. Sturgis, D. Swinehart, D. Terry, ` +
	`"Epidemic algorithms for replicated database maintenance", Proc. 6th ACM PODC, 1987, pp. 1-12 ` +
	`(Xerox PARC report CSL-89-1), section 1.4 "Rumor mongering": Table 1 (feedback, counter) and Table 2 (blind, coin), 1000 sites`

// Source is where the paper's analysis of rumor mongering, with the
// blind/feedback and counter/coin variants, can be read as its authors
// wrote it.
const Source = "https://xeroxparcarchive.computerhistory.org/_cd6_/ralpine/chspaper/as1r4.tex!1"

// Row is one line of the paper's tables: residue s, traffic m (pushes per
// site), and the average and last cycle at which a site heard the rumor.
type Row struct {
	K                             int
	Residue, Traffic, TAve, TLast float64
}

// BlindCoin is Table 2 of the paper, "Performance of an epidemic on 1000
// sites using blind and coin", as printed.
var BlindCoin = []Row{
	{1, 0.960, 0.04, 19, 38},
	{2, 0.205, 1.59, 17, 33},
	{3, 0.060, 2.82, 15, 32},
	{4, 0.021, 3.91, 14.1, 32},
	{5, 0.008, 4.95, 13.8, 32},
}

// FeedbackCounter is Table 1 of the paper, "Performance of an epidemic on
// 1000 sites using feedback and counters", as printed.
var FeedbackCounter = []Row{
	{1, 0.176, 1.74, 11.0, 16.8},
	{2, 0.037, 3.30, 12.1, 16.9},
	{3, 0.011, 4.53, 12.5, 17.4},
	{4, 0.0036, 5.64, 12.7, 17.5},
	{5, 0.0012, 6.68, 12.8, 17.7},
}

// residue solves s = e^{-a(1-s)} for its root below 1, which exists for
// a > 1; for a <= 1 the rumor reaches a vanishing share and s = 1.
func residue(a float64) float64 {
	if a <= 1 {
		return 1
	}
	h := func(s float64) float64 { return s - math.Exp(-a*(1-s)) }
	// h(0) < 0 and h is positive at its maximum, 1 - ln(a)/a.
	lo, hi := 0.0, 1-math.Log(a)/a
	for range 200 {
		mid := (lo + hi) / 2
		if h(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// FeedbackCoinResidue is the paper's s = e^{-(k+1)(1-s)}.
func FeedbackCoinResidue(k float64) float64 { return residue(k + 1) }

// BlindCoinResidue is s = e^{-k(1-s)}.
func BlindCoinResidue(k float64) float64 { return residue(k) }

// Traffic is the pushes per site that leave a residue s: m = -ln s.
func Traffic(s float64) float64 { return -math.Log(s) }

// Simulate runs the paper's model once on n sites in synchronous cycles,
// one rumor from site 0, and returns the residue and the traffic in
// pushes per site. Sites infected during a cycle push from the next one.
func Simulate(n int, k float64, blind bool, rng *rand.Rand) (residue, traffic float64) {
	knows := make([]bool, n)
	knows[0] = true
	hot := []int{0}
	pushes, told := 0, 1
	for len(hot) > 0 {
		var next []int
		for _, u := range hot {
			v := rng.IntN(n - 1)
			if v >= u {
				v++
			}
			pushes++
			already := knows[v]
			if !already {
				knows[v] = true
				told++
				next = append(next, v)
			}
			if (blind || already) && rng.Float64() < 1/k {
				continue
			}
			next = append(next, u)
		}
		hot = next
	}
	return float64(n-told) / float64(n), float64(pushes) / float64(n)
}
