package tests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// GET /metrics of real daemons: the counters of every path move as
// messages go through, in the Prometheus text format.
func TestMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	nodes := startChatNodes(t, []chatSpec{
		{name: "MA"},
		{name: "MB", gossipPeers: []int{0}, whisperPeers: []int{0}},
	})
	a, b := nodes[0], nodes[1]
	before := scrape(t, a)
	sendClient(t, a.node, "metrics_one")
	waitLine(t, b.node, func(l string) bool { return strings.Contains(l, "contents metrics_one") }, waitTimeout)

	after := scrape(t, a)
	for _, c := range []struct {
		name   string
		labels string
	}{
		{"peerster_packets_total", `direction="in",protocol="client",type="request"`},
		{"peerster_packets_total", `direction="out",protocol="peerster",type="rumor"`},
		{"peerster_bytes_total", `direction="out",protocol="peerster",type="rumor"`},
		{"peerster_messages_stored_total", `protocol="peerster"`},
	} {
		if got, was := after.value(t, c.name, c.labels), before.value(t, c.name, c.labels); got <= was {
			t.Errorf("%s{%s}: %v before the message, %v after", c.name, c.labels, was, got)
		}
	}
	// B acked A's rumor: A got a status, and the exchange's end flipped.
	// B dials A's whispernet as it starts: one connection accepted, open.
	deadline := time.Now().Add(waitTimeout)
	for {
		m := scrape(t, a)
		in := m.value(t, "peerster_packets_total", `direction="in",protocol="peerster",type="status"`)
		flips := m.value(t, "peerster_coin_flips_total", `side="heads"`) + m.value(t, "peerster_coin_flips_total", `side="tails"`)
		accepted := m.value(t, "peerster_connections_accepted_total", `protocol="whisper"`)
		open := m.value(t, "peerster_connections_open", `protocol="whisper"`)
		if in > 0 && flips > 0 && accepted >= 1 && open >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v statuses in, %v coin flips, whisper connections %v accepted and %v open",
				waitTimeout, in, flips, accepted, open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range []string{"peerster_exchanges_in_flight", "peerster_peers", "peerster_status_bytes", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if v := scrape(t, b).value(t, "peerster_messages_stored_total", `protocol="peerster"`); v < 1 {
		t.Errorf("B stored %v Peerster messages", v)
	}
}

type metricFamilies map[string]*dto.MetricFamily

func scrape(t *testing.T, n *chatNode) metricFamilies {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", n.guiPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s %q: %.200s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the metric's value with exactly these labels (sorted, as
// name="value" pairs joined by commas), or 0 when it has none yet.
func (f metricFamilies) value(t *testing.T, name, labels string) float64 {
	t.Helper()
	fam, ok := f[name]
	if !ok {
		return 0
	}
	for _, m := range fam.GetMetric() {
		var pairs []string
		for _, l := range m.GetLabel() {
			pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if strings.Join(pairs, ",") != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return 0
}
