package peerster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
	"github.com/sirupsen/logrus"
)

// ProtocolName tags our messages in the chat log and our events.
const ProtocolName = "peerster"

// Gossiper is one Peerster node. All protocol state is owned by the goroutine
// running Run: packets, timeouts and user commands reach it as functions on
// one channel, so no lock is ever held while a datagram is written and many
// exchanges can be in flight at once.
type Gossiper struct {
	cfg  Config
	tr   Transport
	host gossiper.Host
	log  logrus.FieldLogger
	self netip.AddrPort

	in   chan func()
	done chan struct{}

	// Owned by the Run goroutine.
	name      string
	peers     *peerList
	store     *store
	known     map[netip.AddrPort]*vclock.Vector // what each peer has, as far as we know
	exchanges map[netip.AddrPort]*exchange
	seq       uint64
	fresh     freshRumor
	status    []byte // our encoded status; nil when the store changed
	pending   []string
	peersFull bool
	aeTimer   gossiper.Timer
	origins   *originPolicy
	// issued is the highest ID we gave a rumor of each of our names since
	// start; a rumor of ours above it was sent by someone else.
	issued map[string]uint32
	// lastSweep is when learned peers were last checked for silence;
	// sweepNow asks for a check after a peer's sends kept failing.
	lastSweep time.Time
	sweepNow  bool
	rateLog   *gossiper.RateLog
	metrics   *metrics
	// sends are this step's datagrams; held is output waiting for the
	// store, and dirty says this step queued writes (durable.go).
	sends []datagram
	held  []*heldOutput
	dirty bool
	// networkNext is the highest NextID any status showed for each of our
	// origins; firstIssued the first ID of the range we sent that may
	// still collide with the network's (gone once proven or given up);
	// bridged our rumors since start that are relays, not in our chat;
	// waiting our messages not sent yet, and catchUp bounds their wait
	// (restart.go).
	networkNext map[string]uint32
	firstIssued map[string]uint32
	bridged     map[vclock.Message]bool
	waiting     []ownText
	catchUp     gossiper.Timer
	// refused counts rumors refused by the origin bounds.
	refused uint64
	// spread is what the dissemination panel shows (spread.go).
	spread spread
}

// exchange is a rumor sent to a peer whose status we wait for.
type exchange struct {
	msg   vclock.Message
	seq   uint64
	timer gossiper.Timer
	sent  time.Time
	// assumed is the peer's knowledge we advanced past msg when we sent
	// it, and prevNext its NextID for msg's origin before: a timeout
	// takes the assumption back, so the peer is probed for msg again.
	assumed  *vclock.Vector
	prevNext uint32
	// repair is set when the peer's status showed it lacks msg; resends
	// counts the times it was sent again for want of an ack.
	repair  bool
	resends int
}

// freshRumor is the last rumor that was new to us.
type freshRumor struct {
	msg vclock.Message
	at  time.Time
	set bool
}

// New returns a gossiper speaking over tr. It does nothing until Run.
func New(cfg Config, tr Transport, host gossiper.Host) (*Gossiper, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gossiper{
		cfg:         cfg,
		tr:          tr,
		host:        host,
		log:         cfg.Log.WithField("protocol", ProtocolName),
		self:        tr.LocalAddr(),
		in:          make(chan func(), 1024),
		done:        make(chan struct{}),
		name:        cfg.Name,
		peers:       newPeerList(),
		store:       newStore(cfg.Store),
		known:       make(map[netip.AddrPort]*vclock.Vector),
		exchanges:   make(map[netip.AddrPort]*exchange),
		origins:     newOriginPolicy(cfg),
		issued:      make(map[string]uint32),
		networkNext: make(map[string]uint32),
		firstIssued: make(map[string]uint32),
		bridged:     make(map[vclock.Message]bool),
		lastSweep:   cfg.Clock.Now(),
		rateLog:     gossiper.NewRateLog(cfg.Clock),
	}
	if g.metrics, err = newMetrics(host); err != nil {
		return nil, fmt.Errorf("peerster metrics: %w", err)
	}
	for _, p := range cfg.Peers {
		g.addPeer(p, true)
	}
	if cfg.Store != nil {
		if err := g.loadState(cfg.Store); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Name implements gossiper.Protocol.
func (g *Gossiper) Name() string { return ProtocolName }

// IdentityFields implements gossiper.IdentityReporter.
func (g *Gossiper) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{{Key: "gossipAddr", Label: "gossip address (UDP)", Value: g.self.String()}}
}

// Addr is the gossip address.
func (g *Gossiper) Addr() netip.AddrPort { return g.self }

// Run serves the protocol until ctx is cancelled, then closes the transport.
func (g *Gossiper) Run(ctx context.Context) error {
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		g.readLoop()
	}()
	g.begin()
	for {
		select {
		case f := <-g.in:
			g.step(f)
		case <-ctx.Done():
			close(g.done)
			g.tr.Close()
			<-readerDone
			if g.aeTimer != nil {
				g.aeTimer.Stop()
			}
			if g.catchUp != nil {
				g.catchUp.Stop()
			}
			if g.spread.timer != nil {
				g.spread.timer.Stop()
			}
			for _, st := range g.peers.index {
				st.stop()
			}
			for _, ex := range g.exchanges {
				ex.timer.Stop()
			}
			return nil
		}
	}
}

