package peerster

import (
	"github.com/peerster-chat/Peerster/messages"
	"github.com/peerster-chat/Peerster/vclock"
)

// store keeps every rumor we have, per origin without gaps, and the status
// vector that summarises it. Rumors are only ever added, never replaced.
type store struct {
	rumors map[string][]*messages.RumorMessage // origin -> rumors, index ID-1
	vector *vclock.Vector
}

func newStore() *store {
	return &store{rumors: make(map[string][]*messages.RumorMessage), vector: vclock.New()}
}

// add stores r if it is the next one of its origin. A rumor past a gap is not
// stored: anti-entropy will bring the missing ones in order.
func (s *store) add(r *messages.RumorMessage) bool {
	if r.ID == 0 || r.ID != s.vector.Next(r.Origin) {
		return false
	}
	s.rumors[r.Origin] = append(s.rumors[r.Origin], r)
	s.vector.Advance(r.Origin, r.ID+1)
	return true
}

func (s *store) get(m vclock.Message) *messages.RumorMessage {
	list := s.rumors[m.Origin]
	if m.ID == 0 || int(m.ID) > len(list) {
		return nil
	}
	return list[m.ID-1]
}

func (s *store) next(origin string) uint32 { return s.vector.Next(origin) }
