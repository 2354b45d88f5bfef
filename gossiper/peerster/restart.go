package peerster

import (
	"net/netip"

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
//     we ask the peer for that ID with a status rewound to it, and a copy
//     with other text proves the collision. We then take the network's
//     messages for those IDs, and send ours again under new IDs, with a
//     warning; every message typed reaches every node, under some ID, and
//     our chat ends as everyone else's.

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

// say issues text as our next rumor, or queues it while we catch up with
// the IDs the network holds of ours.
func (g *Gossiper) say(t ownText) error {
	if len(g.waiting) == 0 && !g.behind(g.name) {
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
// network showed us, or when the wait is over.
func (g *Gossiper) issueWaiting(timedOut bool) {
	if len(g.waiting) == 0 || (!timedOut && g.behind(g.name)) {
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
	waiting := g.waiting
	g.waiting = nil
	for _, t := range waiting {
		if err := g.issue(t); err != nil {
			g.rateLog.Warn(g.log.WithError(err), "message of ours not sent")
		}
	}
}

// noteOurStatusEntry learns, from a peer's status, how far the network
// holds our origin, and asks about a collision when it holds more than we
// sent since start.
func (g *Gossiper) noteOurStatusEntry(from netip.AddrPort, origin string, next uint32) {
	if next <= g.store.next(origin) {
		return
	}
	if next > g.networkNext[origin] {
		g.networkNext[origin] = next
	}
	first, sent := g.firstIssued[origin]
	if !sent {
		return
	}
	// Our status with this origin rewound to the first ID we sent since
	// start makes the peer send its copy of that ID.
	st := g.store.vector.Status()
	for i := range st.Want {
		if st.Want[i].Identifier == origin {
			st.Want[i].NextID = first
		}
	}
	b, err := messages.EncodePacket(&messages.GossipPacket{Status: st})
	if err != nil {
		g.rateLog.Warn(g.log.WithField("peer", from).WithError(err), "status not sent")
		return
	}
	g.write(from, b)
}

// collided reports whether r, a rumor of ours with an ID we hold, is the
// network's copy of an ID we reused after a restart.
func (g *Gossiper) collided(r *messages.RumorMessage) bool {
	first, sent := g.firstIssued[r.Origin]
	if !sent || r.ID < first || r.ID >= g.store.next(r.Origin) {
		return false
	}
	pkt, err := messages.DecodePacket(g.store.packet(vclock.Message{Origin: r.Origin, ID: r.ID}))
	return err == nil && pkt.Rumor != nil && pkt.Rumor.Text != r.Text
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
