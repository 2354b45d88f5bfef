package whisper

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkRelay measures one node taking messages from an accepted
// connection and relaying them to a peer: decode, check, dedupe, print,
// encode, queue and write, over loopback TCP.
func BenchmarkRelay(b *testing.B) {
	out := startListener(b)
	n := startNode(b, Config{Peers: []string{out.addr()}, Rate: 1e9, Burst: 1 << 30, SeenMax: 1 << 22, QueueLen: 1 << 16})
	eventually(b, "connected", func() bool { return len(n.PeerStates()) == 1 && n.PeerStates()[0].Connected })
	in := dialNode(b, n)
	var batch strings.Builder
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&batch, `{"ID":"bench-%d","Addr":"127.0.0.1:9","Body":"message number %d","omitempty":"bench","Timestamp":%d}`+"\n", i, i, time.Now().Unix())
	}
	b.ResetTimer()
	start := time.Now()
	go in.Write([]byte(batch.String()))
	for len(out.messages()) < b.N {
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
