package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"go.dedis.ch/protobuf"
)

// quirks are behaviours of published 2018–2019 Peersters that ours must
// live with in one network.
type quirks struct {
	// zeroBased numbers the node's own rumors from 0, and its status
	// counts them from 0 (vquelque/peerster). Unlike vquelque, which takes
	// only ID 0 as an origin's first rumor and so never stores ours, it
	// also takes ID 0 of another origin numbering from 0: otherwise no
	// message could cross it in a ring.
	zeroBased bool
	// staleFields decodes every packet into one reused struct and sends
	// that struct: each packet it sends also carries the fields of
	// earlier ones (Ledz96/Peerster).
	staleFields bool
	// quiet sends no anti-entropy: a status only as an ack or to ask for
	// what a peer has.
	quiet bool
}

// handoutNode is a Peerster written from the 2018 handout, as most students
// wrote it, with quirks switched on one by one. It stands in for another
// implementation in rings with ours.
type handoutNode struct {
	name string
	self netip.AddrPort
	tr   Transport
	q    quirks
	ack  time.Duration

	mu      sync.Mutex
	rng     *rand.Rand
	peers   []netip.AddrPort
	next    map[string]uint32 // NextID per origin, as its status says it
	rumors  map[string]map[uint32]*messages.RumorMessage
	waiting map[netip.AddrPort]*time.Timer
	reused  messages.GossipPacket // staleFields
	done    chan struct{}
}

func startHandoutNode(t *testing.T, n *MemNetwork, name, self string, peers []string, q quirks, ack, antiEntropy time.Duration, seed int64) *handoutNode {
	t.Helper()
	tr, err := n.Listen(addr(self))
	if err != nil {
		t.Fatal(err)
	}
	h := &handoutNode{
		name: name, self: addr(self), tr: tr, q: q, ack: ack,
		rng: rand.New(rand.NewSource(seed)), next: map[string]uint32{},
		rumors: map[string]map[uint32]*messages.RumorMessage{}, waiting: map[netip.AddrPort]*time.Timer{},
		done: make(chan struct{}),
	}
	for _, p := range peers {
		h.peers = append(h.peers, addr(p))
	}
	if q.zeroBased {
		h.next[name] = 0
	}
	go h.readLoop()
	if !q.quiet && antiEntropy > 0 {
		go h.antiEntropy(antiEntropy)
	}
	t.Cleanup(func() {
		close(h.done)
		tr.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, tm := range h.waiting {
			tm.Stop()
		}
	})
	return h
}

// nextID is origin's NextID: for an origin never seen, 1, except the node's
// own when it numbers from 0.
func (h *handoutNode) nextID(origin string) uint32 {
	if n, ok := h.next[origin]; ok {
		return n
	}
	return 1
}

func (h *handoutNode) say(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := &messages.RumorMessage{Origin: h.name, ID: h.nextID(h.name), Text: text}
	h.store(r)
	if p, ok := h.randomPeer(netip.AddrPort{}); ok {
		h.monger(p, r)
	}
}

func (h *handoutNode) store(r *messages.RumorMessage) {
	if h.rumors[r.Origin] == nil {
		h.rumors[r.Origin] = map[uint32]*messages.RumorMessage{}
	}
	h.rumors[r.Origin][r.ID] = r
	h.next[r.Origin] = r.ID + 1
}

// holds reports whether the node stored origin's message id.
func (h *handoutNode) holds(origin string, id uint32) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.rumors[origin][id]
	return ok
}

func (h *handoutNode) readLoop() {
	buf := make([]byte, 64<<10)
	for {
		k, from, err := h.tr.ReadFrom(buf)
		if err != nil {
			return
		}
		pkt := &messages.GossipPacket{}
		if err := protobuf.Decode(buf[:k], pkt); err != nil {
			continue
		}
		h.mu.Lock()
		h.addPeer(from)
		// Like the handout's switch: one field is acted on.
		switch {
		case pkt.Rumor != nil:
			h.onRumor(from, pkt.Rumor)
		case pkt.Status != nil:
			h.onStatus(from, pkt.Status)
		}
		h.mu.Unlock()
	}
}

