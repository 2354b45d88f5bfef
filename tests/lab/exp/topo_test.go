package exp

import "testing"

func TestRandomRegularIsSimpleConnectedAndRegular(t *testing.T) {
	for _, c := range []struct{ n, d int }{{10, 3}, {1000, 4}, {10000, 8}} {
		adj, err := RandomRegular(c.n, c.d, 1)
		if err != nil {
			t.Fatal(err)
		}
		for u, ps := range adj {
			if len(ps) != c.d {
				t.Fatalf("n=%d d=%d: node %d has degree %d", c.n, c.d, u, len(ps))
			}
			seen := map[int]bool{}
			for _, v := range ps {
				if v == u || seen[v] {
					t.Fatalf("n=%d d=%d: node %d has a loop or a double edge to %d", c.n, c.d, u, v)
				}
				seen[v] = true
			}
		}
		if !connected(adj) {
			t.Fatalf("n=%d d=%d: not connected", c.n, c.d)
		}
	}
	if _, err := RandomRegular(5, 3, 1); err == nil {
		t.Error("a 3-regular graph on 5 nodes cannot exist")
	}
}

func TestTopologies(t *testing.T) {
	p := Defaults()
	p.N = 5
	for topo, degree := range map[string]int{"ring": 2, "course-ring": 1, "complete": 4} {
		p.Topo = topo
		peers, err := Topology(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		for u, ps := range peers {
			if len(ps) != degree {
				t.Errorf("%s: node %d told %d peers, want %d", topo, u, len(ps), degree)
			}
		}
		if !connected(peers) {
			t.Errorf("%s: not connected", topo)
		}
	}
}

func TestResultTimes(t *testing.T) {
	r := Result{Pairs: 4, Times: []float64{0, 1, 2}}
	if r.Reached() != 0.75 || r.TimeTo(0.5) != 1 || r.TimeTo(0.75) != 2 || r.TimeTo(1) < 1e300 {
		t.Fatalf("reached %v, t50 %v, t75 %v, t100 %v", r.Reached(), r.TimeTo(0.5), r.TimeTo(0.75), r.TimeTo(1))
	}
	if r.HeldAt(0.5) != 0.25 || r.HeldAt(1) != 0.5 || r.HeldAt(5) != 0.75 {
		t.Fatalf("held at 0.5: %v, 1: %v, 5: %v", r.HeldAt(0.5), r.HeldAt(1), r.HeldAt(5))
	}
}
