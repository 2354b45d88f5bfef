package peerster

import (
	"fmt"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
)

// store keeps every rumor we have, per origin without gaps, and the status
// vector that summarises it. Rumors are kept as the datagrams that carry
// them, encoded once: a rumor is sent many times (every monger, flip and
// repair), and encoding by reflection was the largest cost of a burst.
// Rumors are only ever added, never replaced, except our own when we
// restarted without our data and reused IDs (truncate).
//
// Without a namespace every datagram is kept in memory. With one, the
// namespace is the source of datagrams and memory holds only the vector
// and the recent ones, which may not be committed yet: a node with 100,000
// stored rumors starts and runs in about the memory of an empty one.
type store struct {
	vector *vclock.Vector
	// rumors is every datagram (origin -> index ID-1), without a namespace,
	// and zeros the ID-0 datagram of each zero-based origin.
	rumors map[string][][]byte
	zeros  map[string][]byte
	ns     *gossiper.Namespace
	// recent holds, with a namespace, the datagrams added lately; order
	// lists them oldest first, each numbered by seq, and those numbered up
	// to committed are on disk and may go.
	recent    map[vclock.Message]recentRumor
	order     []recentRumor
	seq       uint64
	committed uint64
}

type recentRumor struct {
	msg vclock.Message
	b   []byte
	seq uint64
}

// recentKept is how many datagrams stay in memory past their commit: the
// ones gossip is still spreading.
const recentKept = 1024

func newStore(ns *gossiper.Namespace) *store {
	s := &store{vector: vclock.New(), ns: ns}
	if ns == nil {
		s.rumors = make(map[string][][]byte)
		s.zeros = make(map[string][]byte)
	} else {
		s.recent = make(map[vclock.Message]recentRumor)
	}
	return s
}

// add stores r if it is the next one of its origin, or the ID 0 of an
// origin numbering from 0, and reports whether it did. A rumor past a gap is
// not stored: anti-entropy will bring the missing ones in order.
func (s *store) add(r *messages.RumorMessage) (bool, error) {
	if !s.isNext(r) {
		return false, nil
	}
	b, err := messages.EncodePacket(&messages.GossipPacket{Rumor: r})
	if err != nil {
		return false, fmt.Errorf("store rumor %s/%d: %w", r.Origin, r.ID, err)
	}
	switch {
	case s.ns != nil:
		s.seq++
		rr := recentRumor{msg: vclock.Message{Origin: r.Origin, ID: r.ID}, b: b, seq: s.seq}
		s.recent[rr.msg] = rr
		s.order = append(s.order, rr)
	case r.ID == 0:
		s.zeros[r.Origin] = b
	default:
		s.rumors[r.Origin] = append(s.rumors[r.Origin], b)
	}
	s.vector.Add(vclock.Message{Origin: r.Origin, ID: r.ID})
	return true, nil
}

// isNext reports whether r would be stored: the next ID of its origin, or
// an ID 0 not held yet. ID 0 may come after later IDs, as mongering does not
// keep order; the origin's NextID stays as it was.
func (s *store) isNext(r *messages.RumorMessage) bool {
	if r.ID == 0 {
		return !s.vector.Has(r.Origin, 0)
	}
	return r.ID == s.vector.Next(r.Origin)
}

// markCommitted says the datagrams added up to mark (see added) are on
// disk, and lets the oldest of them go from memory.
func (s *store) markCommitted(mark uint64) {
	if s.ns == nil {
		return
	}
	s.committed = max(s.committed, mark)
	drop := 0
	for drop < len(s.order)-recentKept && s.order[drop].seq <= s.committed {
		// A rumor given up by truncate and added again is another
		// entry: only this one's own entry goes.
		if rr, ok := s.recent[s.order[drop].msg]; ok && rr.seq == s.order[drop].seq {
			delete(s.recent, rr.msg)
		}
		drop++
	}
	if drop > 0 {
		clear(s.order[:drop])
		s.order = append(s.order[:0:0], s.order[drop:]...)
	}
}

// added is a mark for markCommitted: every datagram added so far.
func (s *store) added() uint64 { return s.seq }

// packet is the datagram of a stored rumor, or nil.
func (s *store) packet(m vclock.Message) []byte {
	if !s.vector.Has(m.Origin, m.ID) {
		return nil
	}
	if s.ns == nil {
		if m.ID == 0 {
			return s.zeros[m.Origin]
		}
		return s.rumors[m.Origin][m.ID-1]
	}
	if rr, ok := s.recent[m]; ok {
		return rr.b
	}
	b, err := s.ns.Get(rumorKey(m.Origin, m.ID))
	if err != nil {
		return nil
	}
	return b
}

func (s *store) next(origin string) uint32 { return s.vector.Next(origin) }

// truncate forgets origin's rumors from id on: only our own, when we find
// we reused IDs the network held (restart.go).
func (s *store) truncate(origin string, id uint32) {
	next := s.vector.Next(origin)
	if id == 0 || id >= next {
		return
	}
	if s.ns == nil {
		list := s.rumors[origin]
		clear(list[id-1:])
		s.rumors[origin] = list[:id-1]
	} else {
		// Their entries in order are skipped by markCommitted.
		for i := id; i < next; i++ {
			delete(s.recent, vclock.Message{Origin: origin, ID: i})
		}
	}
	s.vector.Rewind(origin, id)
}
