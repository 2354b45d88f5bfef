package exp

import (
	"fmt"
	"math/rand/v2"
)

// Topology returns, for each node, the nodes it is told about with -peers.
// A Peerster node also learns whoever sends it a packet, so a course-ring
// node learns its predecessor from traffic.
func Topology(p Params, seed uint64) ([][]int, error) {
	n := p.N
	peers := make([][]int, n)
	switch p.Topo {
	case "ring":
		for i := range n {
			peers[i] = []int{(i + 1) % n}
			if n > 2 {
				peers[i] = append(peers[i], (i+n-1)%n)
			}
		}
	case "course-ring":
		for i := range n {
			peers[i] = []int{(i + 1) % n}
		}
	case "complete":
		for i := range n {
			for j := range n {
				if j != i {
					peers[i] = append(peers[i], j)
				}
			}
		}
	case "regular":
		return RandomRegular(n, p.Degree, seed)
	default:
		return nil, fmt.Errorf("unknown topology %q", p.Topo)
	}
	return peers, nil
}

// RandomRegular draws a connected simple d-regular graph. It pairs the
// n·d edge ends at random, skipping a pair that would make a loop or a
// second edge between the same nodes and starting over only when no
// allowed pair is left (Steger and Wormald's method): pure rejection of
// whole pairings, as tests/harness does, almost never succeeds for d ≥ 6 at
// thousands of nodes. The result is close to uniform for small d.
func RandomRegular(n, d int, seed uint64) ([][]int, error) {
	if n < 2 || d < 1 || d >= n || n*d%2 != 0 {
		return nil, fmt.Errorf("no simple %d-regular graph on %d nodes", d, n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for attempt := 0; attempt < 1000; attempt++ {
		adj, ok := pairEnds(n, d, rng)
		if ok && connected(adj) {
			return adj, nil
		}
	}
	return nil, fmt.Errorf("no connected %d-regular graph on %d nodes found", d, n)
}

func pairEnds(n, d int, rng *rand.Rand) ([][]int, bool) {
	ends := make([]int, 0, n*d)
	for i := range n {
		for range d {
			ends = append(ends, i)
		}
	}
	adj := make([][]int, n)
	edge := make(map[[2]int]bool, n*d/2)
	for len(ends) > 0 {
		paired := false
		// A few random tries find an allowed pair almost always; when
		// only disallowed pairs remain, the draw is abandoned.
		for try := 0; try < 100 && !paired; try++ {
			i, j := rng.IntN(len(ends)), rng.IntN(len(ends))
			u, v := ends[i], ends[j]
			e := [2]int{min(u, v), max(u, v)}
			if i == j || u == v || edge[e] {
				continue
			}
			edge[e] = true
			adj[u] = append(adj[u], v)
			adj[v] = append(adj[v], u)
			// Remove both ends, the higher index first.
			for _, k := range []int{max(i, j), min(i, j)} {
				ends[k] = ends[len(ends)-1]
				ends = ends[:len(ends)-1]
			}
			paired = true
		}
		if !paired {
			return nil, false
		}
	}
	return adj, true
}

// connected reports whether the graph, links taken both ways, is in one
// piece.
func connected(peers [][]int) bool {
	und := Undirected(peers)
	seen := make([]bool, len(und))
	queue := []int{0}
	seen[0] = true
	count := 1
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range und[u] {
			if !seen[v] {
				seen[v] = true
				count++
				queue = append(queue, v)
			}
		}
	}
	return count == len(und)
}

// Undirected adds the reverse of every link: a node learns whoever speaks
// to it.
func Undirected(peers [][]int) [][]int {
	und := make([][]int, len(peers))
	has := make(map[[2]int]bool)
	add := func(u, v int) {
		if !has[[2]int{u, v}] {
			has[[2]int{u, v}] = true
			und[u] = append(und[u], v)
		}
	}
	for u, ps := range peers {
		for _, v := range ps {
			add(u, v)
			add(v, u)
		}
	}
	return und
}
