package vclock

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/peerster-chat/Peerster/messages"
)

func vec(pairs ...any) *Vector {
	v := New()
	for i := 0; i < len(pairs); i += 2 {
		v.Advance(pairs[i].(string), uint32(pairs[i+1].(int)))
	}
	return v
}

func status(pairs ...any) []messages.PeerStatus {
	var want []messages.PeerStatus
	for i := 0; i < len(pairs); i += 2 {
		want = append(want, messages.PeerStatus{Identifier: pairs[i].(string), NextID: uint32(pairs[i+1].(int))})
	}
	return want
}

func TestCompare(t *testing.T) {
	cases := []struct {
		name         string
		mine         *Vector
		theirs       []messages.PeerStatus
		send         *Message
		theyHaveMore bool
	}{
		{"both empty", vec(), status(), nil, false},
		{"equal", vec("A", 3, "B", 2), status("B", 2, "A", 3), nil, false},
		{"they lack an origin", vec("A", 2), status(), &Message{Origin: "A", ID: 1}, false},
		{"they are behind", vec("A", 5), status("A", 3), &Message{Origin: "A", ID: 3}, false},
		{"we are behind", vec("A", 3), status("A", 5), nil, true},
		{"we lack an origin", vec(), status("Z", 2), nil, true},
		{"both ways", vec("A", 3, "B", 1), status("A", 2, "B", 4), &Message{Origin: "A", ID: 2}, true},
		{"first origin in sorted order", vec("C", 2, "A", 2, "B", 2), status(), &Message{Origin: "A", ID: 1}, false},
		{"skips origins they have", vec("A", 2, "B", 3), status("A", 2, "B", 2), &Message{Origin: "B", ID: 2}, false},
		{"their NextID 1 is nothing", vec("A", 2), status("A", 1, "B", 1), &Message{Origin: "A", ID: 1}, false},
		{"NextID 0 is nothing", vec("A", 2), status("A", 0), &Message{Origin: "A", ID: 1}, false},
		{"a repeated origin counts with its highest", vec("A", 3), status("A", 2, "A", 3, "A", 1), nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := Compare(c.mine, c.theirs)
			if !reflect.DeepEqual(first(got), c.send) || got.TheyHaveMore != c.theyHaveMore {
				t.Fatalf("Compare = {first lacking:%v TheyHaveMore:%v}, want {%v %v}", first(got), got.TheyHaveMore, c.send, c.theyHaveMore)
			}
		})
	}
}

// TestCompareExhaustive checks Compare against its definition for every pair
// of vectors over three origins with NextID 1..3, with the peer's entries in
// both orders.
func TestCompareExhaustive(t *testing.T) {
	origins := []string{"A", "B", "C"}
	var all [][3]uint32
	for a := uint32(1); a <= 3; a++ {
		for b := uint32(1); b <= 3; b++ {
			for c := uint32(1); c <= 3; c++ {
				all = append(all, [3]uint32{a, b, c})
			}
		}
	}
	for _, m := range all {
		mine := New()
		for i, o := range origins {
			mine.Advance(o, m[i])
		}
		for _, th := range all {
			var want []messages.PeerStatus
			for i, o := range origins {
				want = append(want, messages.PeerStatus{Identifier: o, NextID: th[i]})
			}
			reversed := []messages.PeerStatus{want[2], want[1], want[0]}
			var wantSend *Message
			wantMore := false
			for i, o := range origins {
				if wantSend == nil && th[i] < m[i] {
					wantSend = &Message{Origin: o, ID: th[i]}
				}
				if th[i] > m[i] {
					wantMore = true
				}
			}
			for _, st := range [][]messages.PeerStatus{want, reversed} {
				got, theirs := Compare(mine, st)
				if !reflect.DeepEqual(first(got), wantSend) || got.TheyHaveMore != wantMore {
					t.Fatalf("mine %v theirs %v: got %+v, want send %v more %v", m, st, got, wantSend, wantMore)
				}
				for i, o := range origins {
					if m[i] > 1 && theirs.Next(o) != th[i] {
						t.Fatalf("mine %v theirs %v: remembered %s=%d", m, st, o, theirs.Next(o))
					}
				}
			}
		}
	}
}

func TestCompareRemembersOnlyOurOrigins(t *testing.T) {
	mine := vec("A", 2, "C", 4)
	var want []messages.PeerStatus
	for i := 0; i < 10000; i++ {
		want = append(want, messages.PeerStatus{Identifier: fmt.Sprintf("h%05d", i), NextID: 7})
	}
	want = append(want, messages.PeerStatus{Identifier: "C", NextID: 3}, messages.PeerStatus{Identifier: "A", NextID: 2})
	c, theirs := Compare(mine, want)
	if !c.TheyHaveMore || first(c) == nil || *first(c) != (Message{Origin: "C", ID: 3}) {
		t.Fatalf("comparison %+v", c)
	}
	if !reflect.DeepEqual(theirs.Origins(), []string{"A", "C"}) || theirs.Next("C") != 3 {
		t.Fatalf("remembered %v", theirs.next)
	}
}

func TestStatusIsSortedAndSkipsNothingSeen(t *testing.T) {
	v := vec("C", 2, "A", 4, "B", 1)
	want := status("A", 4, "C", 2)
	if got := v.Status().Want; !reflect.DeepEqual(got, want) {
		t.Fatalf("status %v, want %v", got, want)
	}
}

