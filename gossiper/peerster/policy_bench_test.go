package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// randomRegularPeers is a random d-regular graph on n nodes by the pairing
// model (retried until simple), as peer lists of virtual addresses: node i
// is told about its neighbours with a higher index, as the harness does.
func randomRegularPeers(n, d int, seed int64) [][]netip.AddrPort {
	rng := rand.New(rand.NewSource(seed))
retry:
	for {
		points := make([]int, 0, n*d)
		for i := range n {
			for range d {
				points = append(points, i)
			}
		}
		rng.Shuffle(len(points), func(a, b int) { points[a], points[b] = points[b], points[a] })
		adj := make([]map[int]bool, n)
		for i := range adj {
			adj[i] = map[int]bool{}
		}
		for k := 0; k < len(points); k += 2 {
			a, b := points[k], points[k+1]
			if a == b || adj[a][b] {
				continue retry
			}
			adj[a][b], adj[b][a] = true, true
		}
		peers := make([][]netip.AddrPort, n)
		for i := range n {
			for j := range n {
				if adj[i][j] && j > i {
					peers[i] = append(peers[i], VirtualAddr(j))
				}
			}
		}
		return peers
	}
}

type policyRun struct {
	toAll      time.Duration
	receptions float64 // rumor datagrams delivered per node per message
	flips      float64 // heads flips (FLIPPED COIN lines), all nodes
	datagrams  float64 // per message
	complete   bool
}

// runPolicy sends msgs messages from the given origins (round robin, every
// gap apart) into a network with the given peer lists, and runs until every
// node holds every message or limit passes.
func runPolicy(peers [][]netip.AddrPort, origins []int, msgs int, gap time.Duration, link Link, seed int64, limit time.Duration) policyRun {
	v := NewVirtualNet(seed)
	v.DefaultLink = link
	n := len(peers)
	held := make([]int, n)
	complete := 0
	var rumors, total int
	v.OnSend = func(from, to int, kind string, size int) {
		total++
		if kind == "rumor" {
			rumors++
		}
	}
	v.OnStore = func(node int, origin string, id uint32, at time.Time) {
		held[node]++
		if held[node] == msgs {
			complete++
		}
	}
	for i := range n {
		if _, err := v.Add(Config{Name: fmt.Sprintf("N%d", i), Peers: peers[i], AntiEntropy: time.Second,
			Rand: rand.New(rand.NewSource(seed*1000 + int64(i)))}); err != nil {
			panic(err)
		}
	}
	v.Run(1500*time.Millisecond, nil) // the harness's settle time
	var last time.Duration
	for m := range msgs {
		if m > 0 && gap > 0 {
			v.Run(v.Elapsed()+gap, nil)
		}
		if err := v.Say(origins[m%len(origins)], fmt.Sprintf("m%d", m)); err != nil {
			panic(err)
		}
		last = v.Elapsed()
	}
	// An origin's own message counts as stored when it says it.
	ok := v.Run(last+limit, func() bool { return complete == n })
	toAll := v.Elapsed() - last
	// As the harness does, count what a run costs over at least a second
	// from the first message: the coin keeps flipping after the last node
	// has everything.
	if first := last - time.Duration(msgs-1)*gap; v.Elapsed() < first+time.Second {
		v.Run(first+time.Second, nil)
	}
	flips := 0.0
	for _, node := range v.nodes {
		flips += testutil.ToFloat64(node.g.metrics.flips.WithLabelValues("heads"))
	}
	return policyRun{toAll: toAll, receptions: float64(rumors) / float64(n*msgs),
		flips: flips, datagrams: float64(total) / float64(msgs), complete: ok}
}

// BenchmarkPolicy prints, per scenario of the performance issue, what the
// mongering policy costs and how fast it delivers, in virtual time on the
// real protocol code: the 50-node burst (receptions per rumor per node and
// FLIPPED COIN lines) and 20 messages from 5 nodes of a 20-node graph under
// loss.
func BenchmarkPolicy(b *testing.B) {
	graph50 := randomRegularPeers(50, 3, 1)
	graph20 := randomRegularPeers(20, 3, 2)
	for _, sc := range []struct {
		name    string
		peers   [][]netip.AddrPort
		origins []int
		msgs    int
		gap     time.Duration
		loss    float64
	}{
		{"burst100-graph50", graph50, []int{7}, 100, 3500 * time.Microsecond, 0},
		{"one-graph50", graph50, []int{7}, 1, 0, 0},
		{"20msgs-graph20-loss30", graph20, []int{0, 4, 8, 12, 16}, 20, 50 * time.Millisecond, 0.3},
		{"20msgs-graph20-loss50", graph20, []int{0, 4, 8, 12, 16}, 20, 50 * time.Millisecond, 0.5},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var sum policyRun
			incomplete := 0
			for i := 0; i < b.N; i++ {
				r := runPolicy(sc.peers, sc.origins, sc.msgs, sc.gap, Link{Loss: sc.loss, Latency: 200 * time.Microsecond, Jitter: 100 * time.Microsecond}, int64(i+1), 120*time.Second)
				if !r.complete {
					incomplete++
				}
				sum.toAll += r.toAll
				sum.receptions += r.receptions
				sum.flips += r.flips
				sum.datagrams += r.datagrams
			}
			n := float64(b.N)
			b.ReportMetric(sum.toAll.Seconds()*1000/n, "ms-to-all")
			b.ReportMetric(sum.receptions/n, "receptions/rumor/node")
			b.ReportMetric(sum.flips/n, "flips")
			b.ReportMetric(sum.datagrams/n, "datagrams/msg")
			b.ReportMetric(float64(incomplete), "incomplete")
		})
	}
}
