package gossiper

import (
	"fmt"
	"net"
)

// SocketBuffer is the receive and send buffer asked for every UDP socket of
// the node: about 4,000 small datagrams, 200 ms of 20,000 client messages a
// second, so a garbage collection or a slow stdout does not cost datagrams.
// The kernel takes memory for it only while datagrams wait.
const SocketBuffer = 4 << 20

// ListenUDP binds a UDP socket on addr ("ip:port") with SocketBuffer-sized
// buffers. An unprivileged process gets at most net.core.rmem_max (often
// 208 KiB); one with CAP_NET_ADMIN gets the full size (forceBuffers).
func ListenUDP(addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("udp address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, err
	}
	// Best effort: a smaller buffer only loses datagrams sooner.
	_ = conn.SetReadBuffer(SocketBuffer)
	_ = conn.SetWriteBuffer(SocketBuffer)
	forceBuffers(conn, SocketBuffer)
	return conn, nil
}

// ReadBuffer is the receive buffer the kernel gave conn, in bytes (twice
// what was granted: Linux counts its bookkeeping), 0 when unknown.
func ReadBuffer(conn *net.UDPConn) int { return readBuffer(conn) }
