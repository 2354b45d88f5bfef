package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// topology says which nodes exist and whom each one is told about at start.
type topology struct {
	Names []string
	Peers [][]int // Peers[i]: the nodes given to node i with -peers
}

// nodeNames uses letters while they last so that the ring matches the
// course's A..J scripts; bigger graphs get sortable numbered names.
func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		if n <= 26 {
			names[i] = string(rune('A' + i))
		} else {
			names[i] = fmt.Sprintf("N%02d", i)
		}
	}
	return names
}

// ringTopology is the course's ring: each node knows only its successor and
// must learn its predecessor from the traffic it receives.
func ringTopology(n int) topology {
	t := topology{Names: nodeNames(n), Peers: make([][]int, n)}
	for i := range n {
		t.Peers[i] = []int{(i + 1) % n}
	}
	return t
}

// randomRegular draws a connected simple d-regular graph with the pairing
// (configuration) model, rejecting draws with loops, multi-edges or more than
// one component. Rejection keeps the result uniform over such graphs, and the
// seeded PCG makes it the same graph for every implementation benchmarked.
func randomRegular(n, d int, seed uint64) (topology, error) {
	if n < 2 || d < 1 || d >= n || n*d%2 != 0 {
		return topology{}, fmt.Errorf("no simple %d-regular graph on %d nodes", d, n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	points := make([]int, n*d)
	for attempt := 0; attempt < 100000; attempt++ {
		for i := range points {
			points[i] = i / d
		}
		rng.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
		adj, ok := pairUp(points, n)
		if !ok {
			continue
		}
		t := topology{Names: nodeNames(n), Peers: adj}
		if t.diameter() >= 0 {
			return t, nil
		}
	}
	return topology{}, fmt.Errorf("no connected %d-regular graph on %d nodes found", d, n)
}

func pairUp(points []int, n int) ([][]int, bool) {
	adj := make([][]int, n)
	seen := make(map[[2]int]bool, len(points)/2)
	for k := 0; k+1 < len(points); k += 2 {
		u, v := points[k], points[k+1]
		if u == v {
			return nil, false
		}
		e := [2]int{min(u, v), max(u, v)}
		if seen[e] {
			return nil, false
		}
		seen[e] = true
		adj[u] = append(adj[u], v)
		adj[v] = append(adj[v], u)
	}
	for _, a := range adj {
		slices.Sort(a)
	}
	return adj, true
}

// undirected adds the reverse of every -peers entry, because a Peerster node
// adds whoever sends to it to its peers, so links end up two-way.
func (t topology) undirected() [][]int {
	adj := make([][]int, len(t.Peers))
	for u, ps := range t.Peers {
		for _, v := range ps {
			if !slices.Contains(adj[u], v) {
				adj[u] = append(adj[u], v)
			}
			if !slices.Contains(adj[v], u) {
				adj[v] = append(adj[v], u)
			}
		}
	}
	return adj
}

// diameter of the two-way graph, or -1 when it is disconnected. It bounds
// how many gossip hops the slowest node is from the origin.
func (t topology) diameter() int {
	adj := t.undirected()
	n := len(adj)
	diam := 0
	dist := make([]int, n)
	queue := make([]int, 0, n)
	for s := range n {
		for i := range dist {
			dist[i] = -1
		}
		dist[s] = 0
		queue = append(queue[:0], s)
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range adj[u] {
				if dist[v] < 0 {
					dist[v] = dist[u] + 1
					diam = max(diam, dist[v])
					queue = append(queue, v)
				}
			}
		}
		if slices.Contains(dist, -1) {
			return -1
		}
	}
	return diam
}

// edges lists each two-way link once, for the JSON report.
func (t topology) edges() [][2]int {
	var out [][2]int
	for u, ps := range t.undirected() {
		for _, v := range ps {
			if u < v {
				out = append(out, [2]int{u, v})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return out
}
