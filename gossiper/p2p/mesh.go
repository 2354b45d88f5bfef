package p2p

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// peer is one member of the mesh as we know it, connected or not.
type peer struct {
	id   uint64
	addr netip.AddrPort // where it listens, if known and dialable
	// fp is the certificate first seen with this identity (trust on first
	// use); trusted says there is one.
	fp      [32]byte
	trusted bool

	conn      *conn // the one connection we use; nil when dead
	since     time.Time
	lastHeard time.Time

	failures int // dials or short-lived connections in a row
	nextDial time.Time
	dialing  bool
	// sentSeq is the number of our latest chat message this peer has had.
	sentSeq uint64
}

// entry is a -p2pConnect address whose node we have not met yet.
type entry struct {
	failures int
	nextDial time.Time
	dialing  bool
}

// dialJob is one dial: of a peer's identity, or of a join address (id 0).
type dialJob struct {
	addr netip.AddrPort
	id   uint64
}

// maxUnprovenFailures is how many failed dials a peer that some list named
// but that never authenticated gets before it is forgotten, so that a
// hostile list cannot keep us dialling addresses of nobody.
const maxUnprovenFailures = 5

// MeshPeer is what the node shows of a peer.
type MeshPeer struct {
	Identity uint64
	// Addr is the ip:port it listens on, or "" when not known.
	Addr  string
	Alive bool
	// LastHeard is when its last message came, zero if never.
	LastHeard time.Time
}

// MeshPeers is every known peer, alive or not, by identity.
func (p *P2P) MeshPeers() []MeshPeer {
	p.mu.Lock()
	out := make([]MeshPeer, 0, len(p.peers))
	for _, pr := range p.peers {
		mp := MeshPeer{Identity: pr.id, Alive: pr.conn != nil, LastHeard: pr.lastHeard}
		if pr.addr.IsValid() {
			mp.Addr = pr.addr.String()
		}
		out = append(out, mp)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b MeshPeer) int { return cmp.Compare(a.Identity, b.Identity) })
	return out
}

// checkFingerprint refuses a certificate other than the one first seen
// with id.
func (p *P2P) checkFingerprint(id uint64, fp [32]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr := p.peers[id]; pr != nil && pr.trusted && pr.fp != fp {
		return fmt.Errorf("identity %d presents certificate sha256 %x, first seen with %x: impostor refused", id, fp[:8], pr.fp[:8])
	}
	return nil
}

// verdict is what attach decided about a connection.
type verdict int

const (
	attached  verdict = iota // c is its peer's connection now
	duplicate                // the peer keeps another one; c is to be retired
	refused                  // c is to be closed
)

// attach makes c the connection of its peer, or says why not. job, when c
// comes from one of our dials, is cleared in the same step so that no
// second dial of the peer can start in between.
//
// Two connections to one peer arise when both sides dial each other at
// once, or when a peer redials before we noticed its old connection die.
// When one was dialled by each side, both sides keep the one dialled by
// the smaller identity, so they agree without a word; when both were
// dialled by the same side, the newer wins, since that side redialled
// because it lost the old one. The loser is retired, not dropped, so that
// nothing sent on it before both sides decided is lost. The real program
// keeps a connection that arrives while it has one queued and takes it up
// when its current one closes, so it follows either choice.
func (p *P2P) attach(c *conn, job *dialJob) verdict {
	now := p.cfg.Clock.Now()
	p.mu.Lock()
	if job != nil {
		p.clearJob(*job)
	}
	if p.closed {
		p.mu.Unlock()
		return refused
	}
	pr := p.peers[c.id]
	if pr == nil {
		if len(p.peers) >= p.cfg.MaxPeers {
			p.mu.Unlock()
			p.rl.Warn(c.log.WithField("max", p.cfg.MaxPeers), "p2p peer table full; connection refused")
			return refused
		}
		pr = &peer{id: c.id}
		p.peers[c.id] = pr
	}
	if pr.trusted && pr.fp != c.fp {
		p.mu.Unlock()
		p.rl.Warn(c.log, "p2p peer's certificate changed during the handshake; refused")
		return refused
	}
	old := pr.conn
	if old != nil && old.dialler(p.self) != c.dialler(p.self) && c.dialler(p.self) != min(p.self, c.id) {
		p.mu.Unlock()
		c.log.Debug("p2p second connection to a connected peer; keeping the one dialled by the smaller identity")
		return duplicate
	}
	changed := !pr.trusted || (dialable(c.addr) && pr.addr != c.addr)
	pr.conn, pr.since, pr.lastHeard = c, now, now
	pr.fp, pr.trusted = c.fp, true
	if dialable(c.addr) {
		pr.addr = c.addr
	}
	if changed && p.cfg.Store != nil {
		p.cfg.Store.Put(peerKey(pr.id), encodePeer(knownPeer{id: pr.id, addr: pr.addr, fp: pr.fp}))
	}
	p.mu.Unlock()

	if old != nil {
		old.log.Debug("p2p connection replaced by a newer one")
		old.retire()
	}
	c.log.WithField("addr", c.addr).WithField("dialled", c.dialled).Info("p2p peer connected")
	p.publishAlive()
	return attached
}

