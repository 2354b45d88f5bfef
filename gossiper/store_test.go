package gossiper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreWritesAreDurableAtTheBarrierAndSurviveReopening(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := OpenStore(dir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	ns := s.Namespace("chat")
	for i := range 1000 {
		ns.Put([]byte{byte(i >> 8), byte(i)}, []byte("m"))
	}
	ns.Delete([]byte{0, 7})
	done := make(chan struct{})
	s.Barrier(func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("barrier never ran")
	}
	if v, err := ns.Get([]byte{3, 231}); err != nil || string(v) != "m" {
		t.Fatalf("Get after the barrier = %q, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenStore(dir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := s.Namespace("chat").ForEach(nil, func(k, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 999 {
		t.Fatalf("%d keys after reopening, want 999", n)
	}
	if err := s.Namespace("other").ForEach(nil, func(k, v []byte) error { return errors.New("not empty") }); err != nil {
		t.Fatalf("a namespace never written: %v", err)
	}
}

func TestStoreHeldByAnotherOpenIsAClearError(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenStore(dir, quietLog())
	if !errors.Is(err, ErrStoreLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second open: %v, want ErrStoreLocked naming %s", err, dir)
	}
}

func TestStoreRefusesAForeignFileWithoutTouchingIt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, StoreFile)
	junk := []byte(strings.Repeat("not a database ", 1000))
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStore(dir, quietLog())
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a foreign file: %v, want an error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != string(junk) {
		t.Fatal("the foreign file was changed")
	}
}

func TestChatLogRetractKeepsStoreKeysApart(t *testing.T) {
	dir := t.TempDir()
	s, l := openChat(t, dir)
	for i, text := range []string{"one", "new", "three"} {
		l.Append(ChatMessage{Protocol: "peerster", Origin: "C", ID: uint32(i + 1), Text: text})
	}
	if n := l.Retract("peerster", "C", 2, 3); n != 2 {
		t.Fatalf("retracted %d, want 2", n)
	}
	l.Append(ChatMessage{Protocol: "peerster", Origin: "C", ID: 2, Text: "two"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, back := openChat(t, dir)
	defer s.Close()
	var got []string
	for _, m := range back.Messages() {
		got = append(got, m.Text)
	}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("history after retract and reopen: %v, want one,two", got)
	}
}

func TestStoreCommitsWhatIsHeldTogether(t *testing.T) {
	s, err := OpenStore(t.TempDir(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := s.Namespace("step")
	s.Hold()
	ns.Put([]byte("rumor"), []byte("r"))
	committed := make(chan struct{})
	s.Barrier(func() { close(committed) })
	// Another writer's barrier, queued inside the hold, waits too.
	time.Sleep(20 * time.Millisecond)
	if v, _ := ns.Get([]byte("rumor")); v != nil {
		t.Fatal("half a held step was committed")
	}
	ns.Put([]byte("chat"), []byte("c"))
	s.Release()
	select {
	case <-committed:
	case <-time.After(10 * time.Second):
		t.Fatal("a released step was never committed")
	}
	for _, k := range []string{"rumor", "chat"} {
		if v, err := ns.Get([]byte(k)); err != nil || v == nil {
			t.Fatalf("%s missing after the step committed (%v)", k, err)
		}
	}
}

// With a store, pages are read from the disk by cursor, around retracted
// messages, before and after a reopen, and from the uncommitted tail.
func TestChatLogPagesFromTheStore(t *testing.T) {
	dir := t.TempDir()
	s, l := openChat(t, dir)
	for i := 1; i <= 500; i++ {
		l.Append(ChatMessage{Protocol: "peerster", Origin: "C", ID: uint32(i), Text: fmt.Sprint("m", i)})
	}
	l.Retract("peerster", "C", 100, 109)
	texts := func(msgs []ChatMessage, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, fmt.Sprintf("%d:%s", m.Cursor, m.Text))
		}
		return strings.Join(out, ",")
	}
	check := func(l *ChatLog) {
		t.Helper()
		if got := texts(l.After(97, 4)); got != "98:m98,99:m99,110:m110,111:m111" {
			t.Errorf("After(97, 4) = %s", got)
		}
		if got := texts(l.Before(111, 3)); got != "98:m98,99:m99,110:m110" {
			t.Errorf("Before(111, 3) = %s", got)
		}
		if got := texts(l.Before(0, 2)); got != "499:m499,500:m500" {
			t.Errorf("Before(0, 2) = %s", got)
		}
		if got := texts(l.After(500, 10)); got != "" {
			t.Errorf("After(500, 10) = %s", got)
		}
	}
	check(l) // part of it may still be in the tail
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, back := openChat(t, dir)
	defer s.Close()
	check(back)
	if m := back.Append(ChatMessage{Text: "after reopen"}); m.Cursor != 501 {
		t.Errorf("cursor after reopen %d, want 501", m.Cursor)
	}
}

// openChat opens the store in dir and a chat log persisted in it.
func openChat(t *testing.T, dir string) (*Store, *ChatLog) {
	t.Helper()
	s, err := OpenStore(dir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	var l ChatLog
	if err := l.Persist(s.Namespace("chat")); err != nil {
		t.Fatal(err)
	}
	return s, &l
}
