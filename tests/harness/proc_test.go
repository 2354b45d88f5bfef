package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	// Field 14 utime=1234, field 15 stime=56; the name holds ") (" on purpose.
	stat := "4242 (we)ird (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 8 0 12345 100000 200 18446744073709551615\n"
	got, err := parseStatTicks(stat)
	if err != nil || got != 1290 {
		t.Fatalf("got %d, %v; want 1290", got, err)
	}
	if _, err := parseStatTicks("garbage"); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := parseStatTicks("1 (x) S 1 2"); err == nil {
		t.Error("short stat accepted")
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tPeerster\nVmPeak:\t  900000 kB\nVmRSS:\t    8192 kB\nThreads:\t7\n"
	got, err := parseVmRSS(status)
	if err != nil || got != 8192 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseVmRSS("Name:\tzombie\n"); err == nil {
		t.Error("missing VmRSS accepted")
	}
}

func TestParseNetPorts(t *testing.T) {
	table := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:1388 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0
  124: 00000000:3039 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0000000000000000 0
`
	got := map[int]bool{}
	parseNetPorts(table, got)
	if !got[5000] || !got[12345] || len(got) != 2 {
		t.Errorf("got %v", got)
	}
	v6 := `  sl  local_address                         remote_address                        st
   5: 00000000000000000000000000000000:C350 00000000000000000000000000000000:0000 07 0
`
	parseNetPorts(v6, got)
	if !got[50000] {
		t.Errorf("v6 port missing: %v", got)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := tailBuffer{max: 8}
	tb.Write([]byte("hello "))
	tb.Write([]byte("world!"))
	if s := tb.String(); s != "o world!" {
		t.Errorf("got %q", s)
	}
	tb.Write([]byte(strings.Repeat("z", 20)))
	if s := tb.String(); s != "zzzzzzzz" {
		t.Errorf("got %q", s)
	}
}

func TestCPUPercent(t *testing.T) {
	a := cpuSample{ticks: 100, at: time.Unix(0, 0)}
	b := cpuSample{ticks: 150, at: time.Unix(2, 0)}
	if got := cpuPercent(a, b, 100); got != 25 {
		t.Errorf("got %v, want 25", got)
	}
	if got := cpuPercent(b, a, 100); got != 0 {
		t.Errorf("backwards window gave %v", got)
	}
}

func TestPickPorts(t *testing.T) {
	ps, err := pickPorts(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range append(ps.gossip, ps.ui...) {
		if p < 20000 || p >= 60000 || seen[p] {
			t.Errorf("bad or repeated port %d", p)
		}
		seen[p] = true
	}
	if _, err := pickPorts(65530, 10); err == nil {
		t.Error("ports past 65535 accepted")
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("got %q", got)
	}
	if got := lastLines("only", 5); got != "only" {
		t.Errorf("got %q", got)
	}
}
