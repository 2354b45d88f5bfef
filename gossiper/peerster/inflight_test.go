package peerster

import (
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/vclock"
)

func TestInFlightExpiresOldFromTheFront(t *testing.T) {
	var f inFlight
	t0 := time.Unix(1000, 0)
	for id := uint32(1); id <= 200; id++ {
		f.add(vclock.Message{Origin: "a", ID: id}, t0.Add(time.Duration(id)*time.Millisecond))
	}
	wait := 100 * time.Millisecond
	// At t0+170ms: 1-70 were sent 100 ms or more ago.
	now := t0.Add(170 * time.Millisecond)
	f.expire(now, wait)
	if got := f.len(); got != 130 {
		t.Fatalf("after expire %d in flight, want 130 (71-200)", got)
	}
	for _, c := range []struct {
		id   uint32
		want bool
	}{{50, false}, {70, false}, {71, true}, {200, true}, {201, false}} {
		if got := f.has(vclock.Message{Origin: "a", ID: c.id}, now, wait); got != c.want {
			t.Errorf("has(%d) = %v, want %v", c.id, got, c.want)
		}
	}
	if len(f.order)-f.head != 130 {
		t.Errorf("%d records kept for 130 messages", len(f.order)-f.head)
	}
}

func TestInFlightResendIsTimedFromTheResend(t *testing.T) {
	var f inFlight
	t0 := time.Unix(1000, 0)
	m := vclock.Message{Origin: "a", ID: 1}
	f.add(m, t0)
	f.add(vclock.Message{Origin: "a", ID: 2}, t0)
	f.add(m, t0.Add(90*time.Millisecond))
	now := t0.Add(150 * time.Millisecond)
	f.expire(now, 100*time.Millisecond)
	if !f.has(m, now, 100*time.Millisecond) {
		t.Fatal("a message sent again 60 ms ago expired with its first send")
	}
	if f.sent(vclock.Message{Origin: "a", ID: 2}) {
		t.Fatal("a message sent 150 ms ago is still in flight after a 100 ms wait")
	}
	f.forget(m)
	if f.sent(m) || f.len() != 0 {
		t.Fatalf("forgotten message still in flight (%d left)", f.len())
	}
	f.expire(now, 100*time.Millisecond)
	if len(f.order) != 0 || f.head != 0 {
		t.Fatalf("records kept after all expired: %d from %d", len(f.order), f.head)
	}
}
