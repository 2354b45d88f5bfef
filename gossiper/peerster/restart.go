package peerster

import (
	"net/netip"
	"slices"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
)

// A node restarted without its data directory starts counting its rumors
// from 1 again while the network still holds its old ones: a message sent
// as C:1 would be dropped by every peer that has the old C:1, silently.
// Two things prevent that:
//
//   - A status showing our origin past what we hold means the network has
//     IDs of ours we lack: new messages wait (at most CatchUpWait) until
//     anti-entropy has brought them, then take the next free ID. On a fresh
//     network nothing waits.
//   - A message we already sent under an ID the network held is found out:
//     once a status shows IDs of ours past the last we sent, the IDs we sent
//     since start are in doubt, and we ask every peer that holds the first
//     of them for its copy, with a status that leaves it nothing else to
//     send, at each of its statuses until one copy comes. A copy with other
//     text proves the collision: we then take the network's messages for
//     those IDs, and send ours again under new IDs, with a warning; every
//     message typed reaches every node, under some ID, and our chat ends as
//     everyone else's. A copy with our text clears the doubt. Asking once
//     was not enough: the peer may send something else we lack, and then
//     anti-entropy brings the network's later IDs, after which no status
//     shows us behind any more although our first ID still collides.
//
// While in doubt new messages wait too, also at most CatchUpWait: the IDs
// from the first we sent to the last are the ones a rewind sends again, so
// they must all be ours, and a message issued past the network's later IDs
// would break that. When one still is (those IDs came before any status
// showed them), the IDs before it are no longer checked.

// ownText is a message of ours waiting for an ID.
type ownText struct {
	text       string
	fromClient bool
	// resent marks a message that went out under an ID the network held.
	resent bool
}

// behind reports whether the network holds IDs of origin that we lack.
func (g *Gossiper) behind(origin string) bool {
	return g.networkNext[origin] > g.store.next(origin)
}

// doubted reports whether the IDs of origin we sent since start may be the
// network's already: a status showed IDs of origin past the last we sent,
// so our sequence went on without us (our old run, or someone speaking as
// us).
func (g *Gossiper) doubted(origin string) bool {
	_, sent := g.firstIssued[origin]
	return sent && g.networkNext[origin] > g.issued[origin]+1
}

// mustWait reports whether a new message of origin would now take an ID
// the network may hold already, or come after IDs we may have to give up.
func (g *Gossiper) mustWait(origin string) bool {
	return g.behind(origin) || g.doubted(origin)
}

// noteIssued records id as the ID we just gave a rumor of origin. From
// firstIssued to issued every ID is ours; an ID past others of origin we
// stored since (see the end of the comment at the top) starts that range
// again.
func (g *Gossiper) noteIssued(origin string, id uint32) {
	if first, sent := g.firstIssued[origin]; !sent || id > g.issued[origin]+1 {
		if sent {
			g.rateLog.Warn(g.log.WithField("origin", origin).WithField("from", first).WithField("to", g.issued[origin]),
				"IDs of ours no longer checked against the network's copies: we sent past others' IDs of our origin")
		}
		g.firstIssued[origin] = id
	}
	g.issued[origin] = id
}

// say issues text as our next rumor, or queues it while we catch up with
// the IDs the network holds of ours or while those we sent are in doubt.
func (g *Gossiper) say(t ownText) error {
	if len(g.waiting) == 0 && !g.mustWait(g.name) {
		return g.issue(t)
	}
	g.waiting = append(g.waiting, t)
	g.armCatchUp()
	return nil
}

// armCatchUp bounds how long messages wait: a peer could claim IDs of ours
// it never sends.
func (g *Gossiper) armCatchUp() {
	if g.catchUp != nil {
		return
	}
	g.catchUp = g.cfg.Clock.AfterFunc(g.cfg.CatchUpWait, func() {
		g.post(func() {
			g.catchUp = nil
			g.issueWaiting(true)
		})
	})
}

// issueWaiting issues the waiting messages once we hold every ID the
// network showed us and none we sent is in doubt, or when the wait is over.
func (g *Gossiper) issueWaiting(timedOut bool) {
	if len(g.waiting) == 0 || (!timedOut && g.mustWait(g.name)) {
		return
	}
	if g.catchUp != nil {
		g.catchUp.Stop()
		g.catchUp = nil
	}
	if timedOut && g.behind(g.name) {
		// The IDs a status claimed never came: forget the claim, or a
		// peer that lies about our origin would delay all we send.
		g.rateLog.Warn(g.log.WithField("origin", g.name).WithField("claimed", g.networkNext[g.name]).
			WithField("held", g.store.next(g.name)), "IDs of ours that a peer's status showed never came; sending anyway")
		delete(g.networkNext, g.name)
	}
	if timedOut && g.doubted(g.name) {
		// No peer sent its copy of our first ID to compare: keep ours,
		// or a peer showing IDs of ours that it never sends would hold
		// back all we send.
		g.rateLog.Warn(g.log.WithField("origin", g.name).WithField("first", g.firstIssued[g.name]),
			"no peer sent its copy of the IDs of ours in doubt; keeping ours")
		delete(g.firstIssued, g.name)
	}
	waiting := g.waiting
	g.waiting = nil
	for _, t := range waiting {
		if err := g.issue(t); err != nil {
			g.rateLog.Warn(g.log.WithError(err), "message of ours not sent")
		}
	}
}

