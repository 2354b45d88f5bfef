package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkBurstOnMemNetwork measures the protocol's own cost, without
// sockets or processes: 100 messages into one node of a 20-node network with
// three peers each, until every node has all of them. It reports datagrams
// per message, which is what the peer-choice rules try to keep low.
func BenchmarkBurstOnMemNetwork(b *testing.B) {
	const nodes, msgs = 20, 100
	for i := 0; i < b.N; i++ {
		n := NewMemNetwork(int64(i))
		recs := make([]*recorder, nodes)
		var origin *Gossiper
		addrs := make([]netip.AddrPort, nodes)
		for k := range addrs {
			addrs[k] = addr(fmt.Sprintf("10.0.1.%d:5000", k+1))
		}
		stops := make([]func(), nodes)
		for k := range addrs {
			peers := []netip.AddrPort{addrs[(k+1)%nodes], addrs[(k+5)%nodes]}
			g, rec, stop := runGossiper(b, n, addrs[k], Config{
				Name: fmt.Sprintf("N%d", k), Peers: peers, AntiEntropy: time.Second,
				Rand: rand.New(rand.NewSource(int64(k))),
			})
			recs[k], stops[k] = rec, stop
			if k == 0 {
				origin = g
			}
		}
		start := time.Now()
		for m := 0; m < msgs; m++ {
			if err := origin.Say(fmt.Sprintf("burst_%d", m)); err != nil {
				b.Fatal(err)
			}
		}
		for {
			done := 0
			for _, r := range recs {
				if len(r.Messages()) == msgs {
					done++
				}
			}
			if done == nodes {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("%d of %d nodes complete after 30 s", done, nodes)
			}
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/burst")
		b.ReportMetric(float64(n.Sent())/msgs, "datagrams/msg")
		for _, stop := range stops {
			stop()
		}
	}
}
