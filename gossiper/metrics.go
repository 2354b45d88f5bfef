package gossiper

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the node's Prometheus registry: the Go runtime and process
// collectors, the counters every protocol shares (ProtocolMetrics), and
// what each protocol registers of its own. It is served as GET /metrics on
// the GUI port. A node has one; tests get a fresh one per host.
type Metrics struct {
	reg *prometheus.Registry
	// runtime registers the Go runtime and process collectors on the first
	// scrape: building the Go collector describes every runtime metric and
	// compiles its rules, about 100 KB of heap that a node nobody scrapes
	// would keep for nothing. Both read their figures when collected, so
	// the first scrape shows what an early registration would have.
	runtime     sync.Once
	withRuntime bool
	packets     *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	drops       *prometheus.CounterVec
	stored      *prometheus.CounterVec
	dups        *prometheus.CounterVec
	open        *prometheus.GaugeVec
	accepted    *prometheus.CounterVec
	refused     *prometheus.CounterVec
}

// NewMetrics returns a registry with the shared counters; the Go runtime
// and process collectors join it on the first scrape.
func NewMetrics() *Metrics {
	m := NewCounterMetrics()
	m.withRuntime = true
	return m
}

// NewCounterMetrics returns a registry with the shared counters only: the
// in-memory simulation (peerster.VirtualNet) runs thousands of nodes in one
// process, and a runtime collector each would cost more than their gossip.
func NewCounterMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_packets_total", Help: "Packets (datagrams, lines, messages) received (in) and sent (out), by protocol and type.",
		}, []string{"protocol", "direction", "type"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_bytes_total", Help: "Bytes of the packets of peerster_packets_total.",
		}, []string{"protocol", "direction", "type"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_drops_total", Help: "Input dropped or refused, by protocol and reason.",
		}, []string{"protocol", "reason"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_messages_stored_total", Help: "Messages new to this node and kept, by protocol.",
		}, []string{"protocol"}),
		dups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_duplicates_total", Help: "Messages received that this node already had, by protocol.",
		}, []string{"protocol"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peerster_connections_open", Help: "Accepted TCP connections open now, by protocol.",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_connections_accepted_total", Help: "TCP connections accepted, by protocol.",
		}, []string{"protocol"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_connections_refused_total", Help: "TCP connections closed at once for a limit, by protocol and limit.",
		}, []string{"protocol", "reason"}),
	}
	m.reg.MustRegister(m.packets, m.bytes, m.drops, m.stored, m.dups, m.open, m.accepted, m.refused)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.registerRuntime()
		h.ServeHTTP(w, r)
	})
}

func (m *Metrics) registerRuntime() {
	if m.withRuntime {
		m.runtime.Do(func() {
			m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		})
	}
}

// Protocol is the shared counters with the protocol's label set.
func (m *Metrics) Protocol(name string) *ProtocolMetrics {
	return &ProtocolMetrics{name: name, m: m}
}

// ProtocolMetrics counts one protocol's traffic. Its methods are safe for
// concurrent use, and a nil *ProtocolMetrics counts nothing.
type ProtocolMetrics struct {
	name string
	m    *Metrics
	// traffic keeps the packet and byte counters of each direction and
	// type once looked up: they are counted for every datagram, and a
	// lookup hashes its label values.
	traffic sync.Map // trafficKey -> trafficCounters
}

type trafficKey struct{ dir, typ string }

type trafficCounters struct{ packets, bytes prometheus.Counter }

// In counts a packet of typ received, n bytes long.
func (p *ProtocolMetrics) In(typ string, n int) { p.count("in", typ, n) }

// Out counts a packet of typ sent, n bytes long.
func (p *ProtocolMetrics) Out(typ string, n int) { p.count("out", typ, n) }

func (p *ProtocolMetrics) count(dir, typ string, n int) {
	if p == nil {
		return
	}
	key := trafficKey{dir, typ}
	c, ok := p.traffic.Load(key)
	if !ok {
		c, _ = p.traffic.LoadOrStore(key, trafficCounters{
			packets: p.m.packets.WithLabelValues(p.name, dir, typ),
			bytes:   p.m.bytes.WithLabelValues(p.name, dir, typ),
		})
	}
	tc := c.(trafficCounters)
	tc.packets.Inc()
	tc.bytes.Add(float64(n))
}

// Drop counts input dropped for reason.
func (p *ProtocolMetrics) Drop(reason string) {
	if p != nil {
		p.m.drops.WithLabelValues(p.name, reason).Inc()
	}
}

// Stored counts a message new to the node.
func (p *ProtocolMetrics) Stored() {
	if p != nil {
		p.m.stored.WithLabelValues(p.name).Inc()
	}
}

// Duplicate counts a message the node already had.
func (p *ProtocolMetrics) Duplicate() {
	if p != nil {
		p.m.dups.WithLabelValues(p.name).Inc()
	}
}

func (p *ProtocolMetrics) connAccepted() {
	if p != nil {
		p.m.accepted.WithLabelValues(p.name).Inc()
		p.m.open.WithLabelValues(p.name).Inc()
	}
}

func (p *ProtocolMetrics) connClosed() {
	if p != nil {
		p.m.open.WithLabelValues(p.name).Dec()
	}
}

func (p *ProtocolMetrics) connRefused(reason string) {
	if p != nil {
		p.m.refused.WithLabelValues(p.name, reason).Inc()
	}
}

// Register adds a protocol's own collectors to the node's registry. Their
// names start with the protocol's, as peerster_coin_flips_total does.
func (p *ProtocolMetrics) Register(cs ...prometheus.Collector) error {
	if p == nil {
		return nil
	}
	for _, c := range cs {
		if err := p.m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
