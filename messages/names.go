package messages

import (
	"errors"
	"fmt"
	"net/netip"
	"unicode"
)

// CheckName refuses origin names that would garble the protocol lines peers
// print about us: empty ones, and any with whitespace or control characters
// ("peer <name> nextID <n>" is split on spaces).
func CheckName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("name %q has whitespace or control characters", name)
		}
	}
	return nil
}

// ParsePeerAddr reads a Peerster peer address: an ip:port with an IPv4
// address and a non-zero port, as the handout's -peers and -gossipAddr.
func ParsePeerAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q: want ip:port", s)
	}
	if !ap.Addr().Unmap().Is4() || ap.Port() == 0 || ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("bad address %q: want an IPv4 ip:port with a non-zero port", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
