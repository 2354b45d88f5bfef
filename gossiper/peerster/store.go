package peerster

import (
	"fmt"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
)

// store keeps every rumor we have, per origin without gaps, and the status
// vector that summarises it. Rumors are kept as the datagrams that carry
// them, encoded once: a rumor is sent many times (every monger, flip and
// repair), and encoding by reflection was the largest cost of a burst.
// Rumors are only ever added, never replaced, except our own when we
// restarted without our data and reused IDs (truncate).
type store struct {
	rumors map[string][][]byte // origin -> encoded rumor packets, index ID-1
	vector *vclock.Vector
}

func newStore() *store {
	return &store{rumors: make(map[string][][]byte), vector: vclock.New()}
}

// add stores r if it is the next one of its origin and reports whether it
// did. A rumor past a gap is not stored: anti-entropy will bring the missing
// ones in order.
func (s *store) add(r *messages.RumorMessage) (bool, error) {
	if r.ID == 0 || r.ID != s.vector.Next(r.Origin) {
		return false, nil
	}
	b, err := messages.EncodePacket(&messages.GossipPacket{Rumor: r})
	if err != nil {
		return false, fmt.Errorf("store rumor %s/%d: %w", r.Origin, r.ID, err)
	}
	s.rumors[r.Origin] = append(s.rumors[r.Origin], b)
	s.vector.Advance(r.Origin, r.ID+1)
	return true, nil
}

// packet is the datagram of a stored rumor, or nil.
func (s *store) packet(m vclock.Message) []byte {
	list := s.rumors[m.Origin]
	if m.ID == 0 || int(m.ID) > len(list) {
		return nil
	}
	return list[m.ID-1]
}

func (s *store) next(origin string) uint32 { return s.vector.Next(origin) }

// truncate forgets origin's rumors from id on: only our own, when we find
// we reused IDs the network held (restart.go).
func (s *store) truncate(origin string, id uint32) {
	if list := s.rumors[origin]; id >= 1 && int(id) <= len(list) {
		clear(list[id-1:])
		s.rumors[origin] = list[:id-1]
		s.vector.Rewind(origin, id)
	}
}
