// Package vclock is the status vector of Peerster: for every origin, the
// lowest message ID not seen yet (NextID). It decides what two nodes should
// exchange after comparing notes.
package vclock

import (
	"sort"

	"github.com/peerster-chat/Peerster/messages"
)

// Vector maps origins to their NextID. An origin that is absent has NextID 1
// (nothing seen). Origins are kept sorted so that comparisons and the status
// packets we send are the same on every run.
//
// Most nodes number their rumors from 1; some published ones number from 0
// (and their statuses count from 0: NextID 1 after one rumor). Such an
// origin is followed in its own numbering: once its ID 0 is held, the origin
// is "zero-based", its entry may say NextID 1, and a peer whose status does
// not name it lacks ID 0. NextID means the same in both numberings: the
// lowest ID not seen.
type Vector struct {
	next    map[string]uint32
	origins []string
	// zero holds the zero-based origins whose ID 0 is held.
	zero map[string]bool
}

// New returns an empty vector.
func New() *Vector {
	return &Vector{next: make(map[string]uint32), zero: make(map[string]bool)}
}

// Next is the lowest ID of origin not seen yet.
func (v *Vector) Next(origin string) uint32 {
	if n, ok := v.next[origin]; ok {
		return n
	}
	return 1
}

// Has reports whether the message (origin, id) is covered by the vector.
func (v *Vector) Has(origin string, id uint32) bool {
	if id == 0 {
		return v.zero[origin]
	}
	return id < v.Next(origin)
}

// Knows reports whether any message of origin is covered.
func (v *Vector) Knows(origin string) bool {
	_, ok := v.next[origin]
	return ok
}

// ZeroBased reports whether origin numbers from 0 (its ID 0 is held).
func (v *Vector) ZeroBased(origin string) bool { return v.zero[origin] }

// lowest is the first ID of origin's numbering as far as v knows.
func (v *Vector) lowest(origin string) uint32 {
	if v.zero[origin] {
		return 0
	}
	return 1
}

// Advance raises origin's NextID to next; it never lowers it, so stale or
// reordered statuses cannot make us forget what a peer has.
func (v *Vector) Advance(origin string, next uint32) {
	if next <= v.Next(origin) {
		return
	}
	v.insert(origin)
	v.next[origin] = next
}

// Add covers one message: for ID 0 it makes the origin zero-based, for any
// other ID it is Advance(origin, id+1).
func (v *Vector) Add(m Message) {
	if m.ID != 0 {
		v.Advance(m.Origin, m.ID+1)
		return
	}
	v.zero[m.Origin] = true
	if !v.Knows(m.Origin) {
		v.insert(m.Origin)
		v.next[m.Origin] = 1
	}
}

func (v *Vector) insert(origin string) {
	if v.Knows(origin) {
		return
	}
	i := sort.SearchStrings(v.origins, origin)
	v.origins = append(v.origins, "")
	copy(v.origins[i+1:], v.origins[i:])
	v.origins[i] = origin
}

// Rewind lowers origin's NextID to next, forgetting what was seen from it
// onwards. Only a node that finds it reused its own IDs after a restart
// does this, to fetch the network's messages for them.
func (v *Vector) Rewind(origin string, next uint32) {
	if next >= v.Next(origin) {
		return
	}
	if next > 1 || (next == 1 && v.zero[origin]) {
		v.next[origin] = next
		return
	}
	delete(v.next, origin)
	delete(v.zero, origin)
	i := sort.SearchStrings(v.origins, origin)
	v.origins = append(v.origins[:i], v.origins[i+1:]...)
}

// Len is the number of origins with at least one message seen.
func (v *Vector) Len() int { return len(v.origins) }

// Origins returns the known origins in sorted order. The slice must not be
// modified.
func (v *Vector) Origins() []string { return v.origins }

// Status is the vector as it goes on the wire, origins sorted.
func (v *Vector) Status() *messages.StatusPacket {
	want := make([]messages.PeerStatus, len(v.origins))
	for i, o := range v.origins {
		want[i] = messages.PeerStatus{Identifier: o, NextID: v.next[o]}
	}
	return &messages.StatusPacket{Want: want}
}

// Message names one rumor.
type Message struct {
	Origin string
	ID     uint32
}

// Comparison is what one side of an exchange should do next.
type Comparison struct {
	// Lacking is, for every origin the peer lacks messages of, the lowest
	// missing ID, origins sorted. Sending in ID order matters because
	// receivers store only without gaps; any origin may go first, and a
	// sender that always sent the first could be stuck behind a message
	// the peer refuses (a new origin over its quota).
	Lacking []Message
	// TheyHaveMore is set when the peer has a message we lack.
	TheyHaveMore bool
}

// Compare compares our vector with a peer's status. It also returns what the
// status says about the origins we have, which is all the caller needs to
// remember of it: a hostile status may name 10,000 origins, and neither the
// comparison nor the memory kept should grow with them. Entries may come in
// any order (2018 nodes sent Go map order); a repeated origin counts with its
// highest NextID, and NextID 0, which no honest node sends, as nothing seen.
//
// For an origin we hold from ID 0, an entry of NextID n says the peer has IDs
// 0 to n-1, and no entry says it lacks ID 0; for any other origin NextID 1
// is nothing seen, as the handout has it.
func Compare(mine *Vector, want []messages.PeerStatus) (Comparison, *Vector) {
	var c Comparison
	theirs := New()
	for _, ps := range want {
		o := ps.Identifier
		if ps.NextID > mine.Next(o) {
			c.TheyHaveMore = true
		}
		if mine.Knows(o) && ps.NextID > mine.lowest(o) && ps.NextID > theirs.next[o] {
			theirs.next[o] = ps.NextID
		}
	}
	// Our origins are sorted, so appending in their order keeps theirs
	// sorted too.
	for _, o := range mine.origins {
		tn, ok := theirs.next[o]
		if ok {
			theirs.origins = append(theirs.origins, o)
			if mine.zero[o] {
				theirs.zero[o] = true
			}
		} else {
			tn = mine.lowest(o)
		}
		if tn < mine.next[o] {
			c.Lacking = append(c.Lacking, Message{Origin: o, ID: tn})
		}
	}
	return c, theirs
}