// clearJob ends a dial job's claim; p.mu is held.
func (p *P2P) clearJob(job dialJob) {
	if job.id == 0 {
		delete(p.boot, job.addr)
	} else if pr := p.peers[job.id]; pr != nil {
		pr.dialing = false
	}
}

// detach marks c's peer dead if c was its connection, and schedules the
// redial. A connection that did not last DeadAfter counts as a failure, so
// that a peer that accepts and drops us at once is redialled ever more
// slowly.
func (p *P2P) detach(c *conn, why error) {
	now := p.cfg.Clock.Now()
	p.mu.Lock()
	pr := p.peers[c.id]
	if pr == nil || p.closed {
		p.mu.Unlock()
		return
	}
	// Our latest message went into this connection and never out: the
	// peer's next connection gets it from catchUp.
	if q, w := c.queued.Load(), c.wrote.Load(); q > w && q == pr.sentSeq {
		pr.sentSeq = w
	}
	if pr.conn != c {
		p.mu.Unlock()
		return
	}
	pr.conn = nil
	if now.Sub(pr.since) < p.cfg.DeadAfter {
		pr.failures++
	} else {
		pr.failures = 0
	}
	wait := p.backoff(pr.failures)
	pr.nextDial = now.Add(wait)
	p.mu.Unlock()

	log := c.log.WithField("redial", wait.Round(time.Millisecond))
	switch {
	case errors.Is(why, os.ErrDeadlineExceeded):
		p.rl.Info(log.WithField("silent", p.cfg.DeadAfter), "p2p peer dead: silent too long; connection closed")
	case errors.Is(why, io.EOF), errors.Is(why, net.ErrClosed):
		p.rl.Info(log, "p2p peer dead: connection closed")
	case errors.Is(why, messages.ErrP2PMalformed), errors.Is(why, messages.ErrP2PTooLarge), errors.Is(why, io.ErrUnexpectedEOF):
		p.rl.Warn(log.WithError(why), "p2p peer dead: bad message; connection closed")
	default:
		p.rl.Info(log.WithError(why), "p2p peer dead")
	}
	p.publishAlive()
	p.kickDialer()
}

// backoff is the wait before the next dial after failures failures in a
// row, less a random part of up to half.
func (p *P2P) backoff(failures int) time.Duration {
	return p.jitter.Less(gossiper.BackoffAfter(p.cfg.BackoffBase, p.cfg.BackoffMax, failures+1), 0.5)
}

// onMessage handles one message from c's peer.
func (p *P2P) onMessage(c *conn, m messages.P2PMessage) {
	// Streams are decoded without framing: what counts in is the text.
	p.metrics.In(m.Kind.String(), len(m.Text))
	switch m.Kind {
	case messages.P2PGossip:
		p.deliver(c, m.Text)
	case messages.P2PHeartbeat:
	case messages.P2PListPeersRequest:
		p.answerList(c)
	case messages.P2PListPeersResponse:
		p.learn(c, m.Peers)
	case messages.P2PPair:
		c.log.Debug("p2p peer sent a Pair after the handshake; ignored")
	case messages.P2PError:
		if !isPadding(m.Text) {
			p.rl.Warn(c.log.WithField("text", gossiper.Printable(m.Text)), "p2p peer reports an error")
		}
	}
	now := p.cfg.Clock.Now()
	p.mu.Lock()
	if pr := p.peers[c.id]; pr != nil && pr.conn == c {
		pr.lastHeard = now
	}
	p.mu.Unlock()
}

