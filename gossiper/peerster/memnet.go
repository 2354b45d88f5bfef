package peerster

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"sync"
	"time"
)

// MemNetwork is an in-memory datagram network for deterministic protocol
// tests. Like UDP it may drop, duplicate and reorder datagrams, and it drops
// when a receiver's queue is full rather than block the sender.
type MemNetwork struct {
	// Loss is the probability that a datagram is dropped.
	Loss float64
	// Duplicate is the probability that a datagram is delivered twice.
	Duplicate float64
	// MaxDelay, when set, delays each datagram by a random time up to it,
	// which reorders them.
	MaxDelay time.Duration

	mu    sync.Mutex
	rng   *rand.Rand
	nodes map[netip.AddrPort]*memConn
	sent  int
}

// NewMemNetwork returns an empty network whose random choices come from seed.
func NewMemNetwork(seed int64) *MemNetwork {
	return &MemNetwork{rng: rand.New(rand.NewSource(seed)), nodes: make(map[netip.AddrPort]*memConn)}
}

// Sent counts datagrams written so far, delivered or not.
func (n *MemNetwork) Sent() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent
}

// Listen attaches a node at addr.
func (n *MemNetwork) Listen(addr netip.AddrPort) (Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nodes[addr]; ok {
		return nil, fmt.Errorf("listen on %s: address in use", addr)
	}
	c := &memConn{net: n, addr: addr, inbox: make(chan memDatagram, 4096), done: make(chan struct{})}
	n.nodes[addr] = c
	return c, nil
}

type memDatagram struct {
	from netip.AddrPort
	data []byte
}

type memConn struct {
	net       *MemNetwork
	addr      netip.AddrPort
	inbox     chan memDatagram
	done      chan struct{}
	closeOnce sync.Once
}

func (c *memConn) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.inbox:
		return copy(p, d.data), d.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *memConn) WriteTo(p []byte, to netip.AddrPort) error {
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	n := c.net
	n.mu.Lock()
	n.sent++
	dst := n.nodes[to]
	copies := 1
	if n.rng.Float64() < n.Loss {
		copies = 0
	} else if n.rng.Float64() < n.Duplicate {
		copies = 2
	}
	delays := make([]time.Duration, copies)
	for i := range delays {
		if n.MaxDelay > 0 {
			delays[i] = time.Duration(n.rng.Int63n(int64(n.MaxDelay)))
		}
	}
	n.mu.Unlock()
	if dst == nil {
		return nil // like UDP: nobody listening is not the sender's error
	}
	d := memDatagram{from: c.addr, data: append([]byte(nil), p...)}
	for _, delay := range delays {
		if delay == 0 {
			dst.deliver(d)
		} else {
			time.AfterFunc(delay, func() { dst.deliver(d) })
		}
	}
	return nil
}

func (c *memConn) deliver(d memDatagram) {
	select {
	case <-c.done:
	case c.inbox <- d:
	default: // queue full: dropped, as a socket buffer would
	}
}

func (c *memConn) LocalAddr() netip.AddrPort { return c.addr }

func (c *memConn) Close() error {
	err := errors.New("already closed")
	c.closeOnce.Do(func() {
		close(c.done)
		c.net.mu.Lock()
		delete(c.net.nodes, c.addr)
		c.net.mu.Unlock()
		err = nil
	})
	return err
}
