package p2p

import (
	"fmt"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// meshOf starts n nodes with the production pacing (WriteGap 20 ms,
// DialPause 100 ms), joined through the first, and waits for a full mesh.
func meshOf(b *testing.B, n int) []*testNode {
	cfg := Config{Heartbeat: time.Second, DeadAfter: 3 * time.Second}
	nodes := []*testNode{start(b, cfg, "")}
	for i := 1; i < n; i++ {
		c := cfg
		c.Connect = []string{nodes[0].addr}
		nodes = append(nodes, start(b, c, ""))
	}
	for _, nd := range nodes {
		waitFor(b, "a full mesh", func() bool { return len(nd.aliveSet()) == n-1 })
	}
	return nodes
}

// BenchmarkMeshLatency is the time from Say on one node to the message
// printed on all the others, in a mesh of 6 over loopback TLS. Each message
// goes after a pause longer than the write gap, as a typed one would.
func BenchmarkMeshLatency(b *testing.B) {
	nodes := meshOf(b, 6)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		time.Sleep(25 * time.Millisecond)
		b.StartTimer()
		text := fmt.Sprint("latency ", i)
		nodes[0].say(text)
		line := gossipLine(nodes[0], text)
		for _, nd := range nodes[1:] {
			for nd.host.Count(gossipertest.Equal(line)) == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
}

// BenchmarkMeshBurst sends 100 messages at once from one node and reports
// how many a second reach all 5 others: the 20 ms gap between writes, which
// the real program needs, bounds it near 50 a second.
func BenchmarkMeshBurst(b *testing.B) {
	nodes := meshOf(b, 6)
	const burst = 100
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := 0; j < burst; j++ {
			nodes[0].say(fmt.Sprint("burst ", i, " ", j))
		}
		last := gossipLine(nodes[0], fmt.Sprint("burst ", i, " ", burst-1))
		for _, nd := range nodes[1:] {
			for nd.host.Count(gossipertest.Equal(last)) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	b.ReportMetric(float64(b.N*burst)/time.Since(start).Seconds(), "msgs/s")
}
