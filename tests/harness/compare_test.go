package main

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func TestNodeOutCountsAndOrder(t *testing.T) {
	var o nodeOut
	keys := []string{rumorKey("A", "m0"), rumorKey("A", "m1"), rumorKey("A", "m2")}
	o.setWant(keys, keys[:2])
	at := time.Unix(100, 0)
	for _, l := range []string{
		"RUMOR origin A from 127.0.0.1:1 ID 2 contents m1",
		"FLIPPED COIN sending rumor to 127.0.0.1:3",
		"RUMOR origin A from 127.0.0.1:2 ID 2 contents m1", // a second copy
		"RUMOR origin A from 127.0.0.1:1 ID 1 contents m0", // overtaken by m1
		"RUMOR origin A from 127.0.0.1:1 ID 3 contents m2", // not counted
		"FLIPPED COIN sending rumor to 127.0.0.1:4",
		"RUMOR origin B from 127.0.0.1:1 ID 1 contents m0", // another origin
	} {
		o.record(l, at)
	}
	recv, flips := o.tallies()
	if recv != 3 || flips != 2 {
		t.Errorf("tallies = %d receptions, %d flips; want 3, 2", recv, flips)
	}
	if got := o.inOrder(); got != 2 {
		t.Errorf("inOrder = %d, want 2 (m1, m2; m0 came after m1)", got)
	}
	o.setWant(keys, nil)
	if recv, flips := o.tallies(); recv != 0 || flips != 0 || o.inOrder() != 0 {
		t.Errorf("setWant did not reset: %d %d %d", recv, flips, o.inOrder())
	}
}

func TestCountInOrder(t *testing.T) {
	for _, c := range []struct {
		order []int
		want  int
	}{
		{nil, 0},
		{[]int{0, 1, 2, 3}, 4},
		{[]int{0, 2, 1, 3}, 3},
		{[]int{3, 0, 1, 2}, 1},
		{[]int{0, 5, 9}, 3}, // gaps are missing messages, not disorder
	} {
		if got := countInOrder(c.order); got != c.want {
			t.Errorf("countInOrder(%v) = %d, want %d", c.order, got, c.want)
		}
	}
}

func TestParseMem(t *testing.T) {
	status := "Name:\tPeerster\nVmRSS:\t    9360 kB\nRssAnon:\t    1190 kB\nRssFile:\t    8170 kB\n"
	rollup := "00400000-7ffd0000 ---p 00000000 00:00 0    [rollup]\nRss:                9360 kB\nPss:                1700 kB\nPss_Anon:           1190 kB\n"
	m, err := parseMem(status, rollup)
	if err != nil || m != (memSample{RSS: 9360, Anon: 1190, PSS: 1700}) {
		t.Fatalf("parseMem = %+v, %v", m, err)
	}
	if _, err := parseMem("VmRSS:\t1 kB\n", rollup); err == nil {
		t.Error("status without RssAnon accepted")
	}
	if _, err := parseMem(status, "Pss_Anon: 3 kB\n"); err == nil {
		t.Error("rollup without Pss accepted (Pss_Anon is not Pss)")
	}
}

func TestDatagramTemplate(t *testing.T) {
	text := intakeText(99, 99, 999999)
	for _, enc := range [][]byte{clientDatagram(text), append(append([]byte{0x12, 0x0f, 0x0a, 0x0d}, text...), 0x18, 0x01)} {
		tpl, err := newTemplate(enc, text)
		if err != nil {
			t.Fatal(err)
		}
		other := intakeText(1, 2, 3)
		got, err := tpl.datagram(other)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Replace(string(enc), text, other, 1); string(got) != want {
			t.Errorf("datagram = %x, want %x", got, want)
		}
		if _, err := tpl.datagram("short"); err == nil {
			t.Error("a text of another length accepted")
		}
	}
	if _, err := newTemplate([]byte("xx"), text); err == nil {
		t.Error("a datagram without the text accepted")
	}
	if got := clientDatagram(intakeText(1, 2, 3)); string(got[2:]) != "i01_02_000003" {
		t.Errorf("intakeText = %q", got[2:])
	}
}

