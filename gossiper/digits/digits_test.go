package digits

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// now is a fixed protocol time: the fixtures' test clock.
var now = time.Unix(1795238500, 0)

type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// AfterFunc never fires: tests pull by hand.
func (c *fixedClock) AfterFunc(time.Duration, func()) gossiper.Timer { return stopped{} }

type stopped struct{}

func (stopped) Stop() bool { return false }

// recorder is a gossiper.Host keeping the printed lines.
type recorder struct {
	mu      sync.Mutex
	lines   []string
	metrics *gossiper.Metrics
}

func (r *recorder) Print(_ string, lines ...string) {
	r.mu.Lock()
	r.lines = append(r.lines, lines...)
	r.mu.Unlock()
}
func (r *recorder) Record(gossiper.ChatMessage)            {}
func (r *recorder) Retract(string, string, uint32, uint32) {}
func (r *recorder) Publish(gossiper.Event)                 {}
func (r *recorder) Metrics() *gossiper.Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.metrics == nil {
		r.metrics = gossiper.NewMetrics()
	}
	return r.metrics
}
func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// fakeDialer answers every dial with a pipe whose other end writes reply.
type fakeDialer struct {
	mu      sync.Mutex
	replies map[string]func(net.Conn)
	dials   []string
}

func (f *fakeDialer) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, addr)
	serve := f.replies[addr]
	f.mu.Unlock()
	if serve == nil {
		return nil, fmt.Errorf("dial %s: connection refused", addr)
	}
	ours, theirs := net.Pipe()
	go func() {
		defer theirs.Close()
		serve(theirs)
	}()
	return ours, nil
}

func writes(s string) func(net.Conn) { return func(c net.Conn) { io.WriteString(c, s) } }

const self = "127.0.0.1:7100"

func newTestNode(t *testing.T, dial *fakeDialer, cfg Config) (*Digits, *recorder, *fixedClock) {
	t.Helper()
	clock := &fixedClock{t: now}
	rec := &recorder{}
	cfg.Self, cfg.Clock, cfg.Dial, cfg.Rand = self, clock, dial, rand.New(rand.NewSource(1))
	cfg.Timeout = time.Second
	d, err := New(cfg, nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	return d, rec, clock
}

// merge takes lines as a reply from a third party brings them.
func (t *table) merge(lines []messages.DigitEntry) ([]messages.DigitEntry, []mergeResult) {
	return t.mergeFrom("", lines)
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := readFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPullMergesAndPrintsChanges(t *testing.T) {
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		"127.0.0.1:7001": writes(fixture(t, "peiliou_reply_3_entries.csv")),
	}}
	d, rec, _ := newTestNode(t, dial, Config{})
	if err := d.pull(context.Background(), "127.0.0.1:7001"); err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:7001 --> 1", "127.0.0.1:7002 --> 2", "127.0.0.1:7003 --> 3"}
	if got := rec.all(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("printed %q, want %q", got, want)
	}
	// The same reply again changes nothing and prints nothing.
	if err := d.pull(context.Background(), "127.0.0.1:7001"); err != nil {
		t.Fatal(err)
	}
	if len(rec.all()) != 3 {
		t.Fatalf("printed %q", rec.all())
	}
}

func TestPygossipReplyWithoutFinalLFAndNoCloseStillCounts(t *testing.T) {
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		// Pygossip writes its table without a final LF and never closes.
		"127.0.0.1:7201": func(c net.Conn) {
			io.WriteString(c, fixture(t, "pygossip_reply_4_entries_no_final_lf.csv"))
			time.Sleep(3 * time.Second)
		},
	}}
	d, rec, _ := newTestNode(t, dial, Config{})
	d.pull(context.Background(), "127.0.0.1:7201")
	if got := len(d.Entries()); got != 4 {
		t.Fatalf("%d entries, want 4 (lines %q)", got, rec.all())
	}
}

func TestOwnAddressIsNeverTakenFromOthers(t *testing.T) {
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		"127.0.0.1:7901": writes(fixture(t, "hostile_own_address.csv")),
	}}
	zero := uint8(0)
	d, _, _ := newTestNode(t, dial, Config{Digit: &zero})
	d.setDigit(0)
	d.pull(context.Background(), "127.0.0.1:7901")
	for _, e := range d.Entries() {
		if e.Addr == self && e.Digit != 0 {
			t.Fatalf("own entry hijacked: %+v", e)
		}
	}
	if len(d.Entries()) != 3 { // ours, 7901's own line, the control line
		t.Fatalf("entries %+v", d.Entries())
	}
}