// deliver shows a gossip from c's peer in the chat.
func (p *P2P) deliver(c *conn, text string) {
	from := c.remote
	if dialable(c.addr) {
		from = c.addr.String()
	}
	origin := strconv.FormatUint(c.id, 10)
	// The mesh has no message IDs: every gossip is new to us.
	p.metrics.Stored()
	p.host.Print(ProtocolName, "P2P origin "+origin+" from "+from+" contents "+gossiper.Printable(text))
	p.host.Record(gossiper.ChatMessage{Protocol: ProtocolName, Origin: origin, Text: text, From: from, Time: p.cfg.Clock.Now()})
}

// answerList sends c's peer every live peer we know, itself included, as
// the real program does; it uses the entries it does not know.
func (p *P2P) answerList(c *conn) {
	p.mu.Lock()
	list := make([]messages.P2PPeer, 0, len(p.peers))
	for _, pr := range p.peers {
		if pr.conn != nil && dialable(pr.addr) {
			list = append(list, messages.P2PPeer{Identity: pr.id, Addr: pr.addr})
		}
	}
	p.mu.Unlock()
	slices.SortFunc(list, func(a, b messages.P2PPeer) int { return cmp.Compare(a.Identity, b.Identity) })
	b, err := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PListPeersResponse, Peers: list})
	if err != nil {
		c.log.WithError(err).Error("p2p: encode our peer list")
		return
	}
	c.send(b, 0)
}

// learn adds the peers of a list that we do not know, and has them dialled.
func (p *P2P) learn(c *conn, list []messages.P2PPeer) {
	now := p.cfg.Clock.Now()
	added, full := 0, false
	p.mu.Lock()
	for _, e := range list {
		addr := netip.AddrPortFrom(e.Addr.Addr().Unmap(), e.Addr.Port())
		if e.Identity == p.self || !dialable(addr) || p.peers[e.Identity] != nil {
			continue
		}
		if len(p.peers) >= p.cfg.MaxPeers {
			full = true
			break
		}
		p.peers[e.Identity] = &peer{id: e.Identity, addr: addr, nextDial: now}
		added++
	}
	p.mu.Unlock()
	if full {
		p.rl.Warn(c.log.WithField("max", p.cfg.MaxPeers), "p2p peer table full; rest of the peer list ignored")
	}
	if added > 0 {
		c.log.WithField("new", added).Debug("p2p peers learned from a list")
		p.kickDialer()
	}
}

// alive is the live peers as "identity/ip:port", the real program's way
// of naming a peer, by identity.
func (p *P2P) alive() []string {
	type named struct {
		id   uint64
		name string
	}
	p.mu.Lock()
	var list []named
	for _, pr := range p.peers {
		if pr.conn != nil {
			list = append(list, named{pr.id, strconv.FormatUint(pr.id, 10) + "/" + pr.addr.String()})
		}
	}
	p.mu.Unlock()
	slices.SortFunc(list, func(a, b named) int { return cmp.Compare(a.id, b.id) })
	out := make([]string, len(list))
	for i, n := range list {
		out[i] = n.name
	}
	return out
}

// publishAlive announces the live peers when they changed. One publisher
// at a time, each with a fresh list, so the last event is never stale; no
// lock of the mesh is held while the bus may block.
func (p *P2P) publishAlive() {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	list := p.alive()
	if p.published != nil && slices.Equal(list, p.published) {
		return
	}
	p.published = list
	p.host.Publish(gossiper.Event{Kind: gossiper.EventPeers, Protocol: ProtocolName, Peers: list})
}

// heartbeat tells every live peer we are alive.
func (p *P2P) heartbeat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.peers {
		if pr.conn != nil {
			pr.conn.send(p.heartbeatMsg, 0)
		}
	}
}

