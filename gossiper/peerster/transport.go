package peerster

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/peerster-chat/Peerster/gossiper"
	"golang.org/x/net/ipv4"
)

// Transport carries datagrams between gossipers. The real one is UDP; tests
// use MemNetwork, which can drop, duplicate and reorder.
type Transport interface {
	// ReadFrom blocks for the next datagram; p must hold 64 KiB so nothing
	// is truncated.
	ReadFrom(p []byte) (n int, from netip.AddrPort, err error)
	// WriteTo sends one datagram; it must not block for long.
	WriteTo(p []byte, to netip.AddrPort) error
	// LocalAddr is the address peers reach us at.
	LocalAddr() netip.AddrPort
	// Close unblocks ReadFrom with an error.
	Close() error
}

// UDPTransport is a Transport over a UDP socket.
type UDPTransport struct {
	conn  *net.UDPConn
	local netip.AddrPort
	batch batchIO
}

// ListenUDP binds the gossip address.
func ListenUDP(addr netip.AddrPort) (*UDPTransport, error) {
	// Buffers large enough to absorb a burst of statuses and rumors while
	// the gossiper is busy printing.
	conn, err := gossiper.ListenUDP(addr.String())
	if err != nil {
		return nil, fmt.Errorf("listen on gossip address %s: %w", addr, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &UDPTransport{
		conn:  conn,
		local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		batch: batchIO{pc: ipv4.NewPacketConn(conn)},
	}, nil
}

// ReadFrom implements Transport.
func (t *UDPTransport) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	n, from, err := t.conn.ReadFromUDPAddrPort(p)
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
}

// WriteTo implements Transport.
func (t *UDPTransport) WriteTo(p []byte, to netip.AddrPort) error {
	_, err := t.conn.WriteToUDPAddrPort(p, to)
	return err
}

// LocalAddr implements Transport.
func (t *UDPTransport) LocalAddr() netip.AddrPort { return t.local }

// Close implements Transport.
func (t *UDPTransport) Close() error { return t.conn.Close() }
