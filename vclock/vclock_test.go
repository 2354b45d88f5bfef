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

func TestCompare(t *testing.T) {
	cases := []struct {
		name         string
		mine, theirs *Vector
		send         *Message
		theyHaveMore bool
	}{
		{"both empty", vec(), vec(), nil, false},
		{"equal", vec("A", 3, "B", 2), vec("B", 2, "A", 3), nil, false},
		{"they lack an origin", vec("A", 2), vec(), &Message{Origin: "A", ID: 1}, false},
		{"they are behind", vec("A", 5), vec("A", 3), &Message{Origin: "A", ID: 3}, false},
		{"we are behind", vec("A", 3), vec("A", 5), nil, true},
		{"we lack an origin", vec(), vec("Z", 2), nil, true},
		{"both ways", vec("A", 3, "B", 1), vec("A", 2, "B", 4), &Message{Origin: "A", ID: 2}, true},
		{"first origin in sorted order", vec("C", 2, "A", 2, "B", 2), vec(), &Message{Origin: "A", ID: 1}, false},
		{"skips origins they have", vec("A", 2, "B", 3), vec("A", 2, "B", 2), &Message{Origin: "B", ID: 2}, false},
		{"their NextID 1 is nothing", vec("A", 2), vec("A", 1, "B", 1), &Message{Origin: "A", ID: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Compare(c.mine, c.theirs)
			if !reflect.DeepEqual(got.Send, c.send) || got.TheyHaveMore != c.theyHaveMore {
				t.Fatalf("Compare = {Send:%v TheyHaveMore:%v}, want {%v %v}", got.Send, got.TheyHaveMore, c.send, c.theyHaveMore)
			}
			if got.InSync() != (c.send == nil && !c.theyHaveMore) {
				t.Fatalf("InSync = %v", got.InSync())
			}
		})
	}
}

// TestCompareExhaustive checks Compare against its definition for every pair
// of vectors over three origins with NextID 1..3.
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
	build := func(n [3]uint32) *Vector {
		v := New()
		for i, o := range origins {
			v.Advance(o, n[i])
		}
		return v
	}
	for _, m := range all {
		for _, th := range all {
			got := Compare(build(m), build(th))
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
			if !reflect.DeepEqual(got.Send, wantSend) || got.TheyHaveMore != wantMore {
				t.Fatalf("mine %v theirs %v: got %+v, want send %v more %v", m, th, got, wantSend, wantMore)
			}
		}
	}
}

func TestFromStatusToleratesHostileEntries(t *testing.T) {
	v := FromStatus([]messages.PeerStatus{{Identifier: "B", NextID: 2}, {Identifier: "A", NextID: 3}, {Identifier: "B", NextID: 7}, {Identifier: "B", NextID: 4}, {Identifier: "Z", NextID: 0}, {Identifier: "", NextID: 2}})
	if v.Next("A") != 3 || v.Next("B") != 7 || v.Next("Z") != 1 {
		t.Fatalf("got A=%d B=%d Z=%d", v.Next("A"), v.Next("B"), v.Next("Z"))
	}
	if got := v.Origins(); !reflect.DeepEqual(got, []string{"", "A", "B"}) {
		t.Fatalf("origins %q", got)
	}
}

func TestStatusIsSortedAndSkipsNothingSeen(t *testing.T) {
	v := vec("C", 2, "A", 4, "B", 1)
	want := []messages.PeerStatus{{Identifier: "A", NextID: 4}, {Identifier: "C", NextID: 2}}
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
