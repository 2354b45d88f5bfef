package gossipertest

import (
	"io"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// OpenStore opens the node's database in dir, with a silent log; the test
// closes it (some close and reopen it to try a restart).
func OpenStore(t testing.TB, dir string) *gossiper.Store {
	t.Helper()
	l := logrus.New()
	l.SetOutput(io.Discard)
	s, err := gossiper.OpenStore(dir, l)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Committed waits until everything queued in ns's store is on disk.
func Committed(t testing.TB, ns *gossiper.Namespace) {
	t.Helper()
	done := make(chan struct{})
	ns.Barrier(func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("store barrier never ran")
	}
}