func (h *handoutNode) addPeer(p netip.AddrPort) {
	for _, x := range h.peers {
		if x == p {
			return
		}
	}
	h.peers = append(h.peers, p)
}

func (h *handoutNode) onRumor(from netip.AddrPort, r *messages.RumorMessage) {
	_, known := h.next[r.Origin]
	isNew := r.ID == h.nextID(r.Origin) || (h.q.zeroBased && !known && r.ID == 0)
	if isNew {
		h.store(r)
	}
	h.send(from, &messages.GossipPacket{Status: h.status()})
	if isNew {
		if p, ok := h.randomPeer(from); ok {
			h.monger(p, r)
		}
	}
}

func (h *handoutNode) onStatus(from netip.AddrPort, s *messages.StatusPacket) {
	ackOf := h.waiting[from]
	if ackOf != nil {
		ackOf.Stop()
		delete(h.waiting, from)
	}
	theirs := map[string]uint32{}
	for _, ps := range s.Want {
		theirs[ps.Identifier] = ps.NextID
	}
	origins := make([]string, 0, len(h.next))
	for o := range h.next {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, o := range origins {
		want, named := theirs[o]
		if !named {
			want = 1
			if o == h.name && h.q.zeroBased {
				want = 0
			}
		}
		if r := h.rumors[o][want]; r != nil && want < h.next[o] {
			h.monger(from, r)
			return
		}
	}
	for o, n := range theirs {
		if n > h.nextID(o) {
			h.send(from, &messages.GossipPacket{Status: h.status()})
			return
		}
	}
	if ackOf != nil && h.rng.Intn(2) == 0 {
		if p, ok := h.randomPeer(from); ok {
			// The handout flips for the rumor of the exchange; any
			// held rumor does for this stand-in.
			for _, o := range origins {
				if r := h.rumors[o][h.next[o]-1]; r != nil {
					h.monger(p, r)
					return
				}
			}
		}
	}
}

func (h *handoutNode) monger(to netip.AddrPort, r *messages.RumorMessage) {
	h.send(to, &messages.GossipPacket{Rumor: r})
	if old := h.waiting[to]; old != nil {
		old.Stop()
	}
	h.waiting[to] = time.AfterFunc(h.ack, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.waiting, to)
	})
}

func (h *handoutNode) status() *messages.StatusPacket {
	s := &messages.StatusPacket{}
	for o, n := range h.next {
		if n == 0 {
			continue
		}
		s.Want = append(s.Want, messages.PeerStatus{Identifier: o, NextID: n})
	}
	return s
}

func (h *handoutNode) send(to netip.AddrPort, pkt *messages.GossipPacket) {
	if h.q.staleFields {
		if pkt.Rumor != nil {
			h.reused.Rumor = pkt.Rumor
		}
		if pkt.Status != nil {
			h.reused.Status = pkt.Status
		}
		pkt = &h.reused
	}
	b, err := protobuf.Encode(pkt)
	if err != nil {
		panic(fmt.Sprintf("handout node %s: %v", h.name, err))
	}
	h.tr.WriteTo(b, to)
}

func (h *handoutNode) randomPeer(exclude netip.AddrPort) (netip.AddrPort, bool) {
	var c []netip.AddrPort
	for _, p := range h.peers {
		if p != exclude {
			c = append(c, p)
		}
	}
	if len(c) == 0 {
		return netip.AddrPort{}, false
	}
	return c[h.rng.Intn(len(c))], true
}

func (h *handoutNode) antiEntropy(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
			h.mu.Lock()
			if p, ok := h.randomPeer(netip.AddrPort{}); ok {
				h.send(p, &messages.GossipPacket{Status: h.status()})
			}
			h.mu.Unlock()
		}
	}
}
