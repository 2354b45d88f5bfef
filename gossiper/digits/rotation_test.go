package digits

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func TestScopeOfAddresses(t *testing.T) {
	for _, c := range []struct {
		addr string
		want scope
	}{
		{"127.0.0.1:1", scopeLoopback},
		{"127.255.0.9:80", scopeLoopback},
		{"10.1.2.3:80", scopePrivate},
		{"172.16.0.1:80", scopePrivate},
		{"192.168.1.1:80", scopePrivate},
		{"172.32.0.1:80", scopePublic},
		{"8.8.8.8:80", scopePublic},
		{"100.64.0.1:80", scopePublic},
		{"169.254.1.1:80", scopeLinkLocal},
		{"224.0.0.1:80", scopeNone},
		{"8.8.8.8", scopeNone},
	} {
		if got := scopeOf(c.addr); got != c.want {
			t.Errorf("scopeOf(%s) = %d, want %d", c.addr, got, c.want)
		}
	}
	for _, c := range []struct {
		self, addr string
		want       bool
	}{
		{"127.0.0.1:7100", "127.0.0.2:7002", true},
		{"127.0.0.1:7100", "10.1.2.3:80", false},
		{"127.0.0.1:7100", "8.8.8.8:80", false},
		{"10.0.0.1:7100", "192.168.1.1:80", true},
		{"10.0.0.1:7100", "127.0.0.1:80", false},
		{"10.0.0.1:7100", "8.8.8.8:80", false},
		{"203.0.113.5:7100", "8.8.8.8:80", true},
		{"203.0.113.5:7100", "10.0.0.1:80", false},
		{"224.0.0.1:7100", "224.0.0.2:80", false},
	} {
		if got := sameScope(c.self, c.addr); got != c.want {
			t.Errorf("sameScope(%s, %s) = %v, want %v", c.self, c.addr, got, c.want)
		}
	}
}

func (f *fakeDialer) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.dials {
		if a == addr {
			n++
		}
	}
	return n
}

func (f *fakeDialer) set(addr string, serve func(net.Conn)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if serve == nil {
		delete(f.replies, addr)
	} else {
		f.replies[addr] = serve
	}
}

func serves(es ...messages.DigitEntry) func(net.Conn) {
	return writes(string(messages.FormatDigitTable(es)))
}

// TestRotationPullsOnlyOurScopeOrWhatTheUserNamed: a loopback node stores
// every valid line a peer lists, but its rotation pulls only loopback
// addresses, until the user names another one.
func TestRotationPullsOnlyOurScopeOrWhatTheUserNamed(t *testing.T) {
	t0 := now.Unix() - 10
	peer, other := "127.0.0.1:7001", "127.0.0.2:7002"
	outside := []string{"8.8.8.8:80", "10.1.2.3:80", "192.168.1.1:80", "172.16.5.4:80", "169.254.1.1:80", "100.64.0.1:80"}
	listed := []messages.DigitEntry{{Addr: peer, Time: t0, Digit: 1}, {Addr: other, Time: t0, Digit: 2}}
	for i, a := range outside {
		listed = append(listed, messages.DigitEntry{Addr: a, Time: t0, Digit: uint8(i)})
	}
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		peer:  serves(listed...),
		other: serves(listed[1]),
	}}
	d, _, clock := newTestNode(t, dial, Config{})
	ctx := context.Background()
	if err := d.pull(ctx, peer); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Entries()); got != len(listed) {
		t.Fatalf("%d entries stored, want all %d listed", got, len(listed))
	}
	for i := 0; i < 200; i++ {
		clock.advance(time.Second)
		d.pullRandom(ctx)
	}
	for _, a := range outside {
		if n := dial.count(a); n != 0 {
			t.Errorf("rotation pulled %s, outside our scope, %d times", a, n)
		}
	}
	if dial.count(peer) < 2 || dial.count(other) == 0 {
		t.Fatalf("rotation did not pull the loopback nodes: %v", dial.dials)
	}

	// What "+8.8.8.8:80" does before its pull: from then on the rotation
	// may pull it (the fake dialer refuses; nothing leaves the machine).
	d.records.give("8.8.8.8:80")
	for i := 0; i < 50 && dial.count("8.8.8.8:80") == 0; i++ {
		clock.advance(time.Second)
		d.pullRandom(ctx)
	}
	if dial.count("8.8.8.8:80") == 0 {
		t.Fatal("the rotation never pulled an address the user named")
	}
	for _, a := range outside[1:] {
		if n := dial.count(a); n != 0 {
			t.Errorf("rotation pulled %s, outside our scope, %d times", a, n)
		}
	}
}