// begin arms what runs by itself, before the first step.
func (g *Gossiper) begin() {
	if g.cfg.AntiEntropy > 0 && !g.cfg.Simple {
		g.scheduleAntiEntropy()
		g.post(g.announce)
	}
	g.publishPeers()
}

// announce sends our status to every peer we were given, once, at start.
// Peers learn each other from the packets they get: a node that none of
// its neighbours was told about (the course's ring tells each node one
// side; our harness and lab tell each the neighbours of higher index) was
// otherwise learned by one neighbour per anti-entropy round, and a first
// message sent 1.5 s after start missed such nodes until the second round
// (3 seeds of 8, 50-node graph, virtual time: 500 ms instead of 5 ms).
func (g *Gossiper) announce() {
	for _, p := range g.peers.addrs {
		g.sendStatus(p)
	}
}

// step runs f, one packet, timeout or command, and sends what it produced.
// A step's changes (a rumor, its chat entry, our issued ID) commit together
// or not at all.
func (g *Gossiper) step(f func()) {
	if g.cfg.Store != nil {
		g.cfg.Store.Hold()
	}
	f()
	// Work already waiting joins this step, so that what it all sends
	// goes out in one batch and its lines in one write.
drain:
	for range maxStepWork - 1 {
		select {
		case f := <-g.in:
			f()
		default:
			break drain
		}
	}
	g.maintainPeers()
	g.gauge()
	g.endStep()
	if g.cfg.Store != nil {
		g.cfg.Store.Release()
	}
}

// maxStepWork bounds the queued work one step takes, so that its output is
// not held back long.
const maxStepWork = 64

// post hands f to the Run goroutine; it reports false once the gossiper
// has stopped.
func (g *Gossiper) post(f func()) bool {
	select {
	case g.in <- f:
		return true
	case <-g.done:
		return false
	}
}

// ErrStopped is returned by calls made after the gossiper stopped.
var ErrStopped = errors.New("peerster: gossiper stopped")

// call runs f on the Run goroutine and waits for its result.
func (g *Gossiper) call(f func() error) error {
	res := make(chan error, 1)
	if !g.post(func() { res <- f() }) {
		return ErrStopped
	}
	select {
	case err := <-res:
		return err
	case <-g.done:
		return ErrStopped
	}
}

// Say implements gossiper.Sayer: a message typed by the user.
func (g *Gossiper) Say(text string) error {
	if text == "" {
		return errors.New("peerster: empty message")
	}
	return g.call(func() error { return g.originate(text, true) })
}

