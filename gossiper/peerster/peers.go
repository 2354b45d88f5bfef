package peerster

import (
	"net/netip"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/vclock"
	"slices"
	"strings"
	"time"
)

// peerList keeps peers in insertion order: -peers first, then every address
// a valid packet came from. The order is what PEERS prints.
type peerList struct {
	addrs  []netip.AddrPort
	index  map[netip.AddrPort]*peerState
	joined string
}

// peerState is what decides whether a learned peer is kept.
type peerState struct {
	// configured peers (-peers, or added by the user) are never dropped.
	configured   bool
	lastHeard    time.Time
	sendFailures int
	// lastVolunteered is when the peer last sent a status that was not
	// the ack of a rumor of ours (or when it was added): its own
	// anti-entropy, or a request.
	lastVolunteered time.Time
	// lastFreshFlip is when an in-sync status of the peer last flipped
	// the coin for the fresh rumor (Gossiper.freshFlipDue).
	lastFreshFlip time.Time
	// rtt times the acks of our rumors to the peer.
	rtt rtt
	// inFlight are the rumors sent to the peer and not yet acked.
	inFlight inFlight
	// bulk is the last run of IDs sent to the peer while it was far
	// behind on one origin (Gossiper.runFor).
	bulk struct {
		origin string
		next   uint32
		run    int
	}
	// askTimer sends our status again to a peer we asked for messages
	// (Gossiper.ask) until a rumor of the peer answers; askSeq tells a
	// stale firing from the current one.
	askTimer gossiper.Timer
	askSeq   uint64
	// behind is whether the peer's last status showed it lacking rumors
	// we have; recheck probes it once those on their way should have
	// arrived (Gossiper.recheckLater).
	behind  bool
	recheck gossiper.Timer
}

// answered stops asking the peer again: a rumor came, or a new ask
// replaces the old.
func (st *peerState) answered() {
	if st.askTimer != nil {
		st.askTimer.Stop()
		st.askTimer = nil
	}
}

// stop stops the peer's timers.
func (st *peerState) stop() {
	st.answered()
	if st.recheck != nil {
		st.recheck.Stop()
		st.recheck = nil
	}
}

// sentNow notes msg on its way to the peer.
func (st *peerState) sentNow(msg vclock.Message, at time.Time) { st.inFlight.add(msg, at) }

// notInFlight is lacking without the rumors on their way to the peer (see
// inFlight): wait after it was sent, a rumor was lost.
func (st *peerState) notInFlight(lacking []vclock.Message, now time.Time, wait time.Duration) []vclock.Message {
	st.inFlight.expire(now, wait)
	if st.inFlight.len() == 0 {
		return lacking
	}
	out := lacking[:0:0]
	for _, msg := range lacking {
		if !st.inFlight.has(msg, now, wait) {
			out = append(out, msg)
		}
	}
	return out
}

func newPeerList() *peerList {
	return &peerList{index: make(map[netip.AddrPort]*peerState)}
}

// add appends addr unless it is known; it reports whether it was new.
func (p *peerList) add(addr netip.AddrPort, configured bool, now time.Time) bool {
	if st, ok := p.index[addr]; ok {
		st.configured = st.configured || configured
		return false
	}
	p.index[addr] = &peerState{configured: configured, lastHeard: now, lastVolunteered: now}
	p.addrs = append(p.addrs, addr)
	p.joined = ""
	return true
}

func (p *peerList) remove(addr netip.AddrPort) {
	if _, ok := p.index[addr]; !ok {
		return
	}
	delete(p.index, addr)
	p.addrs = slices.DeleteFunc(p.addrs, func(a netip.AddrPort) bool { return a == addr })
	p.joined = ""
}

func (p *peerList) has(addr netip.AddrPort) bool {
	_, ok := p.index[addr]
	return ok
}

func (p *peerList) state(addr netip.AddrPort) *peerState { return p.index[addr] }

func (p *peerList) len() int { return len(p.addrs) }

// line is the PEERS line, cached because it is printed after every
// received packet and changes only when a peer is added or dropped.
func (p *peerList) line() string {
	if p.joined == "" {
		var b strings.Builder
		b.WriteString("PEERS ")
		for i, a := range p.addrs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(a.String())
		}
		p.joined = b.String()
	}
	return p.joined
}

func (p *peerList) strings() []string {
	out := make([]string, len(p.addrs))
	for i, a := range p.addrs {
		out[i] = a.String()
	}
	return out
}
