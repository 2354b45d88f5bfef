package p2p

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// ProtocolName tags the mesh's events, lines and chat messages.
const ProtocolName = "p2p"

// P2P is one node of the mesh.
type P2P struct {
	cfg  Config
	ln   net.Listener
	host gossiper.Host
	log  logrus.FieldLogger
	// rl bounds the lines that what peers send makes us log.
	rl             *gossiper.RateLog
	self           uint64
	pair           []byte // our Pair, sent first on every connection
	heartbeatMsg   []byte
	listRequestMsg []byte
	client, server *tls.Config

	mu     sync.Mutex
	peers  map[uint64]*peer
	boot   map[netip.AddrPort]*entry
	conns  map[*conn]struct{} // every connection past its handshake
	closed bool
	seq    uint64 // number of our latest chat message
	latest []byte // its encoding

	pubMu     sync.Mutex
	published []string
	jitter    *gossiper.Jitter
	metrics   *gossiper.ProtocolMetrics
	kick      chan struct{}
	wg        sync.WaitGroup
}

// New returns a node accepting peers on ln; our Pair announces ln's port.
// With a Store, the peers known from the last run are loaded now and
// redialled by Run.
func New(cfg Config, ln net.Listener, host gossiper.Host) (*P2P, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("p2p: listener on %s is not TCP", ln.Addr())
	}
	if len(cfg.Certificate.Certificate) == 0 {
		if cfg.Certificate, err = GenerateCertificate(); err != nil {
			return nil, err
		}
	}
	metrics := host.Metrics().Protocol(ProtocolName)
	cfg.Accept.Metrics = metrics
	p := &P2P{
		metrics: metrics,
		cfg:     cfg,
		jitter:  gossiper.NewJitter(cfg.Rand),
		ln:      ln,
		host:    host,
		self:    IdentityOf(cfg.Certificate.Certificate[0]),
		peers:   make(map[uint64]*peer),
		boot:    make(map[netip.AddrPort]*entry),
		conns:   make(map[*conn]struct{}),
		kick:    make(chan struct{}, 1),
		rl:      gossiper.NewRateLog(cfg.Clock),
	}
	p.log = cfg.Log.WithField("protocol", ProtocolName)
	p.client, p.server = baseTLS(cfg.Certificate)
	if p.heartbeatMsg, err = messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PHeartbeat}); err != nil {
		return nil, fmt.Errorf("p2p: encode heartbeat: %w", err)
	}
	if p.listRequestMsg, err = messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PListPeersRequest}); err != nil {
		return nil, fmt.Errorf("p2p: encode peer list request: %w", err)
	}
	if p.pair, err = messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PPair, Identity: p.self, ListenPort: uint16(ta.Port)}); err != nil {
		return nil, fmt.Errorf("p2p: encode our pair: %w", err)
	}
	for _, a := range cfg.Connect {
		ap, _ := parseConnect(a) // checked by withDefaults
		p.boot[ap] = &entry{}
	}
	if cfg.Store != nil {
		known, err := loadPeers(cfg.Store)
		if err != nil {
			return nil, err
		}
		if cfg.DataDir != "" {
			moved, err := migrate(filepath.Join(cfg.DataDir, legacyFile), cfg.Store, p.log)
			if err != nil {
				return nil, fmt.Errorf("p2p: known peers: %w", err)
			}
			known = append(known, moved...)
		}
		for _, k := range known {
			if k.id != p.self {
				p.peers[k.id] = &peer{id: k.id, addr: k.addr, fp: k.fp, trusted: true}
			}
		}
	}
	return p, nil
}

// Name implements gossiper.Protocol.
func (p *P2P) Name() string { return ProtocolName }

// Identity is our identity, as peers print it in decimal.
func (p *P2P) Identity() uint64 { return p.self }

// IdentityFields implements gossiper.IdentityReporter: the mesh address and
// the identity other mesh nodes know us by.
func (p *P2P) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{
		{Key: "p2pAddr", Label: "mesh address (TLS)", Value: p.ln.Addr().String()},
		{Key: "p2pIdentity", Label: "mesh identity", Value: strconv.FormatUint(p.self, 10)},
	}
}

