package peerster

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
)

// With a store (Config.Store), what the gossiper says is held back until
// the state it reflects is on disk: a client message is stored before its
// CLIENT MESSAGE line is printed and before it is gossiped, and a rumor is
// stored before a status that counts it is sent, so a SIGKILL at any moment
// loses nothing that was acknowledged. Each step (a packet, a timeout, a
// command) that changed the store ends with a Barrier; its lines and
// datagrams, and those of every later step, go out once the barrier has
// run. Steps that change nothing wait only behind earlier held ones, to
// keep their order. Commits are grouped by the store, so a burst of client
// messages costs one fsync per batch, not one each.

// stepOutput is what one step printed and sent.
type stepOutput struct {
	lines []string
	sends []datagram
}

type datagram struct {
	to netip.AddrPort
	b  []byte
}

// heldOutput waits for its barrier.
type heldOutput struct {
	steps   []stepOutput
	durable bool
	// added marks the rumors stored when the barrier was set.
	added uint64
}

// endStep sends what the step produced, or holds it until it is durable.
func (g *Gossiper) endStep() {
	out := stepOutput{lines: g.pending, sends: g.sends}
	g.pending, g.sends = nil, nil
	if len(out.lines) == 0 && len(out.sends) == 0 && !g.dirty {
		return
	}
	if g.dirty {
		g.dirty = false
		h := &heldOutput{steps: []stepOutput{out}, added: g.store.added()}
		g.held = append(g.held, h)
		g.cfg.Store.Barrier(func() {
			g.post(func() {
				h.durable = true
				g.releaseHeld()
			})
		})
		return
	}
	if n := len(g.held); n > 0 {
		g.held[n-1].steps = append(g.held[n-1].steps, out)
		return
	}
	g.emit(out)
}

// releaseHeld sends, in order, every held output whose barrier has run.
func (g *Gossiper) releaseHeld() {
	for len(g.held) > 0 && g.held[0].durable {
		g.store.markCommitted(g.held[0].added)
		for _, out := range g.held[0].steps {
			g.emit(out)
		}
		g.held[0] = nil
		g.held = g.held[1:]
	}
}

func (g *Gossiper) emit(out stepOutput) {
	for _, d := range out.sends {
		g.transmit(d.to, d.b)
	}
	if len(out.lines) > 0 {
		g.host.Print(ProtocolName, out.lines...)
	}
}

// Keys of the Peerster namespace. Origins are length-prefixed, since a
// name may hold any byte, and IDs big-endian, so that a prefix scan
// returns an origin's rumors in ID order.
const (
	rumorKeyPrefix  = 'r' // 'r' len(origin):2 origin id:4 -> the rumor's datagram
	issuedKeyPrefix = 'i' // 'i' origin -> the highest ID we issued, 4 bytes
)

func rumorKey(origin string, id uint32) []byte {
	k := make([]byte, 0, 1+2+len(origin)+4)
	k = append(k, rumorKeyPrefix)
	k = binary.BigEndian.AppendUint16(k, uint16(len(origin)))
	k = append(k, origin...)
	return binary.BigEndian.AppendUint32(k, id)
}

func parseRumorKey(k []byte) (origin string, id uint32, ok bool) {
	if len(k) < 1+2+4 || k[0] != rumorKeyPrefix {
		return "", 0, false
	}
	n := int(binary.BigEndian.Uint16(k[1:3]))
	if len(k) != 1+2+n+4 {
		return "", 0, false
	}
	return string(k[3 : 3+n]), binary.BigEndian.Uint32(k[3+n:]), true
}

func issuedKey(origin string) []byte { return append([]byte{issuedKeyPrefix}, origin...) }

// persistRumor queues a stored rumor's datagram for the disk.
func (g *Gossiper) persistRumor(r *messages.RumorMessage) {
	if g.cfg.Store == nil {
		return
	}
	g.cfg.Store.Put(rumorKey(r.Origin, r.ID), g.store.packet(vclock.Message{Origin: r.Origin, ID: r.ID}))
	g.dirty = true
}

// unpersistRumor removes a rumor given up by rewind.
func (g *Gossiper) unpersistRumor(origin string, id uint32) {
	if g.cfg.Store == nil {
		return
	}
	g.cfg.Store.Delete(rumorKey(origin, id))
	g.dirty = true
}

// persistIssued records the highest ID we gave a rumor of origin, so that
// after a restart a forgery above it is still told apart from our own.
func (g *Gossiper) persistIssued(origin string, id uint32) {
	if g.cfg.Store == nil {
		return
	}
	g.cfg.Store.Put(issuedKey(origin), binary.BigEndian.AppendUint32(nil, id))
	g.dirty = true
}

// loadState reads which rumors and issued IDs the store keeps. Datagrams
// stay on disk (store.packet reads them); only the keys are read, so start
// up takes little time and memory whatever the history. A key that does
// not parse, or a gap, is an error naming the key: a damaged store is never
// silently reset.
func (g *Gossiper) loadState(ns *gossiper.Namespace) error {
	err := ns.ForEach([]byte{rumorKeyPrefix}, func(k, v []byte) error {
		origin, id, ok := parseRumorKey(k)
		if !ok || len(v) == 0 {
			return fmt.Errorf("peerster store: key %q: not a rumor", k)
		}
		if id != g.store.next(origin) {
			return fmt.Errorf("peerster store: key %q: rumor %s/%d follows a gap", k, gossiper.Printable(origin), id)
		}
		g.store.vector.Advance(origin, id+1)
		if id == 1 {
			// Admitted when it first came; this only counts its entry.
			g.origins.admit(origin, netip.AddrPort{}, true, g.cfg.Clock.Now())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ns.ForEach([]byte{issuedKeyPrefix}, func(k, v []byte) error {
		if len(v) != 4 {
			return fmt.Errorf("peerster store: key %q: issued ID of %d bytes, want 4", k, len(v))
		}
		g.issued[string(k[1:])] = binary.BigEndian.Uint32(v)
		return nil
	})
}
