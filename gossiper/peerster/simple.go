package peerster

import (
	"net/netip"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// sayBroadcast sends a client message to every peer in simple mode, with us
// as original sender and relay.
func (g *Gossiper) sayBroadcast(text string, fromClient bool) error {
	m := &messages.SimpleMessage{OriginalName: g.name, RelayPeerAddr: g.self.String(), Contents: text}
	b, err := messages.EncodePacket(&messages.GossipPacket{Simple: m})
	if err != nil {
		return err
	}
	if fromClient {
		g.print(clientLine(text), peersLine(g.peers))
		g.record(g.name, 0, text, "", false)
	}
	for _, p := range g.peers.addrs {
		g.write(p, b)
	}
	return nil
}

// handleSimple follows the handout: print the relay (RelayPeerAddr, as
// 2018 nodes printed it) and forward to every peer but the relay, with
// ourselves as relay. The peer learned is the address the packet came from,
// never the address written in it: honest nodes send from the address they
// name, and anyone else could name any address to point our traffic at it.
// The originator prints its own message when it comes back round a ring but
// does not forward it again, or it would circle for ever.
func (g *Gossiper) handleSimple(from netip.AddrPort, m *messages.SimpleMessage) {
	g.heardFrom(from)
	relay, err := messages.ParsePeerAddr(m.RelayPeerAddr)
	if err != nil {
		g.rateLog.Debug(g.log.WithField("peer", from).WithError(err), "simple message relay unusable; using the source address")
		relay = from
	}
	g.print(simpleLine(m, relay.String()), peersLine(g.peers))
	if m.OriginalName == g.name {
		return
	}
	g.record(m.OriginalName, 0, m.Contents, relay.String(), false)
	fwd := &messages.SimpleMessage{OriginalName: m.OriginalName, RelayPeerAddr: g.self.String(), Contents: m.Contents}
	b, err := messages.EncodePacket(&messages.GossipPacket{Simple: fwd})
	if err != nil {
		g.rateLog.Warn(g.log.WithField("peer", from).WithError(err), "simple message not forwarded")
		return
	}
	for _, p := range g.peers.addrs {
		if p != relay && p != from {
			g.write(p, b)
		}
	}
}

// record adds a message to the node's chat; with a store, the chat entry is
// written too, and the step's output waits for it.
func (g *Gossiper) record(origin string, id uint32, text, from string, suspect bool) {
	g.dirty = g.dirty || g.cfg.Store != nil
	g.host.Record(gossiper.ChatMessage{
		Protocol: ProtocolName, Origin: origin, ID: id, Text: text, From: from, Time: g.cfg.Clock.Now(), Suspect: suspect,
	})
}