// catchUp sends our latest chat message to the live peers that have not
// had it. This is our gossip every Period: the real program sends ten
// random characters instead, which in a chat would only be noise in every
// user's log (and the bridge would carry it to the other networks).
// Messages are queued with p.mu held, which keeps them in order.
func (p *P2P) catchUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.peers {
		if pr.conn != nil && pr.sentSeq < p.seq {
			pr.sentSeq = p.seq
			pr.conn.send(p.latest, p.seq)
		}
	}
}

// kickDialer wakes the dial loop to look at the table again.
func (p *P2P) kickDialer() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// dialLoop starts the dials that are due and sleeps until the next one is,
// or until the table changes.
func (p *P2P) dialLoop(ctx context.Context) {
	for {
		next := p.startDials(ctx)
		var t gossiper.Timer
		if !next.IsZero() {
			t = p.cfg.Clock.AfterFunc(max(next.Sub(p.cfg.Clock.Now()), 0), p.kickDialer)
		}
		select {
		case <-ctx.Done():
		case <-p.kick:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// startDials starts every dial that is due, each in its own goroutine, and
// returns when the next one will be (zero: none pending).
func (p *P2P) startDials(ctx context.Context) time.Time {
	now := p.cfg.Clock.Now()
	var jobs []dialJob
	var next time.Time
	due := func(at time.Time) bool {
		if !at.After(now) {
			return true
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
		return false
	}
	p.mu.Lock()
	connected := make(map[netip.AddrPort]bool)
	for _, pr := range p.peers {
		if pr.conn != nil {
			connected[pr.addr] = true
			continue
		}
		if !pr.dialing && dialable(pr.addr) && due(pr.nextDial) {
			pr.dialing = true
			jobs = append(jobs, dialJob{addr: pr.addr, id: pr.id})
		}
	}
	for addr, e := range p.boot {
		switch {
		case connected[addr]:
			// Joined already: the node at that address is a peer.
			delete(p.boot, addr)
		case !e.dialing && due(e.nextDial):
			e.dialing = true
			jobs = append(jobs, dialJob{addr: addr})
		}
	}
	p.mu.Unlock()
	for _, job := range jobs {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.dial(ctx, job)
		}()
	}
	return next
}

// dial connects to job's address, authenticates, and serves the
// connection until it ends.
func (p *P2P) dial(ctx context.Context, job dialJob) {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	nc, err := p.cfg.Dial.DialContext(dctx, "tcp", job.addr.String())
	cancel()
	var c *conn
	if err == nil {
		c, err = p.handshake(ctx, nc, true, job.id)
	} else {
		err = fmt.Errorf("dial: %w", err)
	}
	if err != nil {
		p.dialFailed(job, err)
		return
	}
	p.serveConn(c, &job)
}

// dialFailed schedules the next try of job.
func (p *P2P) dialFailed(job dialJob, err error) {
	now := p.cfg.Clock.Now()
	log := p.log.WithField("peer", job.addr.String()).WithError(err)
	p.mu.Lock()
	if job.id != 0 {
		log = log.WithField("identity", job.id)
		pr := p.peers[job.id]
		if pr == nil {
			p.mu.Unlock()
			return
		}
		pr.dialing = false
		pr.failures++
		if !pr.trusted && pr.failures >= maxUnprovenFailures {
			delete(p.peers, job.id)
			p.mu.Unlock()
			p.rl.Info(log, "p2p listed peer never answered; forgotten")
			return
		}
		wait := p.backoff(pr.failures)
		pr.nextDial = now.Add(wait)
		p.mu.Unlock()
		log.WithField("redial", wait.Round(time.Millisecond)).Debug("p2p dial failed")
		p.kickDialer()
		return
	}
	e := p.boot[job.addr]
	if e == nil {
		p.mu.Unlock()
		return
	}
	if errors.Is(err, errSelf) {
		delete(p.boot, job.addr)
		p.mu.Unlock()
		log.Warn("p2p address to join through is this node; ignored")
		return
	}
	e.dialing = false
	e.failures++
	wait := p.backoff(e.failures)
	e.nextDial = now.Add(wait)
	p.mu.Unlock()
	p.rl.Warn(log.WithField("redial", wait.Round(time.Millisecond)), "p2p cannot join through this address yet")
	p.kickDialer()
}
