package gossiper

import (
	"context"
	"net"
)

// Dialer opens the outgoing connections of the connection-oriented
// protocols (digit pulls, whisper and mesh peers). *net.Dialer is the real
// one; tests inject their own.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}