func TestStrictlyLaterTimeWins(t *testing.T) {
	dial := &fakeDialer{replies: map[string]func(net.Conn){
		"127.0.0.1:7901": writes(fixture(t, "hostile_same_ts_conflict.csv")),
	}}
	d, _, _ := newTestNode(t, dial, Config{})
	d.pull(context.Background(), "127.0.0.1:7901")
	want := map[string]uint8{"127.0.0.1:45013": 1, "127.0.0.1:45014": 2, "127.0.0.1:45019": 7}
	for _, e := range d.Entries() {
		if w, ok := want[e.Addr]; ok && e.Digit != w {
			t.Errorf("%s has digit %d, want %d", e.Addr, e.Digit, w)
		}
	}
}

func TestTableStaysBoundedUnder65536LineReplies(t *testing.T) {
	var big bytes.Buffer
	for i := 0; i < 65536; i++ {
		fmt.Fprintf(&big, "127.%d.%d.%d:%d,1700000000,%d\n", i>>16&255, i>>8&255, i&255+1, 1000+i%60000, i%10)
	}
	// Forty peers, each starting its 65,536 lines at a different place, so
	// that together they offer far more than the cap of new addresses.
	all := big.String()
	replies := map[string]func(net.Conn){}
	for k := 0; k < 40; k++ {
		from := strings.Index(all[k*256*30:], "\n") + k*256*30 + 1
		replies[fmt.Sprintf("127.0.0.1:%d", 8000+k)] = writes(all[from:])
	}
	d, _, _ := newTestNode(t, &fakeDialer{replies: replies}, Config{MaxEntries: 1000})
	for addr := range replies {
		d.pull(context.Background(), addr)
	}
	if n := len(d.Entries()); n != 1000 {
		t.Fatalf("%d entries, want the cap of 1000", n)
	}
}

func TestBlocklistWithBackoffNeverForEverOnceAnswered(t *testing.T) {
	dial := &fakeDialer{replies: map[string]func(net.Conn){}}
	serve := func(c net.Conn) { io.WriteString(c, "127.0.0.1:7002,1700000000,2\n") }
	setUp := func(up bool) {
		dial.mu.Lock()
		if up {
			dial.replies["127.0.0.1:7002"] = serve
		} else {
			delete(dial.replies, "127.0.0.1:7002")
		}
		dial.mu.Unlock()
	}
	d, _, clock := newTestNode(t, dial, Config{BackoffBase: 3 * time.Second, BackoffMax: 10 * time.Second})

	// Never answered: backed off after one failure, but not retired.
	setUp(false)
	d.pull(context.Background(), "127.0.0.1:7002")
	if rec := d.records.byAddr["127.0.0.1:7002"]; rec.retired || rec.blockedUntil.Sub(clock.Now()) != 3*time.Second {
		t.Fatalf("after one failure of a node that never answered: %+v, want backed off 3s", rec)
	}
	setUp(true)
	if err := d.pull(context.Background(), "127.0.0.1:7002"); err != nil {
		t.Fatal(err)
	}
	setUp(false)
	var until []time.Duration
	for i := 0; i < 4; i++ {
		d.pull(context.Background(), "127.0.0.1:7002")
		rec := d.records.byAddr["127.0.0.1:7002"]
		until = append(until, rec.blockedUntil.Sub(clock.Now()))
	}
	if fmt.Sprint(until) != "[3s 6s 10s 10s]" {
		t.Fatalf("backoffs %v, want [3s 6s 10s 10s]", until)
	}
	if !d.records.blocked("127.0.0.1:7002", clock.Now()) {
		t.Fatal("not blocklisted after failing")
	}
	// Periodic pulls skip it; after the backoff it is tried again.
	dial.dials = nil
	d.pullRandom(context.Background())
	if len(dial.dials) != 0 {
		t.Fatalf("pulled a blocklisted node: %v", dial.dials)
	}
	clock.advance(11 * time.Second)
	setUp(true)
	d.pullRandom(context.Background())
	if len(dial.dials) != 1 || d.records.blocked("127.0.0.1:7002", clock.Now()) {
		t.Fatalf("dials %v; still blocked after a success", dial.dials)
	}
	lines := d.records.lines(clock.Now())
	if len(lines) != 1 || !strings.Contains(lines[0], "successes=2 failures=5") || !strings.Contains(lines[0], "blocklisted=no") {
		t.Fatalf("records %q", lines)
	}
}

func TestOwnDigitTimeAlwaysAdvances(t *testing.T) {
	d, rec, _ := newTestNode(t, &fakeDialer{}, Config{})
	d.setDigit(6)
	d.setDigit(7) // same second: the time must still be later
	e := d.Entries()[0]
	if e.Digit != 7 || e.Time != now.Unix()+1 {
		t.Fatalf("own entry %+v", e)
	}
	if got := rec.all(); strings.Join(got, "|") != self+" --> 6|"+self+" --> 7" {
		t.Fatalf("printed %q", got)
	}
}

