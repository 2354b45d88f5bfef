package exp

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestOriginsSpreadOverKNodesInTurn(t *testing.T) {
	p := Defaults()
	p.N, p.Msgs, p.Origin = 20, 20, "5"
	if err := p.Check(); err != nil {
		t.Fatalf("origin 5 of 20 refused: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	var got []int
	for m := range 7 {
		got = append(got, p.OriginOf(m, r))
	}
	if want := []int{0, 4, 8, 12, 16, 0, 4}; !slices.Equal(got, want) {
		t.Fatalf("origins %v, want %v", got, want)
	}
	for _, bad := range []string{"0", "21", "-1", "five"} {
		p.Origin = bad
		if err := p.Check(); err == nil {
			t.Errorf("origin %q of 20 nodes accepted", bad)
		}
	}
}
