package peerster

import (
	"net/netip"
	"strings"
)

// peerList keeps peers in insertion order: -peers first, then every address
// a packet came from. The order is what PEERS prints.
type peerList struct {
	addrs  []netip.AddrPort
	index  map[netip.AddrPort]struct{}
	joined string
}

func newPeerList() *peerList {
	return &peerList{index: make(map[netip.AddrPort]struct{})}
}

// add appends addr unless it is known; it reports whether it was new.
func (p *peerList) add(addr netip.AddrPort) bool {
	if _, ok := p.index[addr]; ok {
		return false
	}
	p.index[addr] = struct{}{}
	p.addrs = append(p.addrs, addr)
	p.joined = ""
	return true
}

func (p *peerList) has(addr netip.AddrPort) bool {
	_, ok := p.index[addr]
	return ok
}

func (p *peerList) len() int { return len(p.addrs) }

// line is the PEERS line, cached because it is printed after every
// received packet and changes only when a peer is added.
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