// Run accepts and dials peers, heartbeats and gossips until ctx is
// cancelled; then it closes the listener and every connection and waits
// for all its goroutines.
func (p *P2P) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.log.WithField("identity", p.self).WithField("addr", p.ln.Addr().String()).Info("p2p node started")
	// Accepting stops only once the node is marked closed, so that the
	// connections it closes are not taken for peers that died.
	acceptCtx, stopAccepting := context.WithCancel(context.Background())
	defer stopAccepting()
	served := make(chan error, 1)
	go func() { served <- p.accept(ctx, acceptCtx) }()
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		p.dialLoop(ctx)
	}()
	go func() {
		defer p.wg.Done()
		gossiper.Every(ctx, p.cfg.Clock, p.cfg.Heartbeat, p.heartbeat)
	}()
	go func() {
		defer p.wg.Done()
		gossiper.Every(ctx, p.cfg.Clock, p.cfg.Period, p.catchUp)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		cancel()
	}
	p.mu.Lock()
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	stopAccepting()
	for _, c := range conns {
		c.close()
	}
	if err == nil {
		err = <-served
	}
	p.wg.Wait()
	return err
}

// accept serves every incoming connection, within cfg.Accept, until
// acceptCtx is done: the handshake, then the connection until it ends.
func (p *P2P) accept(ctx, acceptCtx context.Context) error {
	err := gossiper.Serve(acceptCtx, p.ln, p.cfg.Accept, p.log, func(nc net.Conn) {
		c, err := p.handshake(ctx, nc, false, 0)
		if err != nil {
			p.handshakeFailed(nc.RemoteAddr().String(), err)
			return
		}
		p.serveConn(c, nil)
	})
	if err != nil {
		return fmt.Errorf("p2p: %w", err)
	}
	return nil
}

// handshakeFailed logs a refused incoming connection: loudly when someone
// spoke our protocol wrongly, quietly when it just went away.
func (p *P2P) handshakeFailed(remote string, err error) {
	log := p.log.WithField("peer", remote).WithError(err)
	var np errNotPair
	switch {
	case errors.Is(err, errSelf), errors.Is(err, context.Canceled), errors.Is(err, net.ErrClosed):
		log.Debug("p2p incoming connection closed")
	case errors.As(err, &np):
		p.rl.Warn(log, "p2p incoming connection did not start with a Pair; refused")
	default:
		p.rl.Info(log, "p2p incoming connection failed its handshake")
	}
}

// serveConn runs an authenticated connection: it is attached to its peer,
// asks for the peer list, and is read until it fails, is closed, or the
// peer falls silent for longer than DeadAfter. A duplicate is only read,
// until the peer closes it.
func (p *P2P) serveConn(c *conn, job *dialJob) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	v := p.attach(c, job)
	if v == refused {
		c.close()
		return
	}
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		c.writeLoop(p.cfg.Timeout, p.cfg.WriteGap)
	}()
	if v == attached {
		c.send(p.listRequestMsg, 0)
	} else {
		c.retire()
	}
	err := p.readLoop(c)
	select {
	case <-c.retired:
		// A retired connection writes what it owes before it closes,
		// each write under the write timeout.
		writer.Wait()
	default:
	}
	c.close()
	writer.Wait()
	p.detach(c, err)
}

// readLoop handles c's messages until an error. The deadline of each
// message is DeadAfter past the previous one, whatever arrives in between:
// a peer that trickles bytes without ever finishing a message is as dead as
// a silent one.
func (p *P2P) readLoop(c *conn) error {
	dec := messages.NewP2PDecoder(c.tls)
	heard := time.Now()
	for {
		c.tls.SetReadDeadline(heard.Add(p.cfg.DeadAfter))
		m, err := dec.Decode()
		if err != nil {
			return err
		}
		heard = time.Now()
		p.onMessage(c, m)
	}
}

// Say implements gossiper.Sayer: text goes at once to every live peer as a
// Gossip, and every Period to peers that join later. With no peer alive it
// waits for them; that is not an error.
func (p *P2P) Say(text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("p2p: message %q is not UTF-8", text)
	}
	b, err := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PGossip, Text: text})
	if err != nil {
		return fmt.Errorf("p2p: %w", err)
	}
	if len(b) > maxSend {
		return fmt.Errorf("p2p: message of %d bytes: a p2p-gossip node reads at most %d at once", len(text), maxSend-12)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	p.latest = b
	for _, pr := range p.peers {
		if pr.conn != nil {
			pr.sentSeq = p.seq
			pr.conn.send(b, p.seq)
		}
	}
	return nil
}

// Relay implements gossiper.Relayer: the mesh has no field for an origin,
// so it travels in the text.
func (p *P2P) Relay(origin, text string) error {
	return p.Say(origin + ": " + text)
}