func TestLineTopology(t *testing.T) {
	l := lineTopology(3)
	want := [][]int{{1}, {0, 2}, {1}}
	for i := range want {
		if len(l.Peers[i]) != len(want[i]) || (len(want[i]) > 0 && l.Peers[i][0] != want[i][0]) {
			t.Fatalf("peers %v, want %v", l.Peers, want)
		}
	}
	if l.diameter() != 2 {
		t.Errorf("diameter %d", l.diameter())
	}
}

func TestPaceSendsAllInOrder(t *testing.T) {
	var got []int
	if err := pace(context.Background(), 1e6, 500, func(k int) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 || countInOrder(got) != 500 {
		t.Errorf("sent %d, %d in order", len(got), countInOrder(got))
	}
	if err := pace(context.Background(), 0, 1, func(int) error { return nil }); err == nil {
		t.Error("rate 0 accepted")
	}
}

func TestParseRates(t *testing.T) {
	r, err := parseRates("1000, 5000,20000")
	if err != nil || len(r) != 3 || r[2] != 20000 {
		t.Fatalf("parseRates = %v, %v", r, err)
	}
	for _, bad := range []string{"", "1000,,2", "-5", "x"} {
		if _, err := parseRates(bad); err == nil {
			t.Errorf("parseRates(%q) accepted", bad)
		}
	}
}

func TestTableStatistics(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	runs := []runResult{
		{TimeMs: f(100), AfterSendMs: f(40), Nodes: []nodeStats{
			{Idle: memSample{RSS: 2048, Anon: 1024, PSS: 1024}, Receptions: 0, Flips: 5},
			{Idle: memSample{RSS: 4096, Anon: 1024, PSS: 3072}, Receptions: 400, Flips: 1},
			{Idle: memSample{RSS: 3072, Anon: 2048, PSS: 2048}, Receptions: 200},
		}},
		{TimeMs: nil, Nodes: []nodeStats{{Receptions: 1}}},
		{TimeMs: f(300), AfterSendMs: f(60)},
		{Err: "crashed", TimeMs: f(1)},
	}
	if got := perRun(runs, timeToAll); got != 300 {
		t.Errorf("median time = %v, want 300 (100, 300, +Inf; the error run left out)", got)
	}
	if got := perRun(runs[:1], nodeMedianMB(func(m memSample) uint64 { return m.RSS })); got != 3 {
		t.Errorf("median node RSS = %v MB, want 3", got)
	}
	if got := perRun(runs[:1], totalPSSMB); got != 6 {
		t.Errorf("total PSS = %v MB, want 6", got)
	}
	if got := perRun(runs[:1], receptionsPerNode(100)); got != 3 {
		t.Errorf("receptions per node = %v, want 600/(2*100) = 3", got)
	}
	if got := perRun(runs[:1], flipLines); got != 6 {
		t.Errorf("flips = %v, want 6", got)
	}
	intake := []intakeResult{{Sent: 1000, InOrder: 1000}, {Sent: 1000, InOrder: 500}, {Err: "node died"}}
	if got := deliveredInOrder(intake); got != 50 {
		t.Errorf("delivered in order = %v%%, want 50 (100, 50, 0)", got)
	}
	if ratio(50, 200) != "0.25" || ratio(1, 0) != "-" || ratio(math.Inf(1), 2) != "-" || ratio(math.NaN(), 2) != "-" {
		t.Error("ratio")
	}
	if fmtVal(math.Inf(1), "ms") != "incomplete" || fmtVal(math.NaN(), "MB") != "-" || fmtVal(1.5, "MB") != "1.50 MB" || fmtVal(98.54, "%") != "98.5%" {
		t.Error("fmtVal")
	}
}
