package digits

import "net/netip"

// scope is the kind of network an address belongs to. Lines are stored
// whatever address they name, as the protocol says, but we pull only
// addresses of our own scope: any peer can list any address, and a node
// on loopback that pulled what it was told would open connections to hosts
// nobody in its network named.
type scope int

const (
	// scopeNone is every address no peer of ours can be at (multicast,
	// anything unparsable): never pulled unless the user names it.
	scopeNone scope = iota
	scopeLoopback
	scopeLinkLocal
	scopePrivate
	scopePublic
)

func scopeOf(addr string) scope {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return scopeNone
	}
	ip := ap.Addr()
	// Private before public: IsGlobalUnicast holds for private addresses too.
	switch {
	case ip.IsLoopback():
		return scopeLoopback
	case ip.IsLinkLocalUnicast():
		return scopeLinkLocal
	case ip.IsPrivate():
		return scopePrivate
	case ip.IsGlobalUnicast():
		return scopePublic
	default:
		return scopeNone
	}
}

// sameScope reports whether a node at self may pull addr unasked.
func sameScope(self, addr string) bool {
	s := scopeOf(addr)
	return s != scopeNone && s == scopeOf(self)
}