// TestDeadAddressLeavesTheRotation: an address that never answers is tried
// retireAfter times, backed off, and then no more; a peer listing the same
// time does not bring it back, a newer time does for one more try, and a
// successful pull by the user puts it back for good.
func TestDeadAddressLeavesTheRotation(t *testing.T) {
	t0 := now.Unix() - 100
	peer, dead := "127.0.0.1:7001", "127.0.0.1:7009"
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		peer: serves(messages.DigitEntry{Addr: dead, Time: t0, Digit: 4}),
	}}
	d, _, clock := newTestNode(t, dial, Config{BackoffBase: 3 * time.Second, BackoffMax: time.Minute})
	ctx := context.Background()
	d.pull(ctx, peer)

	// rotate runs the rotation for a simulated duration and returns the
	// clock times of the dials of dead.
	rotate := func(d *Digits, dur time.Duration) []time.Time {
		var at []time.Time
		for end := clock.Now().Add(dur); clock.Now().Before(end); {
			clock.advance(time.Second)
			before := dial.count(dead)
			d.pullRandom(ctx)
			if dial.count(dead) > before {
				at = append(at, clock.Now())
			}
		}
		return at
	}
	at := rotate(d, 10*time.Minute)
	if len(at) != retireAfter {
		t.Fatalf("dead address dialled %d times in 10 minutes, want %d", len(at), retireAfter)
	}
	for i := 1; i < len(at); i++ {
		if gap, min := at[i].Sub(at[i-1]), gossiper.BackoffAfter(3*time.Second, time.Minute, i); gap < min {
			t.Errorf("try %d came %v after the one before, within its back-off %v", i+1, gap, min)
		}
	}
	if !d.records.blocked(dead, clock.Now().Add(time.Hour)) {
		t.Fatal("dead address not retired")
	}

	d.pull(ctx, peer) // the same time again: no news of it
	if at := rotate(d, 10*time.Minute); len(at) != 0 {
		t.Fatalf("a peer listing the same time brought the dead address back: dialled at %v", at)
	}

	dial.set(peer, serves(messages.DigitEntry{Addr: dead, Time: t0 + 50, Digit: 6}))
	d.pull(ctx, peer)
	if at := rotate(d, 10*time.Minute); len(at) != 1 {
		t.Fatalf("after a peer vouched for a newer time: dialled %d times, want one more try", len(at))
	}

	// The user's pull ("+ip:port" runs d.pull) succeeds: back for good.
	dial.set(dead, serves(messages.DigitEntry{Addr: dead, Time: t0 + 60, Digit: 7}))
	if err := d.pull(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if at := rotate(d, time.Minute); len(at) < 2 {
		t.Fatalf("after the user's pull succeeded: dialled %d times in a minute, want it in the rotation", len(at))
	}
	lines := d.records.lines(clock.Now())
	if len(lines) != 2 || !regexp.MustCompile(`^127\.0\.0\.1:7009 successes=[1-9]\d* failures=5 .* blocklisted=no`).MatchString(lines[1]) {
		t.Fatalf("records %q", lines)
	}
}

