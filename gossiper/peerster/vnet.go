package peerster

import (
	"container/heap"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// VirtualNet runs many gossipers on the caller's goroutine in virtual time:
// a discrete-event simulation of the real protocol code. Each gossiper is
// driven step by step as its Run loop would drive it (a datagram, a timer,
// a command), but no goroutine is started and no wall-clock time passes, so
// 10,000 nodes with one-second ack timeouts run in seconds and every run
// is reproducible from its seed. MemNetwork, by contrast, runs each
// gossiper on its own goroutines against the real clock.
//
// A VirtualNet is not safe for concurrent use; it belongs to the goroutine
// that calls Run.
type VirtualNet struct {
	// Link gives the conditions of the link from one node to another (by
	// index); nil applies DefaultLink to every link.
	Link func(from, to int) Link
	// DefaultLink is the link of every pair when Link is nil.
	DefaultLink Link
	// OnSend, when set, sees every datagram a gossiper writes, before the
	// link's loss, with the type of its field (rumor, status, simple).
	OnSend func(from, to int, kind string, size int)
	// OnStore, when set, sees every message a node stores for the first
	// time, at the virtual time it happens.
	OnStore func(node int, origin string, id uint32, at time.Time)

	start  time.Time
	now    time.Time
	rng    *rand.Rand
	seq    uint64
	events eventQueue
	nodes  []*vnode
	byAddr map[netip.AddrPort]int
}

// Link is what a datagram meets between two nodes: it is lost with
// probability Loss, else delivered twice with probability Duplicate, each
// copy after Latency plus a uniform random part of Jitter (which reorders
// datagrams when Jitter is larger than their spacing).
type Link struct {
	Loss      float64
	Duplicate float64
	Latency   time.Duration
	Jitter    time.Duration
}

type vnode struct {
	net  *VirtualNet
	idx  int
	addr netip.AddrPort
	g    *Gossiper
}

// NewVirtualNet returns an empty network whose link draws come from seed.
// Virtual time starts at a fixed instant, so runs do not depend on the date.
func NewVirtualNet(seed int64) *VirtualNet {
	start := time.Date(2018, time.October, 1, 0, 0, 0, 0, time.UTC)
	return &VirtualNet{start: start, now: start, rng: rand.New(rand.NewSource(seed)), byAddr: make(map[netip.AddrPort]int)}
}

// VirtualAddr is the address of node i: 10.x.y.z:5000, unique below 2^24.
func VirtualAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5000)
}

// Add creates node i (the next index) at VirtualAddr(i) with cfg; the
// network supplies its clock and transport. Peers in cfg are addresses, so
// a node may be told about nodes added after it.
func (v *VirtualNet) Add(cfg Config) (int, error) {
	i := len(v.nodes)
	n := &vnode{net: v, idx: i, addr: VirtualAddr(i)}
	cfg.Clock = virtualClock{n}
	g, err := New(cfg, vtransport{n}, newVHost(n))
	if err != nil {
		return 0, fmt.Errorf("virtual node %d: %w", i, err)
	}
	n.g = g
	v.nodes = append(v.nodes, n)
	v.byAddr[n.addr] = i
	g.begin()
	// What begin posted runs once the network starts, when every node
	// added before it runs exists.
	v.schedule(0, func() { n.run(func() {}) })
	return i, nil
}

// Len is the number of nodes.
func (v *VirtualNet) Len() int { return len(v.nodes) }

// Elapsed is the virtual time since the network was made.
func (v *VirtualNet) Elapsed() time.Duration { return v.now.Sub(v.start) }

// Say has node i send text as a client message, at the current virtual time.
func (v *VirtualNet) Say(i int, text string) error {
	n := v.nodes[i]
	var err error
	n.run(func() { err = n.g.originate(text, true) })
	return err
}

// Run processes events in time order until none is left, virtual time
// would pass until, or done (checked after every event) reports true. It
// reports whether done ended it.
func (v *VirtualNet) Run(until time.Duration, done func() bool) bool {
	limit := v.start.Add(until)
	for v.events.Len() > 0 {
		ev := v.events[0]
		if ev.at.After(limit) {
			v.now = limit
			return false
		}
		heap.Pop(&v.events)
		if ev.cancelled {
			continue
		}
		v.now = ev.at
		ev.fire()
		if done != nil && done() {
			return true
		}
	}
	return false
}