func TestCommands(t *testing.T) {
	var report bytes.Buffer
	d, rec, _ := newTestNode(t, &fakeDialer{}, Config{Report: &report})
	for _, c := range []struct {
		line    string
		handled bool
		err     bool
	}{
		{"5", true, false}, {"?", true, false}, {"!", true, false}, {"a", true, false},
		{"+127.0.0.1:9", true, false}, {"+" + self, true, true}, {"+localhost:80", true, true},
		{"hello", false, false}, {"55", false, false}, {"+", false, false},
	} {
		handled, err := d.Command(c.line)
		if handled != c.handled || (err != nil) != c.err {
			t.Errorf("Command(%q) = %v, %v", c.line, handled, err)
		}
	}
	if got := rec.all(); len(got) != 2 || got[1] != self+" --> 5" {
		t.Fatalf("? printed %q", got)
	}
	if !d.adversarial.Load() || !strings.Contains(report.String(), "adversarial mode on") {
		t.Fatalf("a did not toggle: %q", report.String())
	}
}

func TestServerAnswersWhileAPullerStalls(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	clock := &fixedClock{t: now}
	seven := uint8(7)
	d, err := New(Config{Self: addr, Digit: &seven, Clock: clock, Timeout: time.Second}, ln, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Pullers that connect and never read, filling their socket buffers.
	for i := 0; i < 10; i++ {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	start := time.Now()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answered in %v while 10 pullers stalled", time.Since(start))
	if want := fmt.Sprintf("%s,%d,7\n", addr, now.Unix()); string(got) != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
}

func TestConnectionCapClosesExtraConnections(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Self: ln.Addr().String(), Clock: &fixedClock{t: now}, Accept: gossiper.ListenerLimits{MaxConns: 2, MaxPerIP: 1}, Stall: 2 * time.Second}, ln, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	d.adversarial.Store(true) // each reply then holds its slot while it stalls
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	first, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.Read(make([]byte, 1)) // the stalling reply has started
	second, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := second.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("over the cap: read %d bytes, %v; want the connection closed", n, err)
	}
}

func TestAdversarialReplyIsRejectedByAStrictReader(t *testing.T) {
	known := []messages.DigitEntry{{Addr: self, Time: now.Unix() - 10, Digit: 3}, {Addr: "127.0.0.1:7001", Time: now.Unix() - 20, Digit: 1}}
	reply := adversarialReply(known, now.Unix())
	lines, err := messages.ReadDigitReply(bytes.NewReader(reply), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != messages.MaxDigitLines {
		t.Fatalf("%d lines read, want the cap %d", len(lines), messages.MaxDigitLines)
	}
	// A strict table keeps every honest entry: the future lines fail the
	// codec, the same-time spoofs the strictly-later rule, and 127.0.0.1:9
	// is harmless.
	tbl := newTable("127.0.0.1:7001", 100, nil)
	tbl.merge(known)
	var accepted []messages.DigitEntry
	for _, l := range lines {
		if l.Err == nil {
			accepted = append(accepted, l.Entry)
		}
	}
	tbl.merge(accepted)
	for _, e := range tbl.snapshot() {
		switch e.Addr {
		case self:
			if e.Digit != 3 {
				t.Errorf("%s changed to %d", e.Addr, e.Digit)
			}
		case "127.0.0.1:7001":
			if e.Digit != 1 {
				t.Errorf("%s changed to %d", e.Addr, e.Digit)
			}
		}
	}
}

func TestFormattedReplyFollowsEveryChange(t *testing.T) {
	tbl := newTable(self, 100, nil)
	if got := string(tbl.formatted()); got != "" {
		t.Fatalf("empty table formatted as %q", got)
	}
	tbl.setOwn(3, now.Unix())
	first := tbl.formatted()
	if want := fmt.Sprintf("%s,%d,3\n", self, now.Unix()); string(first) != want {
		t.Fatalf("formatted %q, want %q", first, want)
	}
	if again := tbl.formatted(); &again[0] != &first[0] {
		t.Fatal("an unchanged table was formatted again")
	}
	tbl.merge([]messages.DigitEntry{{Addr: "127.0.0.1:7001", Time: 5, Digit: 1}})
	if got := string(tbl.formatted()); !strings.HasPrefix(got, "127.0.0.1:7001,5,1\n") {
		t.Fatalf("after a merge: %q", got)
	}
	tbl.merge([]messages.DigitEntry{{Addr: "127.0.0.1:7001", Time: 5, Digit: 9}}) // not later: no change
	if got := string(tbl.formatted()); strings.Contains(got, ",5,9") {
		t.Fatalf("a refused line changed the reply: %q", got)
	}
}
