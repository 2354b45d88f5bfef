package digits

import (
	"context"
	"math/rand"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// runNode runs a node with a stored table on a real listener until the
// returned function is called.
func runNode(t *testing.T, store *gossiper.Store, digit uint8, clock *fixedClock, dial gossiper.Dialer) (*Digits, *recorder, func()) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d, err := New(Config{
		Self: self, Digit: &digit, Clock: clock, Dial: dial, Rand: rand.New(rand.NewSource(1)),
		Timeout: time.Second, Store: store.Namespace("digits"),
	}, ln, rec)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for own, ok := d.table.own(); !ok || own.Digit != digit || d.runCtx.Load() == nil; own, ok = d.table.own() {
		time.Sleep(time.Millisecond)
	}
	return d, rec, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestRestartKeepsTheTableAndOurEntrysTime: a node restarted an hour later
// with the same digit keeps its entry's time, so peers see no change, and
// keeps what it had learned; a new digit gets a new time.
func TestRestartKeepsTheTableAndOurEntrysTime(t *testing.T) {
	dir := t.TempDir()
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		"127.0.0.1:7001": writes(fixture(t, "peiliou_reply_3_entries.csv")),
	}}
	clock := &fixedClock{t: now}
	s := gossipertest.OpenStore(t, dir)
	d, rec, stop := runNode(t, s, 5, clock, dial)
	if err := d.pull(context.Background(), "127.0.0.1:7001"); err != nil {
		t.Fatal(err)
	}
	before := d.Entries()
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(before) != 4 || len(rec.all()) != 4 {
		t.Fatalf("entries before the restart: %+v, printed %q", before, rec.all())
	}

	clock.advance(time.Hour)
	s = gossipertest.OpenStore(t, dir)
	d, rec, stop = runNode(t, s, 5, clock, dial)
	if got := d.Entries(); !reflect.DeepEqual(got, before) {
		t.Fatalf("after the restart %+v, want %+v", got, before)
	}
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("the restart printed %q", got)
	}
	d.setDigit(6)
	own, _ := d.table.own()
	stop()
	s.Close()
	if own.Time != now.Add(time.Hour).Unix() {
		t.Fatalf("a new digit got time %d", own.Time)
	}

	// Started with another digit than the stored one: the new one, now.
	clock.advance(time.Minute)
	s = gossipertest.OpenStore(t, dir)
	defer s.Close()
	d, _, stop = runNode(t, s, 7, clock, dial)
	defer stop()
	if own, _ := d.table.own(); own.Digit != 7 || own.Time != clock.Now().Unix() {
		t.Fatalf("own entry %+v", own)
	}
}

// TestDamagedStoredEntryIsAnError: New refuses a table it cannot read,
// naming the namespace and key, rather than start with a new time.
func TestDamagedStoredEntryIsAnError(t *testing.T) {
	for name, value := range map[string]string{
		"garbage":       "garbage",
		"another entry": "127.0.0.1:7002,1795238400,4",
		"bad digit":     "127.0.0.1:7001,1795238400,12",
	} {
		dir := t.TempDir()
		s := gossipertest.OpenStore(t, dir)
		s.Namespace("digits").Put([]byte("entry/127.0.0.1:7001"), []byte(value))
		s.Close()
		s = gossipertest.OpenStore(t, dir)
		_, err := New(Config{Self: self, Store: s.Namespace("digits")}, nil, &recorder{})
		s.Close()
		if err == nil || !strings.Contains(err.Error(), `namespace "digits" key "entry/127.0.0.1:7001"`) {
			t.Errorf("%s: New error %v, want one naming the namespace and key", name, err)
		}
	}
}
