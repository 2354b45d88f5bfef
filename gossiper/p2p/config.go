// Package p2p is the fully connected TLS mesh of bragov4ik/p2p-gossip
// (seeds/003), byte-compatible with the real program rather than with its
// README: a node's identity is SipHash-1-3 (zero keys) of its whole
// certificate DER; every connection starts with a plaintext Pair (identity,
// listen port) both ways, then TLS with certificates required both ways and
// checked only against that identity; bincode messages follow with no
// framing. A node joins through one member, learns the others from peer
// lists, connects to all of them, and heartbeats every second.
package p2p

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// Config is the mesh node's configuration. Zero values take the documented
// defaults, which are the real program's where it has one.
type Config struct {
	// Connect are the ip:port of members to join through (-p2pConnect).
	// They are dialled with backoff until they answer once; from then on
	// they are peers like any other, known by identity.
	Connect []string
	// Certificate is our TLS credential; SipHash-1-3 of its leaf DER is our
	// identity. Zero: a new self-signed ECDSA P-256 certificate, like the
	// real program's, so a new identity per run. LoadCertificate reads a
	// stable one from PEM files.
	Certificate tls.Certificate
	// Store, when set, keeps the peers we have authenticated (identity,
	// address, certificate fingerprint), so a restart redials them and
	// still refuses impostors. Nil: nothing persists.
	Store *gossiper.Namespace
	// DataDir is where versions before Store kept those peers, in
	// p2p-peers.json: a file found there is moved into Store once and
	// renamed p2p-peers.json.migrated. Nothing else is read or written
	// there. It needs Store.
	DataDir string
	// Period is how often live peers that have not had our latest chat
	// message get it (they joined or came back since). Default 5 s, the
	// real program's --period.
	Period time.Duration
	// Heartbeat is the period of heartbeats to every live peer. Default
	// 1 s, as the real program.
	Heartbeat time.Duration
	// DeadAfter is how long a peer may stay silent: after that it is dead
	// and its connection is closed. Default 3 s, as the real program.
	DeadAfter time.Duration
	// DialPause is how long the dialler waits after the Pair exchange
	// before its TLS ClientHello: the real acceptor loses a ClientHello
	// that arrives in the same read as the dialler's Pair. Default 100 ms.
	DialPause time.Duration
	// WriteGap is the least time between two writes on one connection: the
	// real reader decodes only the first message of whatever one read
	// returns. Default 20 ms.
	WriteGap time.Duration
	// Timeout bounds the dial, the Pair exchange with the TLS handshake,
	// and every write. Default 10 s.
	Timeout time.Duration
	// BackoffBase and BackoffMax bound the wait before redialling a peer:
	// base × 2^(failures), at most max, less a random part of up to half
	// so that two nodes do not redial each other in step. Defaults 1 s
	// and 1 min.
	BackoffBase, BackoffMax time.Duration
	// MaxPeers caps the peer table, so that hostile peer lists cannot make
	// us dial without bound; it also keeps our own peer list within what
	// the real program reads at once. Default 256.
	MaxPeers int
	// Accept caps the accepted connections: MaxConns in all (default
	// MaxPeers + 32, room for every peer and 32 handshakes) and MaxPerIP
	// from one address (default 32); further ones are closed at once.
	// QuietTimeout is not needed: a connection that does not finish its
	// Pair exchange and TLS handshake within Timeout is closed, and after
	// that a peer silent for DeadAfter is dead.
	Accept gossiper.ListenerLimits
	Clock  gossiper.Clock
	Rand   *rand.Rand
	Dial   gossiper.Dialer
	// Log receives diagnostics; never stdout. Default: a discarding logger.
	Log logrus.FieldLogger
}

// maxPeersLimit keeps the largest peer list (all IPv6) under maxSend.
const maxPeersLimit = (maxSend - 12) / 30

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Period, 5*time.Second)
	def(&c.Heartbeat, time.Second)
	def(&c.DeadAfter, 3*time.Second)
	def(&c.DialPause, 100*time.Millisecond)
	def(&c.WriteGap, 20*time.Millisecond)
	def(&c.Timeout, 10*time.Second)
	def(&c.BackoffBase, time.Second)
	def(&c.BackoffMax, time.Minute)
	for _, d := range []time.Duration{c.Period, c.Heartbeat, c.DeadAfter, c.DialPause, c.WriteGap, c.Timeout, c.BackoffBase, c.BackoffMax} {
		if d < 0 {
			return c, fmt.Errorf("p2p: negative duration %v in the configuration", d)
		}
	}
	if c.DeadAfter <= c.Heartbeat {
		return c, fmt.Errorf("p2p: DeadAfter %v must exceed Heartbeat %v, or live peers die", c.DeadAfter, c.Heartbeat)
	}
	if c.BackoffMax < c.BackoffBase {
		return c, fmt.Errorf("p2p: BackoffMax %v is below BackoffBase %v", c.BackoffMax, c.BackoffBase)
	}
	if c.DataDir != "" && c.Store == nil {
		return c, fmt.Errorf("p2p: DataDir %s without a Store to move its peers into", c.DataDir)
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = 256
	}
	if c.MaxPeers < 0 || c.MaxPeers > maxPeersLimit {
		return c, fmt.Errorf("p2p: MaxPeers %d: want 1-%d", c.MaxPeers, maxPeersLimit)
	}
	if c.Accept.MaxConns == 0 {
		c.Accept.MaxConns = c.MaxPeers + 32
	}
	accept, err := c.Accept.WithDefaults()
	if err != nil {
		return c, fmt.Errorf("p2p: %w", err)
	}
	c.Accept = accept
	for _, a := range c.Connect {
		if _, err := parseConnect(a); err != nil {
			return c, err
		}
	}
	if c.Clock == nil {
		c.Clock = gossiper.SystemClock()
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	if c.Dial == nil {
		c.Dial = &net.Dialer{}
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.Log = l
	}
	return c, nil
}

// parseConnect checks a -p2pConnect address: a literal ip:port that can be
// dialled.
func parseConnect(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("p2p: address to join through %q: want ip:port: %w", s, err)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !dialable(ap) {
		return ap, fmt.Errorf("p2p: address to join through %q cannot be dialled", s)
	}
	return ap, nil
}

// dialable reports whether ap can be a peer's listen address; lists from
// peers are filtered with it, so that no one can make us dial port 0, a
// broadcast or a multicast group.
func dialable(ap netip.AddrPort) bool {
	a := ap.Addr()
	return ap.IsValid() && ap.Port() != 0 && !a.IsUnspecified() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