// AdvanceTo runs every event due up to the virtual instant t after the
// network was made and leaves the clock there, even if nothing was due:
// nodes added next start at t.
func (v *VirtualNet) AdvanceTo(t time.Duration) {
	v.Run(t, nil)
	if at := v.start.Add(t); v.now.Before(at) {
		v.now = at
	}
}

// Pending reports whether any event (a datagram in flight, a timer) is left.
func (v *VirtualNet) Pending() bool {
	for _, ev := range v.events {
		if !ev.cancelled {
			return true
		}
	}
	return false
}

func (v *VirtualNet) schedule(d time.Duration, f func()) *event {
	v.seq++
	ev := &event{at: v.now.Add(d), seq: v.seq, fire: f}
	heap.Push(&v.events, ev)
	return ev
}

// run does one step of n's gossiper and then the steps its timers or
// commands posted meanwhile, as its Run loop would.
func (n *vnode) run(f func()) {
	n.g.step(f)
	for {
		select {
		case f := <-n.g.in:
			n.g.step(f)
		default:
			return
		}
	}
}

func (n *vnode) deliver(from netip.AddrPort, b []byte) {
	if pkt := n.g.decode(from, b); pkt != nil {
		n.run(func() { n.g.handlePacket(from, pkt) })
	}
}

// virtualClock is a node's view of virtual time. A timer's function runs as the
// real clock's would, on its own; the gossiper's timer functions post a
// step, which the node then runs.
type virtualClock struct{ n *vnode }

func (c virtualClock) Now() time.Time { return c.n.net.now }

func (c virtualClock) AfterFunc(d time.Duration, f func()) gossiper.Timer {
	n := c.n
	return n.net.schedule(d, func() {
		f()
		n.run(func() {})
	})
}

// vtransport writes into the virtual network; a gossiper in it is never
// read from, since the network delivers by calling it.
type vtransport struct{ n *vnode }

func (t vtransport) ReadFrom([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, net.ErrClosed
}

func (t vtransport) WriteTo(p []byte, to netip.AddrPort) error {
	v := t.n.net
	dst, ok := v.byAddr[to]
	if v.OnSend != nil {
		d := -1
		if ok {
			d = dst
		}
		v.OnSend(t.n.idx, d, packetType(p), len(p))
	}
	if !ok {
		return nil // like UDP: nobody listening is not the sender's error
	}
	link := v.DefaultLink
	if v.Link != nil {
		link = v.Link(t.n.idx, dst)
	}
	copies := 1
	if v.rng.Float64() < link.Loss {
		copies = 0
	} else if v.rng.Float64() < link.Duplicate {
		copies = 2
	}
	// Senders never reuse a datagram's bytes (statuses are rebuilt, not
	// rewritten), so every copy can share them.
	from, node := t.n.addr, v.nodes[dst]
	for range copies {
		d := link.Latency
		if link.Jitter > 0 {
			d += time.Duration(v.rng.Int63n(int64(link.Jitter)))
		}
		v.schedule(d, func() { node.deliver(from, p) })
	}
	return nil
}

func (t vtransport) LocalAddr() netip.AddrPort { return t.n.addr }

func (t vtransport) Close() error { return nil }

// vhost is a node's host: it reports stored messages and discards lines.
type vhost struct {
	n       *vnode
	metrics *gossiper.Metrics
}

func newVHost(n *vnode) *vhost { return &vhost{n: n, metrics: gossiper.NewCounterMetrics()} }

func (h *vhost) Print(string, ...string)                {}
func (h *vhost) Retract(string, string, uint32, uint32) {}
func (h *vhost) Publish(gossiper.Event)                 {}
func (h *vhost) Metrics() *gossiper.Metrics             { return h.metrics }
func (h *vhost) Record(m gossiper.ChatMessage) {
	if v := h.n.net; v.OnStore != nil {
		v.OnStore(h.n.idx, m.Origin, m.ID, v.now)
	}
}

// event is a datagram arrival or a timer. Events at the same instant run in
// the order they were scheduled.
type event struct {
	at        time.Time
	seq       uint64
	fire      func()
	cancelled bool
	index     int
}

// Stop implements gossiper.Timer.
func (e *event) Stop() bool {
	was := !e.cancelled && e.index >= 0
	e.cancelled = true
	return was
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *eventQueue) Push(x any) {
	e := x.(*event)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
