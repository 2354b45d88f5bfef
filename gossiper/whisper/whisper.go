package whisper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// ProtocolName tags the whispernet's events, lines and chat messages.
const ProtocolName = "whisper"

// Whisper is one node of the whispernet.
type Whisper struct {
	cfg  Config
	self string
	ln   net.Listener
	host gossiper.Host
	log  logrus.FieldLogger

	// ctx stops every goroutine the node started; Run cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	jitter  *gossiper.Jitter
	metrics *gossiper.ProtocolMetrics
	mu      sync.Mutex
	nick    string
	peers   map[string]*peer
	// seen is the seed's "forget old message IDs": pdxgo keeps every ID
	// for ever and slowly uses all memory.
	seen    *gossiper.Memory[struct{}]
	backlog *backlog
	// store keeps seen IDs and the backlog across restarts; nil when
	// nothing persists.
	store *gossiper.Namespace
	bans  *bans
	// rl bounds the lines that what peers send makes us log.
	rl *gossiper.RateLog
}

// New returns a node accepting peers on ln, which must listen on cfg.Addr.
// Peers in cfg.Peers are dialled when Run starts.
func New(cfg Config, ln net.Listener, host gossiper.Host) (*Whisper, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	self, err := messages.ParseWhisperAddr(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("whisper: own address: %w", err)
	}
	// Peers are keyed by canonical Addr, as messages' Addrs are.
	peers := make([]string, len(cfg.Peers))
	for i, p := range cfg.Peers {
		ap, err := messages.ParseWhisperAddr(p)
		if err != nil {
			return nil, fmt.Errorf("whisper: peer: %w", err)
		}
		peers[i] = ap.String()
	}
	cfg.Peers = peers
	metrics := host.Metrics().Protocol(ProtocolName)
	cfg.Accept.Metrics = metrics
	w := &Whisper{
		metrics: metrics,
		cfg:     cfg,
		jitter:  gossiper.NewJitter(cfg.Rand),
		self:    self.String(),
		ln:      ln,
		host:    host,
		log:     cfg.Log.WithField("protocol", ProtocolName),
		nick:    cfg.Nick,
		peers:   make(map[string]*peer),
		seen:    gossiper.NewMemory[struct{}](cfg.SeenWindow, cfg.SeenMax),
		backlog: newBacklog(cfg.Backlog),
		bans:    newBans(),
		rl:      gossiper.NewRateLog(cfg.Clock),
		store:   cfg.Store,
	}
	if err := w.load(); err != nil {
		return nil, err
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w, nil
}

// Name implements gossiper.Protocol.
func (w *Whisper) Name() string { return ProtocolName }

// IdentityFields implements gossiper.IdentityReporter.
func (w *Whisper) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{{Key: "whisperAddr", Label: "whispernet address (TCP)", Value: w.self}}
}

// Addr is our address as it goes into our messages.
func (w *Whisper) Addr() string { return w.self }

// Run accepts peers and dials the configured ones until ctx is cancelled;
// then it closes every connection and waits for its goroutines.
func (w *Whisper) Run(ctx context.Context) error {
	defer w.wg.Wait()
	defer w.cancel()
	stop := context.AfterFunc(ctx, w.cancel)
	defer stop()
	for _, p := range w.cfg.Peers {
		w.ensurePeer(p, true)
	}
	if w.store != nil {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			gossiper.Every(w.ctx, w.cfg.Clock, seenPruneEvery, w.pruneSeen)
		}()
	}
	if w.cfg.Discovery {
		conn, err := listenDiscovery(w.cfg.DiscoveryPort)
		if err != nil {
			w.ln.Close()
			return fmt.Errorf("whisper discovery: %w", err)
		}
		// A new peer heard is answered at once, so that a node that just
		// joined finds everyone without waiting for their next period.
		answer := make(chan struct{}, 1)
		w.wg.Add(2)
		go w.listenAnnouncements(conn, answer)
		go w.announce(conn, answer)
	}
	if err := gossiper.Serve(w.ctx, w.ln, w.cfg.Accept, w.log, w.serveInbound); err != nil {
		return fmt.Errorf("whisper: %w", err)
	}
	return ctx.Err()
}

// Say implements gossiper.Sayer: text goes to every peer under our nick.
func (w *Whisper) Say(text string) error {
	w.mu.Lock()
	nick := w.nick
	w.mu.Unlock()
	return w.originate(&messages.WhisperMessage{Nick: nick, Body: text})
}

// Relay implements gossiper.Relayer: a message first seen on another
// protocol goes out as ours with its origin as nick.
func (w *Whisper) Relay(origin, text string) error {
	return w.originate(&messages.WhisperMessage{Nick: origin, Body: text})
}

// Rename implements gossiper.Renamer: our nick follows the node's name.
func (w *Whisper) Rename(name string) error {
	w.mu.Lock()
	w.nick = name
	w.mu.Unlock()
	return nil
}

// originate fills in Addr, Timestamp and the hashed ID of a message of ours
// and sends it to every peer. It is not added to the chat: the user's text
// is already there from Peerster, a bridged one from its own protocol.
func (w *Whisper) originate(m *messages.WhisperMessage) error {
	if m.Body == "" {
		return errors.New("whisper: empty message")
	}
	m.Addr = w.self
	m.Timestamp = w.cfg.Clock.Now().Unix()
	w.mu.Lock()
	defer w.mu.Unlock()
	// The same text twice in one second would hash to the same ID and be
	// taken for a duplicate: the second goes a second later.
	for {
		m.ID = messages.WhisperHashID(m.Addr, m.Body, m.Timestamp)
		if w.rememberLocked(m.ID, w.cfg.Clock.Now()) {
			break
		}
		m.Timestamp++
	}
	b, err := messages.EncodeWhisper(m)
	if err != nil {
		return fmt.Errorf("whisper: %w", err)
	}
	w.backlog.add(m.Addr, b)
	w.broadcastLocked("", b)
	return nil
}