// TestOwnerSettlesSameTimeConflicts: a liar lists another node's address
// with that node's time and a false digit. Taken first, the lie is replaced
// by the owner's own line at the same time; seen against an honest third
// party's line, it makes us pull the owner at once; once the owner has
// answered, the liar changes nothing and costs no further pull.
func TestOwnerSettlesSameTimeConflicts(t *testing.T) {
	t0 := now.Unix() - 30
	owner, liar, honest := "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004"
	truth := messages.DigitEntry{Addr: owner, Time: t0, Digit: 5}
	lie := messages.DigitEntry{Addr: owner, Time: t0, Digit: 1}
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		owner:  serves(truth),
		liar:   serves(lie),
		honest: serves(truth),
	}}
	ctx := context.Background()
	held := func(d *Digits) messages.DigitEntry {
		for _, e := range d.Entries() {
			if e.Addr == owner {
				return e
			}
		}
		return messages.DigitEntry{}
	}

	// The case: the lie first, then a pull of the owner.
	d, rec, _ := newTestNode(t, dial, Config{})
	d.pull(ctx, liar)
	d.pull(ctx, owner)
	if got := held(d); got != truth {
		t.Fatalf("after pulling the owner: %+v, want %+v", got, truth)
	}
	if got := rec.all(); fmt.Sprint(got) != fmt.Sprintf("[%s --> 1 %s --> 5]", owner, owner) {
		t.Fatalf("printed %q", got)
	}
	// The owner cannot be outvoted by a third party, nor go back in time.
	d.pull(ctx, liar)
	dial.set(owner, serves(messages.DigitEntry{Addr: owner, Time: t0 - 10, Digit: 7}))
	d.pull(ctx, owner)
	if got := held(d); got != truth {
		t.Fatalf("after the liar and an older line of the owner: %+v, want %+v", got, truth)
	}
	if _, queued := d.settle.take(); queued {
		t.Fatal("a pull of the owner was queued although its own line is held")
	}
	dial.set(owner, serves(truth))

	// The lie first, then an honest third party: the owner is asked.
	d, _, _ = newTestNode(t, dial, Config{})
	d.pull(ctx, liar)
	d.pull(ctx, honest)
	if got := held(d); got != lie {
		t.Fatalf("a third party's same-time line replaced ours: %+v", got)
	}
	before := dial.count(owner)
	d.settleQueued(ctx)
	if dial.count(owner) != before+1 || held(d) != truth {
		t.Fatalf("settling: %d pulls of the owner, holding %+v; want one pull and %+v", dial.count(owner)-before, held(d), truth)
	}
	d.pull(ctx, liar)
	d.settleQueued(ctx)
	if dial.count(owner) != before+1 || held(d) != truth {
		t.Fatalf("the liar after the owner: %d pulls of the owner, holding %+v", dial.count(owner)-before, held(d))
	}
}

// TestOnlyCompetingLinesAboutUsAreWarnedOfAndRateLimited: an older line
// about our own address is an honest peer's stale copy; a same-time or
// later one with another digit is a hijack attempt, warned of at a bounded
// rate.
func TestOnlyCompetingLinesAboutUsAreWarnedOfAndRateLimited(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	peer := "127.0.0.1:7001"
	dial := &fakeDialer{replies: map[string]func(net.Conn){}}
	d, _, clock := newTestNode(t, dial, Config{Log: log})
	d.setDigit(3)
	own, _ := d.table.own()
	clock.advance(100 * time.Second)
	warnings := func() int {
		n := 0
		for _, e := range hook.AllEntries() {
			if e.Message == "ignored a different line about our own address" {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	for _, stale := range []messages.DigitEntry{{Addr: self, Time: own.Time - 50, Digit: 7}, own} {
		dial.set(peer, serves(stale))
		for i := 0; i < 20; i++ {
			d.pull(ctx, peer)
		}
	}
	if n := warnings(); n != 0 {
		t.Fatalf("%d warnings for our own line and an older one", n)
	}
	for _, e := range []messages.DigitEntry{{Addr: self, Time: own.Time, Digit: 9}, {Addr: self, Time: own.Time + 50, Digit: 9}} {
		dial.set(peer, serves(e))
		for i := 0; i < 20; i++ {
			d.pull(ctx, peer)
		}
	}
	if n := warnings(); n == 0 || n > gossiper.RateLogBurst {
		t.Fatalf("%d warnings for 40 competing lines, want 1 to %d", n, gossiper.RateLogBurst)
	}
	if e, _ := d.table.own(); e != own {
		t.Fatalf("own entry %+v, want %+v", e, own)
	}
}