// SayAll implements gossiper.BatchSayer: the messages are issued in one
// step, so their lines, datagrams and (with a store) one commit go out
// together instead of one round trip through the loop each.
func (g *Gossiper) SayAll(texts []string) error {
	for _, text := range texts {
		if text == "" {
			return errors.New("peerster: empty message")
		}
	}
	return g.call(func() error {
		var errs []error
		for _, text := range texts {
			if err := g.originate(text, true); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// Relay implements gossiper.Relayer: a message from another protocol goes
// out as a message of ours with the text "origin: text".
func (g *Gossiper) Relay(origin, text string) error {
	if text == "" {
		return errors.New("peerster: empty message")
	}
	return g.call(func() error { return g.originate(origin+": "+text, false) })
}

// AddPeer implements gossiper.PeerAdder.
func (g *Gossiper) AddPeer(addr string) error {
	ap, err := messages.ParsePeerAddr(addr)
	if err != nil {
		return err
	}
	if ap == g.self {
		return fmt.Errorf("peerster: %s is our own address", ap)
	}
	return g.call(func() error {
		if !g.addPeer(ap, true) && !g.peers.has(ap) {
			return fmt.Errorf("peerster: peer list is full (%d)", g.cfg.MaxPeers)
		}
		return nil
	})
}

// Peers implements gossiper.PeerLister: the peer list in PEERS order.
func (g *Gossiper) Peers() []string {
	var peers []string
	if err := g.call(func() error {
		peers = g.peers.strings()
		return nil
	}); err != nil {
		return []string{}
	}
	return peers
}

// Rename implements gossiper.Renamer. Rumors already sent keep their origin;
// new ones carry the new name and continue its own ID sequence.
func (g *Gossiper) Rename(name string) error {
	if err := messages.CheckName(name); err != nil {
		return err
	}
	return g.call(func() error {
		g.name = name
		return nil
	})
}

func (g *Gossiper) readLoop() {
	slots := 1
	bt, batched := g.tr.(batchTransport)
	if batched {
		slots = readBatch
	}
	in := make([]inbound, slots)
	for i := range in {
		in[i].b = make([]byte, 64<<10)
	}
	for {
		var n int
		var err error
		if batched {
			n, err = bt.ReadBatch(in)
		} else {
			in[0].n, in[0].from, err = g.tr.ReadFrom(in[0].b)
			n = 1
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-g.done:
				return
			default:
			}
			// A transient socket error (ICMP port unreachable echoes of
			// our sends to a peer that is gone, for one) must not turn
			// into a spinning loop, nor a log line per datagram.
			g.rateLog.Warn(g.log.WithError(err), "read from gossip socket failed")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		got := make([]receivedPacket, 0, n)
		for _, d := range in[:n] {
			if pkt := g.decode(d.from, d.b[:d.n]); pkt != nil {
				got = append(got, receivedPacket{from: d.from, pkt: pkt})
			}
		}
		if len(got) == 0 {
			continue
		}
		// One step for what one read brought: its output goes out in
		// one batch too.
		if !g.post(func() {
			for _, r := range got {
				g.handlePacket(r.from, r.pkt)
			}
		}) {
			return
		}
	}
}

// readBatch is how many datagrams one read takes at most. Each slot holds
// a datagram of the largest size; memory is touched only as far as
// datagrams fill it.
const readBatch = 8

// receivedPacket is a decoded datagram waiting for the Run goroutine.
type receivedPacket struct {
	from netip.AddrPort
	pkt  *messages.GossipPacket
}

// decode checks and counts a received datagram; nil means it was dropped.
// It is safe to call off the Run goroutine (readLoop does).
func (g *Gossiper) decode(from netip.AddrPort, b []byte) *messages.GossipPacket {
	if !from.IsValid() {
		g.metrics.Drop("no source address")
		return nil
	}
	if from == g.self {
		g.metrics.Drop("own address")
		g.rateLog.Warn(g.log.WithField("peer", from), "dropped datagram from our own address")
		return nil
	}
	pkt, err := messages.DecodePacket(b)
	if err != nil {
		g.metrics.Drop("undecodable")
		g.rateLog.Warn(g.log.WithField("peer", from).WithError(err), "dropped datagram")
		return nil
	}
	if pkt.Fields() > 1 {
		g.metrics.In("several fields", len(b))
	} else {
		g.metrics.In(pkt.Kind(), len(b))
	}
	return pkt
}

// handlePacket handles each field of a packet as if it had come alone, in
// the order Simple, Rumor, Status: a node that sends several (Ledz96's
// stale fields, dpetresc forwarding them byte for byte) loses nothing, and
// a rumor is stored before a status in the same packet is compared.
func (g *Gossiper) handlePacket(from netip.AddrPort, pkt *messages.GossipPacket) {
	if n := pkt.Fields(); n > 1 {
		g.rateLog.Debug(g.log.WithField("peer", from).WithField("fields", n), "packet with several fields: each handled alone")
	}
	for _, part := range pkt.Parts() {
		switch {
		case part.Simple != nil:
			g.handleSimple(from, part.Simple)
		case part.Rumor != nil:
			g.handleRumor(from, part.Rumor)
		case part.Status != nil:
			g.handleStatus(from, part.Status)
		}
	}
}

// originate sends text as a message of ours. A client's message is printed
// as CLIENT MESSAGE and added to the chat; a bridged one is already in the
// chat under the protocol it came from, and no client sent it.
func (g *Gossiper) originate(text string, fromClient bool) error {
	if g.cfg.Simple {
		return g.sayBroadcast(text, fromClient)
	}
	return g.sayRumor(text, fromClient)
}

// print queues protocol lines; they are published together once the
// current packet or command has been handled (and, with a store, what it
// changed is on disk).
func (g *Gossiper) print(lines ...string) { g.pending = append(g.pending, lines...) }

// heardFrom learns the source of a valid packet as a peer, or marks a known
// peer alive. Peers come only from where packets come from, never from an
// address written inside one: anyone could name any address there.
func (g *Gossiper) heardFrom(addr netip.AddrPort) {
	if st := g.peers.state(addr); st != nil {
		st.lastHeard, st.sendFailures = g.cfg.Clock.Now(), 0
		return
	}
	g.addPeer(addr, false)
}

// addPeer adds addr to the peer list; it reports whether it was new.
// Configured peers (-peers, or added by the user) are never dropped.
func (g *Gossiper) addPeer(addr netip.AddrPort, configured bool) bool {
	if addr == g.self || !addr.IsValid() || addr.Port() == 0 {
		return false
	}
	if !g.peers.has(addr) && g.peers.len() >= g.cfg.MaxPeers {
		if !g.peersFull {
			g.log.WithField("peer", addr).WithField("max", g.cfg.MaxPeers).Warn("peer list full; not adding more peers")
			g.peersFull = true
		}
		return false
	}
	if !g.peers.add(addr, configured, g.cfg.Clock.Now()) {
		return false
	}
	g.publishPeers()
	return true
}

// maintainPeers drops learned peers that fell silent for PeerTimeout or
// whose sends kept failing. It runs after every packet or command, and
// looks at the list only every quarter of PeerTimeout or when asked.
func (g *Gossiper) maintainPeers() {
	now := g.cfg.Clock.Now()
	if !g.sweepNow && now.Sub(g.lastSweep) < g.cfg.PeerTimeout/4 {
		return
	}
	g.sweepNow, g.lastSweep = false, now
	var gone []netip.AddrPort
	for _, a := range g.peers.addrs {
		st := g.peers.state(a)
		if !st.configured && (now.Sub(st.lastHeard) >= g.cfg.PeerTimeout || st.sendFailures >= g.cfg.MaxSendFailures) {
			gone = append(gone, a)
		}
	}
	for _, a := range gone {
		st := g.peers.state(a)
		g.rateLog.Info(g.log.WithField("peer", a).WithField("silentFor", now.Sub(st.lastHeard).Round(time.Second)).
			WithField("sendFailures", st.sendFailures), "learned peer dropped")
		g.peers.remove(a)
		delete(g.known, a)
		if ex := g.exchanges[a]; ex != nil {
			ex.timer.Stop()
			delete(g.exchanges, a)
		}
	}
	if len(gone) > 0 {
		g.peersFull = false
		g.publishPeers()
	}
}

// gauge sets the metrics that describe the state a step left.
func (g *Gossiper) gauge() {
	g.metrics.exchanges.Set(float64(len(g.exchanges)))
	g.metrics.peers.Set(float64(g.peers.len()))
	g.metrics.origins.Set(float64(g.store.vector.Len()))
	if g.status != nil {
		g.metrics.statusBytes.Set(float64(len(g.status)))
	}
}

func (g *Gossiper) publishPeers() {
	g.host.Publish(gossiper.Event{Kind: gossiper.EventPeers, Protocol: ProtocolName, Peers: g.peers.strings()})
}

// write queues a datagram; it leaves when the step ends (endStep).
func (g *Gossiper) write(to netip.AddrPort, b []byte) {
	g.sends = append(g.sends, datagram{to, b})
}

// transmitAll sends ds in order, in batches where the transport can.
func (g *Gossiper) transmitAll(ds []datagram) {
	bt, batched := g.tr.(batchTransport)
	for len(ds) > 0 {
		if !batched || len(ds) == 1 {
			g.transmit(ds[0])
			ds = ds[1:]
			continue
		}
		n, err := bt.WriteBatch(ds)
		for _, d := range ds[:n] {
			g.metrics.Out(packetType(d.b), len(d.b))
		}
		ds = ds[n:]
		if err != nil {
			g.sendFailed(ds[0], err)
			ds = ds[1:]
		}
	}
}

func (g *Gossiper) transmit(d datagram) {
	if err := g.tr.WriteTo(d.b, d.to); err != nil {
		g.sendFailed(d, err)
		return
	}
	g.metrics.Out(packetType(d.b), len(d.b))
}

// sendFailed counts a datagram that was not sent against its peer: a
// learned peer whose sends keep failing is dropped.
func (g *Gossiper) sendFailed(d datagram, err error) {
	g.rateLog.Warn(g.log.WithField("peer", d.to).WithError(err), "send failed")
	if st := g.peers.state(d.to); st != nil && !st.configured {
		st.sendFailures++
		g.sweepNow = g.sweepNow || st.sendFailures >= g.cfg.MaxSendFailures
	}
}