// receive handles one message read from a peer.
func (w *Whisper) receive(m *messages.WhisperMessage, log logrus.FieldLogger) {
	log = log.WithField("origin", m.Addr).WithField("id", m.ID)
	// Streams are decoded without framing: what counts in is the payload.
	w.metrics.In("message", len(m.Body)+len(m.FileContents))
	if m.Body == "" && m.FileContents == "" {
		// The README: payloads without a Body are ignored, for extensions.
		log.Debug("message without Body ignored")
		return
	}
	addr, err := messages.ParseWhisperAddr(m.Addr)
	if err != nil {
		w.metrics.Drop("bad Addr")
		w.rl.Info(log.WithError(err), "message dropped: bad Addr")
		return
	}
	m.Addr = addr.String()
	if m.ID == "" {
		w.metrics.Drop("no ID")
		w.rl.Info(log, "message dropped: no ID")
		return
	}
	if err := m.CheckHash(); err != nil {
		w.metrics.Drop("bad hash")
		w.rl.Warn(log.WithError(err), "message dropped")
		return
	}
	now := w.cfg.Clock.Now()
	if t := m.Time(); !t.IsZero() && t.Before(now.Add(-w.cfg.SeenWindow)) {
		w.metrics.Drop("too old")
		log.WithField("time", t).Debug("message dropped: older than the ID memory")
		return
	}

	w.mu.Lock()
	if !w.rememberLocked(m.ID, now) {
		w.mu.Unlock()
		w.metrics.Duplicate()
		return
	}
	w.metrics.Stored()
	if m.Body != "" {
		// pdxgo crashes on an empty Body: a file without one stays here.
		b, err := messages.EncodeWhisper(m)
		if err != nil {
			w.rl.Warn(log.WithError(err), "message not relayed")
		} else {
			w.backlog.add(m.Addr, b)
			w.broadcastLocked(m.Addr, b)
		}
	}
	if m.Addr != w.self {
		w.ensurePeerLocked(m.Addr, false)
	}
	w.mu.Unlock()

	text := m.Body
	if m.FileContents != "" {
		text = w.receiveFile(m, log)
	}
	origin := m.Nick
	if origin == "" {
		origin = m.Addr
	}
	w.host.Print(ProtocolName, "WHISPER origin "+gossiper.Printable(origin)+" from "+m.Addr+" contents "+gossiper.Printable(text))
	w.host.Record(gossiper.ChatMessage{Protocol: ProtocolName, Origin: origin, Text: text, From: m.Addr, Time: now})
}

// broadcastLocked queues b for every peer but except (the message's Addr).
func (w *Whisper) broadcastLocked(except string, b []byte) {
	for addr, p := range w.peers {
		if addr != except {
			p.send(b)
		}
	}
}

// ensurePeer starts writing to addr unless we already do, and reports
// whether addr is a new peer.
func (w *Whisper) ensurePeer(addr string, configured bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ensurePeerLocked(addr, configured)
}

func (w *Whisper) ensurePeerLocked(addr string, configured bool) bool {
	if addr == w.self || w.ctx.Err() != nil {
		return false
	}
	if p, ok := w.peers[addr]; ok {
		p.configured = p.configured || configured
		return false
	}
	if len(w.peers) >= w.cfg.MaxPeers {
		w.log.WithField("peer", addr).Debug("peer not dialled: peer table full")
		return false
	}
	p := newPeer(w, addr, configured)
	w.peers[addr] = p
	w.wg.Add(1)
	go p.run()
	return true
}

// forget removes p once it has given up.
func (w *Whisper) forget(p *peer) {
	w.mu.Lock()
	if w.peers[p.addr] == p {
		delete(w.peers, p.addr)
	}
	w.mu.Unlock()
}

// PeerStates lists the peers we write to and whether each is connected.
func (w *Whisper) PeerStates() []PeerState {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]PeerState, 0, len(w.peers))
	for addr, p := range w.peers {
		out = append(out, PeerState{Addr: addr, Connected: p.connected.Load()})
	}
	return out
}

// Links implements gossiper.LinkLister: the peers we write to, by Addr,
// sorted.
func (w *Whisper) Links() []gossiper.Link {
	states := w.PeerStates()
	out := make([]gossiper.Link, len(states))
	for i, st := range states {
		out[i] = gossiper.Link{Protocol: ProtocolName, Peer: st.Addr, Addr: st.Addr, Alive: st.Connected}
	}
	slices.SortFunc(out, func(a, b gossiper.Link) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}

// publishLinks announces the peers we are connected to, so the page can
// show them; no lock is held while the bus may block.
func (w *Whisper) publishLinks() {
	var up []string
	for _, l := range w.Links() {
		if l.Alive {
			up = append(up, l.Addr)
		}
	}
	w.host.Publish(gossiper.Event{Kind: gossiper.EventPeers, Protocol: ProtocolName, Peers: up})
}

// PeerState is one peer as PeerStates reports it.
type PeerState struct {
	Addr      string
	Connected bool
}
