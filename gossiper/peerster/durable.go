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
	g.transmitAll(out.sends)
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
	// 'v' origin -> the origin's NextID, 4 bytes: the status vector, so
	// that start-up reads it instead of every rumor's key (a scan would
	// read every page of the file).
	vectorKeyPrefix = 'v'
	// 'z' origin -> empty: the origin numbers from 0 and its ID 0 is held
	// (vclock.Vector); its 'v' key exists only from NextID 2 on.
	zeroKeyPrefix = 'z'
)

func vectorKey(origin string) []byte { return append([]byte{vectorKeyPrefix}, origin...) }

// persistNext records origin's NextID, in the same step as the rumors.
func (g *Gossiper) persistNext(origin string) {
	if next := g.store.next(origin); next > 1 {
		g.cfg.Store.Put(vectorKey(origin), binary.BigEndian.AppendUint32(nil, next))
	} else {
		g.cfg.Store.Delete(vectorKey(origin))
	}
}

func rumorKey(origin string, id uint32) []byte {
	k := make([]byte, 0, 1+2+len(origin)+4)
	k = append(k, rumorKeyPrefix)
	k = binary.BigEndian.AppendUint16(k, uint16(len(origin)))
	k = append(k, origin...)
	return binary.BigEndian.AppendUint32(k, id)
}

func zeroKey(origin string) []byte { return append([]byte{zeroKeyPrefix}, origin...) }

func issuedKey(origin string) []byte { return append([]byte{issuedKeyPrefix}, origin...) }

// persistRumor queues a stored rumor's datagram for the disk.
func (g *Gossiper) persistRumor(r *messages.RumorMessage) {
	if g.cfg.Store == nil {
		return
	}
	g.cfg.Store.Put(rumorKey(r.Origin, r.ID), g.store.packet(vclock.Message{Origin: r.Origin, ID: r.ID}))
	if r.ID == 0 {
		g.cfg.Store.Put(zeroKey(r.Origin), []byte{})
	}
	g.persistNext(r.Origin)
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

// truncate gives up origin's rumors from id on, in memory and on disk.
func (g *Gossiper) truncate(origin string, id uint32) {
	g.store.truncate(origin, id)
	if g.cfg.Store != nil {
		g.persistNext(origin)
		g.dirty = true
	}
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

// loadState reads the status vector and our issued IDs from the store.
// Datagrams stay on disk (store.packet reads them), and start-up reads one
// key per origin, so it takes little time and memory whatever the history.
// A key or value that does not decode is an error naming it: a damaged
// store is never silently reset.
func (g *Gossiper) loadState(ns *gossiper.Namespace) error {
	err := ns.ForEach([]byte{vectorKeyPrefix}, func(k, v []byte) error {
		if len(v) != 4 || binary.BigEndian.Uint32(v) < 2 {
			return fmt.Errorf("peerster store: key %q: not a NextID", k)
		}
		origin := string(k[1:])
		g.store.vector.Advance(origin, binary.BigEndian.Uint32(v))
		// Admitted when it first came; this only counts its entry.
		g.origins.admit(origin, netip.AddrPort{}, true, g.cfg.Clock.Now())
		return nil
	})
	if err != nil {
		return err
	}
	err = ns.ForEach([]byte{zeroKeyPrefix}, func(k, v []byte) error {
		origin := string(k[1:])
		if !g.store.vector.Knows(origin) {
			g.origins.admit(origin, netip.AddrPort{}, true, g.cfg.Clock.Now())
		}
		g.store.vector.Add(vclock.Message{Origin: origin, ID: 0})
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
