package whisper

import (
	"fmt"
	"testing"
	"time"
)

func TestBacklogKeepsTheLastOnes(t *testing.T) {
	l := newBacklog(3)
	if got := l.forPeer("x"); len(got) != 0 {
		t.Errorf("empty backlog gave %q", got)
	}
	for i := 0; i < 5; i++ {
		l.add(fmt.Sprint("peer", i%2), []byte(fmt.Sprint(i)))
	}
	got := l.forPeer("peer1")
	if len(got) != 2 || string(got[0]) != "2" || string(got[1]) != "4" {
		t.Errorf("backlog for peer1: %q, want 2, 4 (3 is its own)", got)
	}
	if len(newBacklog(0).forPeer("x")) != 0 {
		t.Error("a zero backlog keeps messages")
	}
}

func TestBansExpireAndStayBounded(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newBans()
	b.add("x", t0.Add(time.Minute), t0)
	if !b.banned("x", t0.Add(59*time.Second)) || b.banned("x", t0.Add(time.Minute)) {
		t.Error("ban of one minute")
	}
	for i := 0; i < maxBans+100; i++ {
		b.add(fmt.Sprint(i), t0.Add(time.Duration(i+1)*time.Second), t0)
	}
	if len(b.until) > maxBans {
		t.Errorf("%d bans kept, cap %d", len(b.until), maxBans)
	}
	if !b.banned(fmt.Sprint(maxBans+99), t0) {
		t.Error("the longest ban was evicted")
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"note.txt":                 "note.txt",
		"../../etc/passwd":         "passwd",
		`..\..\windows\system.ini`: "system.ini",
		".bashrc":                  "bashrc",
		"my photo (1).jpg":         "my_photo_1.jpg",
		"ünï/ʕ◔ϖ◔ʔ.gif":            ".gif",
		"":                         "",
		"a\x00b\nc":                "ab_c",
	} {
		got := safeFileName(in)
		if in == "ünï/ʕ◔ϖ◔ʔ.gif" {
			want = "gif"
		}
		if got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	long := safeFileName(string(make([]byte, 0)) + fmt.Sprintf("%0300d", 7))
	if len(long) > 100 {
		t.Errorf("name of %d bytes", len(long))
	}
}
