package demers

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFeedbackCoinResidueSolvesThePaperEquation(t *testing.T) {
	for _, k := range []float64{0.5, 1, 2, 3, 5} {
		s := FeedbackCoinResidue(k)
		if s <= 0 || s >= 1 {
			t.Fatalf("k=%v: residue %v out of (0,1)", k, s)
		}
		if d := s - math.Exp(-(k+1)*(1-s)); math.Abs(d) > 1e-12 {
			t.Errorf("k=%v: s=%v misses the equation by %v", k, s, d)
		}
	}
	// k = 1 is Sudbury's 0.203 for the Maki-Thompson rumor.
	if s := FeedbackCoinResidue(1); math.Abs(s-0.2032) > 0.0005 {
		t.Errorf("k=1: residue %v, want 0.2032", s)
	}
}

func TestBlindCoinResidueMatchesTable2(t *testing.T) {
	// Table 2 at k = 2..5 (k = 1 is the degenerate case: s -> 1 for large n).
	for _, row := range BlindCoin[1:] {
		s := BlindCoinResidue(float64(row.K))
		if math.Abs(s-row.Residue) > 0.01 {
			t.Errorf("k=%d: s=%.4f, Table 2 says %.3f", row.K, s, row.Residue)
		}
		if m := Traffic(s); math.Abs(m-row.Traffic) > 0.05 {
			t.Errorf("k=%d: m=%.3f, Table 2 says %.2f", row.K, m, row.Traffic)
		}
	}
	if BlindCoinResidue(1) != 1 {
		t.Error("k=1 blind: the rumor should die out (s=1 for large n)")
	}
}

func TestSimulationAgreesWithTheAnalysis(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, runs = 1000, 200
	for _, c := range []struct {
		k     float64
		blind bool
		want  float64
	}{
		{2, true, BlindCoinResidue(2)},
		{1, false, FeedbackCoinResidue(1)},
	} {
		var sum, traffic float64
		ok := 0
		for range runs {
			s, m := Simulate(n, c.k, c.blind, rng)
			// Runs that die out at once (the first pushes all stop)
			// are the small epidemic, not the large one the analysis
			// describes.
			if s > 0.9 {
				continue
			}
			sum += s
			traffic += m
			ok++
		}
		if ok < runs/2 {
			t.Fatalf("k=%v blind=%v: only %d of %d runs took off", c.k, c.blind, ok, runs)
		}
		mean := sum / float64(ok)
		if math.Abs(mean-c.want) > 0.03 {
			t.Errorf("k=%v blind=%v: mean residue %.3f, analysis %.3f", c.k, c.blind, mean, c.want)
		}
		if m := traffic / float64(ok); math.Abs(math.Exp(-m)-mean) > 0.03 {
			t.Errorf("k=%v blind=%v: traffic %.3f does not give s = e^-m (%.3f vs %.3f)", c.k, c.blind, m, math.Exp(-m), mean)
		}
	}
}
