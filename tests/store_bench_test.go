package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of issue 11 with real processes: how many client messages a
// second a node takes with -dataDir (every one on disk before its CLIENT
// MESSAGE line), and what 100,000 stored messages cost at start-up.

// intakeWindow is how many client datagrams may be unacknowledged at once:
// enough to keep the node busy, few enough that the client port's socket
// buffer never overflows, so that no message is lost on the way in.
const intakeWindow = 64

// feedClient sends count client messages named prefix_i to n as fast as n
// acknowledges them and returns how long until the last CLIENT MESSAGE
// line. It fails if the node does not acknowledge every one.
func feedClient(tb testing.TB, n *chatNode, prefix string, count int) time.Duration {
	tb.Helper()
	s := newClientSender(tb, n.uiPort)
	_, cursor := clientLines(n.out, 0)
	start := time.Now()
	sent, acked := 0, 0
	lastProgress := time.Now()
	for acked < count {
		for sent < count && sent-acked < intakeWindow {
			if err := s.send(fmt.Sprintf("%s_%d", prefix, sent)); err != nil {
				tb.Fatal(err)
			}
			sent++
		}
		var got []string
		got, cursor = clientLines(n.out, cursor)
		if len(got) > 0 {
			acked += len(got)
			lastProgress = time.Now()
			continue
		}
		if time.Since(lastProgress) > waitTimeout {
			tb.Fatalf("node %s acknowledged %d of %d messages sent, then nothing for %v", n.name, acked, sent, waitTimeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

// BenchmarkClientIntake sends 10,000 client messages through the real UDP
// client port into one node, with and without -dataDir, and reports
// messages a second. The goal with -dataDir is 5,000 or more.
func BenchmarkClientIntake(b *testing.B) {
	const count = 10000
	for _, dataDir := range []bool{true, false} {
		name := "memory"
		var withData []int
		if dataDir {
			name, withData = "dataDir", []int{0}
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				n := startLine(b, []string{"Intake"}, withData...)[0]
				total += feedClient(b, n, "intake", count)
				if got := len(peersterChatOf(b, n).texts); got != count {
					b.Fatalf("GET /message holds %d messages, want %d", got, count)
				}
				n.stop(b)
			}
			rate := float64(count*b.N) / total.Seconds()
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(0, "ns/op")
			b.Logf("client intake (%s): %.0f messages/s, none lost", name, rate)
		})
	}
}

// BenchmarkHistory100k fills a store with 100,000 messages, half typed at
// the node and half received as rumors of another origin, then starts a
// node on it and on an empty store, and reports the time until its ports
// are bound and until GET /message answers, and its RSS against the empty
// node's. The goals are under 1 s and within a few MB. Run it with
// -benchtime 1x: each call fills the store again (about 6 s on 2 cores).
func BenchmarkHistory100k(b *testing.B) {
	const half = 50000
	builder := startLine(b, []string{"Full"}, 0)[0]
	dir := dataDirOf(b, builder)
	took := feedClient(b, builder, "typed", half)
	took += feedRumors(b, builder, "Far", half)
	if got := len(peersterChatOf(b, builder).texts); got != 2*half {
		b.Fatalf("the store's node shows %d messages, want %d", got, 2*half)
	}
	halt(b, builder, syscall.SIGTERM)
	b.Logf("store of %d messages filled in %v", 2*half, took.Round(time.Millisecond))

	empty := filepath.Join(b.TempDir(), "empty")
	for range b.N {
		e := startOn(b, "Empty", empty)
		f := startOn(b, "Full", dir)
		b.ReportMetric(float64(f.bound.Milliseconds()), "ms-to-bound")
		b.ReportMetric(float64(f.answered.Milliseconds()), "ms-to-GET")
		b.ReportMetric(float64(f.rssKB), "full-RSS-kB")
		b.ReportMetric(float64(e.rssKB), "empty-RSS-kB")
		b.ReportMetric(float64(f.anonKB-e.anonKB), "anon-RSS-growth-kB")
		b.ReportMetric(0, "ns/op")
		b.Logf("100,000 messages: ports bound after %v, GET /message answered after %v (%d messages); RSS %d kB against %d kB empty (+%.1f MB); RSS after serving GET /message %d kB",
			f.bound.Round(time.Millisecond), f.answered.Round(time.Millisecond), f.messages,
			f.rssKB, e.rssKB, float64(f.rssKB-e.rssKB)/1024, f.rssAfterGetKB)
		// bbolt maps the file: pages read at start count in RSS as file
		// pages, which the kernel can drop, unlike the heap.
		b.Logf("of which anonymous (heap): %d kB against %d kB empty (+%.1f MB)", f.anonKB, e.anonKB, float64(f.anonKB-e.anonKB)/1024)
		b.Logf("empty store: ports bound after %v, GET /message answered after %v",
			e.bound.Round(time.Millisecond), e.answered.Round(time.Millisecond))
	}
}

// startup is what one start of a node on a store cost.
type startup struct {
	bound, answered time.Duration
	messages        int
	rssKB           int
	anonKB          int
	rssAfterGetKB   int
}

// startOn starts a node named name on dataDir, measures its start-up and
// stops it. RSS is read once the ports are bound and before GET /message,
// whose answer for a large history is a large allocation of its own.
func startOn(b *testing.B, name, dataDir string) startup {
	b.Helper()
	start := time.Now()
	n := startChatNodes(b, []chatSpec{{name: name, args: []string{"-dataDir=" + dataDir}}})[0]
	s := startup{bound: time.Since(start), rssKB: rssKB(b, n.pid()), anonKB: statusKB(b, n.pid(), "RssAnon")}
	s.messages = len(peersterChatOf(b, n).texts)
	s.answered = time.Since(start)
	s.rssAfterGetKB = rssKB(b, n.pid())
	n.stop(b)
	return s
}

// feedRumors sends count rumors of origin to n from a raw peer, in ID
// order, as fast as n's acknowledging statuses allow; a rumor lost on the
// way is sent again from the first ID n lacks.
func feedRumors(b *testing.B, n *chatNode, origin string, count int) time.Duration {
	b.Helper()
	p := newRawPeer(b)
	start := time.Now()
	next, sent := uint32(1), uint32(0)
	lastProgress := time.Now()
	for int(next) <= count {
		for sent < next-1+intakeWindow && int(sent) < count {
			sent++
			p.sendPacket(b, n.gossip, rumor(origin, sent, fmt.Sprintf("%s_%d", origin, sent)))
		}
		d, ok := p.recv(b, 200*time.Millisecond)
		if ok && d.pkt != nil && d.pkt.Status != nil {
			if got := wantMap(d.pkt.Status)[origin]; got > next {
				next, lastProgress = got, time.Now()
			}
			continue
		}
		if time.Since(lastProgress) > waitTimeout {
			b.Fatalf("node %s stuck at %s next ID %d for %v", n.name, origin, next, waitTimeout)
		}
		if !ok {
			sent = next - 1
		}
	}
	return time.Since(start)
}

// statusKB reads a "<field>: N kB" line of /proc/<pid>/status.
func statusKB(tb testing.TB, pid int, field string) int {
	tb.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				tb.Fatalf("parse %q: %v", l, err)
			}
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
