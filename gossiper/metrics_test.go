package gossiper

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"
)

func TestProtocolMetricsCountUnderTheProtocolsLabels(t *testing.T) {
	m := NewMetrics()
	p := m.Protocol("demo")
	p.In("rumor", 10)
	p.In("rumor", 5)
	p.Out("status", 3)
	p.Drop("undecodable")
	p.Stored()
	p.Duplicate()
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.packets.WithLabelValues("demo", "in", "rumor")), 2, "packets in"},
		{testutil.ToFloat64(m.bytes.WithLabelValues("demo", "in", "rumor")), 15, "bytes in"},
		{testutil.ToFloat64(m.packets.WithLabelValues("demo", "out", "status")), 1, "packets out"},
		{testutil.ToFloat64(m.drops.WithLabelValues("demo", "undecodable")), 1, "drops"},
		{testutil.ToFloat64(m.stored.WithLabelValues("demo")), 1, "stored"},
		{testutil.ToFloat64(m.dups.WithLabelValues("demo")), 1, "duplicates"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// A protocol without metrics counts nothing and does not crash.
	var none *ProtocolMetrics
	none.In("x", 1)
	none.Drop("x")
	if err := none.Register(); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`peerster_packets_total{direction="in",protocol="demo",type="rumor"} 2`,
		`peerster_drops_total{protocol="demo",reason="undecodable"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServeCountsConnections(t *testing.T) {
	m := NewMetrics()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	held := make(chan struct{})
	go func() {
		done <- Serve(ctx, ln, ListenerLimits{MaxConns: 2, MaxPerIP: 1, Metrics: m.Protocol("demo")}, logrus.New(),
			func(c net.Conn) { <-held })
	}()
	first, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, func() bool { return testutil.ToFloat64(m.open.WithLabelValues("demo")) == 1 })
	// Over MaxPerIP: closed at once, counted as refused.
	second, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(second); err != nil {
		t.Fatalf("refused connection: %v", err)
	}
	second.Close()
	if v := testutil.ToFloat64(m.refused.WithLabelValues("demo", "max per address")); v != 1 {
		t.Errorf("refused %v, want 1", v)
	}
	close(held)
	waitFor(t, func() bool { return testutil.ToFloat64(m.open.WithLabelValues("demo")) == 0 })
	if v := testutil.ToFloat64(m.accepted.WithLabelValues("demo")); v != 1 {
		t.Errorf("accepted %v, want 1", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
