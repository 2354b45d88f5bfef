package peerster

import (
	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics is what the gossiper counts beyond the traffic every protocol
// counts (gossiper.ProtocolMetrics): the state of rumormongering.
type metrics struct {
	*gossiper.ProtocolMetrics
	exchanges   prometheus.Gauge
	ackTimeouts prometheus.Counter
	flips       *prometheus.CounterVec
	antiEntropy prometheus.Counter
	quietProbes prometheus.Counter
	rechecks    prometheus.Counter
	statusBytes prometheus.Gauge
	peers       prometheus.Gauge
	origins     prometheus.Gauge
}

func newMetrics(host gossiper.Host) (*metrics, error) {
	m := &metrics{
		ProtocolMetrics: host.Metrics().Protocol(ProtocolName),
		exchanges: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerster_exchanges_in_flight", Help: "Rumors sent to a peer whose ack (status) is still awaited.",
		}),
		ackTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerster_ack_timeouts_total", Help: "Mongering exchanges that ended without the peer's status within the ack timeout.",
		}),
		flips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerster_coin_flips_total", Help: "Coin flips at the end of exchanges, by side: heads goes on to another peer, tails stops.",
		}, []string{"side"}),
		antiEntropy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerster_anti_entropy_rounds_total", Help: "Anti-entropy rounds (a status to a random peer).",
		}),
		quietProbes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerster_quiet_peer_probes_total", Help: "Fresh rumors sent at anti-entropy rounds to peers that send no statuses of their own.",
		}),
		rechecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerster_rechecks_total", Help: "Statuses sent to a peer that still lacked rumors once those on their way should have arrived.",
		}),
		statusBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerster_status_bytes", Help: "Size of the status this node sends, encoded.",
		}),
		peers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerster_peers", Help: "Peers known now.",
		}),
		origins: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerster_origins", Help: "Origins with at least one message held.",
		}),
	}
	// Both sides exist from the start, so a rate over them is defined.
	m.flips.WithLabelValues("heads")
	m.flips.WithLabelValues("tails")
	return m, m.Register(m.exchanges, m.ackTimeouts, m.flips, m.antiEntropy, m.quietProbes, m.rechecks, m.statusBytes, m.peers, m.origins)
}

// packetType names a datagram we sent by its first byte, the tag of its
// only field.
func packetType(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case 0x0a:
		return "simple"
	case 0x12:
		return "rumor"
	case 0x1a:
		return "status"
	}
	return "other"
}