// noteOurStatus learns, from a peer's status, how far the network holds
// our origins, and asks the peer for its copy of the first ID we sent since
// start while that ID is in doubt and the peer holds it.
func (g *Gossiper) noteOurStatus(from netip.AddrPort, s *messages.StatusPacket) {
	ask := false
	for _, ps := range s.Want {
		origin, next := ps.Identifier, ps.NextID
		if !g.isOurs(origin) {
			continue
		}
		// Kept even when we hold as much: anti-entropy may have brought the
		// network's later IDs of ours before any status showed them, and
		// they still put what we sent in doubt.
		if next > g.networkNext[origin] {
			g.networkNext[origin] = next
		}
		first, sent := g.firstIssued[origin]
		ask = ask || (sent && next > first && g.doubted(origin))
	}
	if !ask {
		return
	}
	// The peer's own status with our origins in doubt rewound to the
	// first ID we sent: that ID is then all the peer sees us lack, so it
	// sends it, rather than one of everything else we lack picked at
	// random. What this claims of other origins lasts until our next
	// status, the ack of that very rumor.
	st := &messages.StatusPacket{Want: slices.Clone(s.Want)}
	for i, ps := range st.Want {
		if first, sent := g.firstIssued[ps.Identifier]; sent && g.doubted(ps.Identifier) {
			st.Want[i].NextID = min(ps.NextID, first)
		}
	}
	b, err := messages.EncodePacket(&messages.GossipPacket{Status: st})
	if err != nil {
		g.rateLog.Warn(g.log.WithField("peer", from).WithError(err), "status not sent")
		return
	}
	g.write(from, b)
}

// checkOurs compares r, a rumor of one of our origins, with our copy when
// r's ID is one we sent since start: other text proves the network held
// that ID before we reused it, and we rewind; our text at the first of them
// proves that the network's copies are ours, which clears the doubt.
func (g *Gossiper) checkOurs(r *messages.RumorMessage) {
	first, sent := g.firstIssued[r.Origin]
	if !sent || r.ID < first || r.ID > g.issued[r.Origin] || r.ID >= g.store.next(r.Origin) {
		return
	}
	pkt, err := messages.DecodePacket(g.store.packet(vclock.Message{Origin: r.Origin, ID: r.ID}))
	if err != nil || pkt.Rumor == nil {
		return
	}
	switch {
	case pkt.Rumor.Text != r.Text:
		g.rewind(r.Origin, r.ID)
	case r.ID == first:
		delete(g.firstIssued, r.Origin)
		g.issueWaiting(false)
	}
}

// rewind gives up our rumors of origin from id on: they are removed from the
// store and the chat, ours are queued to go out again under new IDs, and
// anti-entropy brings the network's messages for those IDs.
func (g *Gossiper) rewind(origin string, id uint32) {
	last := g.store.next(origin) - 1
	var again []ownText
	for i := id; i <= last; i++ {
		if g.sentSinceStart(origin, i) {
			pkt, err := messages.DecodePacket(g.store.packet(vclock.Message{Origin: origin, ID: i}))
			if err == nil && pkt.Rumor != nil {
				bridged := g.bridged[vclock.Message{Origin: origin, ID: i}]
				again = append(again, ownText{text: pkt.Rumor.Text, fromClient: !bridged, resent: true})
			}
		}
		g.unpersistRumor(origin, i)
	}
	for m := range g.bridged {
		if m.Origin == origin && m.ID >= id {
			delete(g.bridged, m)
		}
	}
	g.truncate(origin, id)
	g.status = nil
	g.host.Retract(ProtocolName, origin, id, last)
	delete(g.firstIssued, origin)
	delete(g.issued, origin)
	g.rateLog.Warn(g.log.WithField("origin", origin).WithField("from", id).WithField("to", last).WithField("again", len(again)),
		"our IDs were already used in the network (we restarted without our data): taking the network's messages and sending ours again under new IDs")
	g.waiting = append(again, g.waiting...)
	g.armCatchUp()
}

func (g *Gossiper) sentSinceStart(origin string, id uint32) bool {
	first, sent := g.firstIssued[origin]
	return sent && id >= first && id <= g.issued[origin]
}