func TestAdvanceNeverLowers(t *testing.T) {
	v := vec("A", 5)
	v.Advance("A", 2)
	if v.Next("A") != 5 || !v.Has("A", 4) || v.Has("A", 5) || v.Has("A", 0) {
		t.Fatalf("vector %v", v.next)
	}
}

func TestManyOriginsStaySorted(t *testing.T) {
	v := New()
	for i := 999; i >= 0; i-- {
		v.Advance(fmt.Sprintf("o%04d", i), 2)
	}
	o := v.Origins()
	for i := 1; i < len(o); i++ {
		if o[i-1] >= o[i] {
			t.Fatalf("origins out of order at %d: %q %q", i, o[i-1], o[i])
		}
	}
}

func TestCompareListsEveryOriginThePeerLacksAtItsFirstMissingID(t *testing.T) {
	mine := vec("A", 3, "B", 2, "C", 5, "D", 2)
	c, _ := Compare(mine, []messages.PeerStatus{{Identifier: "A", NextID: 3}, {Identifier: "C", NextID: 2}})
	want := []Message{{"B", 1}, {"C", 2}, {"D", 1}}
	if !reflect.DeepEqual(c.Lacking, want) {
		t.Fatalf("Lacking %v, want %v", c.Lacking, want)
	}
	if c, _ := Compare(mine, mine.Status().Want); c.Lacking != nil {
		t.Fatalf("in sync, yet Lacking %v", c.Lacking)
	}
}

func TestRewindForgetsFromTheIDOn(t *testing.T) {
	v := vec("A", 5, "B", 3)
	v.Rewind("A", 2)
	v.Rewind("B", 7) // never raises
	if v.Next("A") != 2 || v.Next("B") != 3 || !reflect.DeepEqual(v.Origins(), []string{"A", "B"}) {
		t.Fatalf("after rewinding A to 2: %v", v.Status())
	}
	v.Rewind("A", 1)
	if v.Next("A") != 1 || !reflect.DeepEqual(v.Origins(), []string{"B"}) {
		t.Fatalf("after rewinding A to 1: %v", v.Status())
	}
}

// first is the first message the peer lacks, in origin order, or nil.
func first(c Comparison) *Message {
	if len(c.Lacking) == 0 {
		return nil
	}
	return &c.Lacking[0]
}

// A node numbering from 0 (vquelque/peerster, 2019) says NextID 1 after its
// first rumor, ID 0; that is also what we say once we hold it.
func TestZeroBasedOriginFollowsItsOwnNumbering(t *testing.T) {
	v := New()
	v.Add(Message{Origin: "vq", ID: 0})
	if !v.Has("vq", 0) || v.Has("vq", 1) || v.Next("vq") != 1 || !v.ZeroBased("vq") {
		t.Fatalf("after ID 0: %v", v.Status())
	}
	if got, want := v.Status().Want, status("vq", 1); !reflect.DeepEqual(got, want) {
		t.Fatalf("status %v, want %v", got, want)
	}
	v.Add(Message{Origin: "vq", ID: 1})
	if !v.Has("vq", 1) || v.Next("vq") != 2 {
		t.Fatalf("after ID 1: %v", v.Status())
	}

	cases := []struct {
		name   string
		theirs []messages.PeerStatus
		want   []Message
		more   bool
	}{
		{"no entry lacks ID 0", status(), []Message{{"vq", 0}}, false},
		{"its own status after one rumor", status("vq", 1), []Message{{"vq", 1}}, false},
		{"in sync", status("vq", 2), nil, false},
		{"ahead", status("vq", 3), nil, true},
		{"NextID 0 is nothing", status("vq", 0), []Message{{"vq", 0}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, theirs := Compare(v, c.theirs)
			if !reflect.DeepEqual(got.Lacking, c.want) || got.TheyHaveMore != c.more {
				t.Fatalf("Compare = %+v, want Lacking %v TheyHaveMore %v", got, c.want, c.more)
			}
			if has0 := len(c.want) == 0 || c.want[0].ID > 0; theirs.Has("vq", 0) != has0 {
				t.Fatalf("remembered ID 0 held: %v, want %v", theirs.Has("vq", 0), has0)
			}
		})
	}
}

// ID 0 may come after ID 1 (mongering does not keep order): the origin
// becomes zero-based and its NextID is unchanged.
func TestZeroArrivingLate(t *testing.T) {
	v := vec("vq", 3)
	v.Add(Message{Origin: "vq", ID: 0})
	if v.Next("vq") != 3 || !v.Has("vq", 0) || !v.Has("vq", 2) {
		t.Fatalf("vector %v zero %v", v.next, v.zero)
	}
	v.Rewind("vq", 1)
	if !v.Knows("vq") || v.Next("vq") != 1 || !v.Has("vq", 0) {
		t.Fatalf("rewound to 1: %v zero %v", v.next, v.zero)
	}
	v.Rewind("vq", 0)
	if v.Knows("vq") || v.Has("vq", 0) || len(v.Origins()) != 0 {
		t.Fatalf("rewound to 0: %v zero %v", v.next, v.zero)
	}
}
