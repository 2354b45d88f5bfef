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
		g.record(g.name, 0, text, "")
	}
	for _, p := range g.peers.addrs {
		g.write(p, b)
	}
	return nil
}

// handleSimple follows the handout: learn the relay from the RelayPeerAddr
// field, then forward to every peer but the relay with ourselves as relay.
// The originator prints its own message when it comes back round a ring but
// does not forward it again, or it would circle for ever.
func (g *Gossiper) handleSimple(from netip.AddrPort, m *messages.SimpleMessage) {
	relay, err := ParseAddr(m.RelayPeerAddr)
	if err != nil {
		g.log.WithField("peer", from).WithError(err).Debug("simple message relay unusable; using the source address")
		relay = from
	}
	g.learnPeer(relay)
	g.print(simpleLine(m, relay.String()), peersLine(g.peers))
	if m.OriginalName == g.name {
		return
	}
	g.record(m.OriginalName, 0, m.Contents, relay.String())
	fwd := &messages.SimpleMessage{OriginalName: m.OriginalName, RelayPeerAddr: g.self.String(), Contents: m.Contents}
	b, err := messages.EncodePacket(&messages.GossipPacket{Simple: fwd})
	if err != nil {
		g.log.WithField("peer", from).WithError(err).Warn("simple message not forwarded")
		return
	}
	for _, p := range g.peers.addrs {
		if p != relay {
			g.write(p, b)
		}
	}
}

func (g *Gossiper) record(origin string, id uint32, text, from string) {
	g.host.Record(gossiper.ChatMessage{
		Protocol: ProtocolName, Origin: origin, ID: id, Text: text, From: from, Time: g.cfg.Clock.Now(),
	})
}
