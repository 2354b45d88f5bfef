package p2p

import (
	"strconv"

	"github.com/peerster-chat/Peerster/gossiper"
)

// Links implements gossiper.LinkLister: every known peer by identity, and
// whether it is alive.
func (p *P2P) Links() []gossiper.Link {
	peers := p.MeshPeers()
	out := make([]gossiper.Link, len(peers))
	for i, mp := range peers {
		out[i] = gossiper.Link{Protocol: ProtocolName, Peer: strconv.FormatUint(mp.Identity, 10), Addr: mp.Addr, Alive: mp.Alive}
	}
	return out
}
