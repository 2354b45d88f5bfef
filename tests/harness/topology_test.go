package main

import (
	"slices"
	"testing"
)

func TestRingSuccessorWiring(t *testing.T) {
	r := ringTopology(10)
	want := []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	if !slices.Equal(r.Names, want) {
		t.Fatalf("names %v, want %v", r.Names, want)
	}
	for i, ps := range r.Peers {
		if len(ps) != 1 || ps[0] != (i+1)%10 {
			t.Errorf("node %s peers %v, want only its successor %d", r.Names[i], ps, (i+1)%10)
		}
	}
	if d := r.diameter(); d != 5 {
		t.Errorf("ring diameter %d, want 5", d)
	}
	if e := r.edges(); len(e) != 10 {
		t.Errorf("ring has %d two-way edges, want 10", len(e))
	}
}

func checkRegular(t *testing.T, g topology, n, d int) {
	t.Helper()
	if len(g.Names) != n || len(g.Peers) != n {
		t.Fatalf("%d names, %d peer lists, want %d", len(g.Names), len(g.Peers), n)
	}
	for u, ps := range g.Peers {
		if len(ps) != d {
			t.Errorf("node %d has degree %d, want %d", u, len(ps), d)
		}
		for k, v := range ps {
			if v == u {
				t.Errorf("node %d has a self loop", u)
			}
			if k > 0 && ps[k-1] == v {
				t.Errorf("node %d lists %d twice", u, v)
			}
			// Symmetric -peers: every neighbour also names this node.
			if !slices.Contains(g.Peers[v], u) {
				t.Errorf("edge %d-%d is one-way", u, v)
			}
		}
	}
	if g.diameter() < 0 {
		t.Error("graph is disconnected")
	}
	if len(g.edges()) != n*d/2 {
		t.Errorf("%d edges, want %d", len(g.edges()), n*d/2)
	}
}

func TestRandomRegular(t *testing.T) {
	for seed := uint64(0); seed < 30; seed++ {
		g, err := randomRegular(50, 3, seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkRegular(t, g, 50, 3)
	}
	g, err := randomRegular(8, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	checkRegular(t, g, 8, 4)
}

func TestRandomRegularDeterministic(t *testing.T) {
	a, _ := randomRegular(50, 3, 42)
	b, _ := randomRegular(50, 3, 42)
	if !slices.Equal(a.edges(), b.edges()) {
		t.Fatal("same seed gave different graphs")
	}
	c, _ := randomRegular(50, 3, 43)
	if slices.Equal(a.edges(), c.edges()) {
		t.Fatal("different seeds gave the same graph")
	}
}

func TestRandomRegularImpossible(t *testing.T) {
	for _, c := range [][2]int{{5, 3}, {3, 3}, {1, 0}, {4, 0}} {
		if _, err := randomRegular(c[0], c[1], 1); err == nil {
			t.Errorf("n=%d d=%d: want an error", c[0], c[1])
		}
	}
}

func TestDiameterDisconnected(t *testing.T) {
	g := topology{Names: nodeNames(4), Peers: [][]int{{1}, {0}, {3}, {2}}}
	if d := g.diameter(); d != -1 {
		t.Errorf("diameter %d, want -1", d)
	}
}

func TestNodeNames(t *testing.T) {
	n := nodeNames(50)
	if n[0] != "N00" || n[49] != "N49" {
		t.Errorf("got %s..%s", n[0], n[49])
	}
}

func TestBuildScenarios(t *testing.T) {
	a, err := buildScenarios("all", 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := buildScenarios("all", 1)
	if len(a) != 3 || a[0].Name != "ring10" || a[0].Origin != 4 || a[2].Messages != 100 {
		t.Fatalf("unexpected scenarios %+v", a)
	}
	if a[1].Origin != b[1].Origin || a[2].Origin != a[1].Origin {
		t.Error("origin not fixed by the seed or not shared by graph50 and burst100")
	}
	g, err := buildScenarios("graph100", 1)
	if err != nil || len(g) != 1 || len(g[0].Topo.Names) != 100 || g[0].Messages != 1 {
		t.Errorf("graph100: %v", err)
	}
	if _, err := buildScenarios("nope", 1); err == nil {
		t.Error("unknown scenario accepted")
	}
	texts := a[2].texts(3)
	if len(texts) != 100 || texts[0] != "burst_3_0" || texts[99] != "burst_3_99" {
		t.Errorf("burst texts %v..", texts[:2])
	}
}
