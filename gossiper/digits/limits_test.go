package digits

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// TestPullFloodFromOneAddressLocksNobodyOut: 200 pullers from 127.0.0.1
// that never read hold their connections (adversarial replies stall, so
// each answered one keeps its slot); only MaxPerIP of them are answered,
// and a puller from 127.0.0.2 is answered meanwhile.
func TestPullFloodFromOneAddressLocksNobodyOut(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Self: ln.Addr().String(), Clock: &fixedClock{t: now}, Stall: time.Minute}, ln, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	d.setDigit(7)
	d.adversarial.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	dial := func(from string) net.Conn {
		t.Helper()
		dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := dl.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	flood := make([]net.Conn, 200)
	for i := range flood {
		flood[i] = dial("127.0.0.1")
	}
	honest := dial("127.0.0.2")
	if n, err := honest.Read(make([]byte, 1)); n != 1 {
		t.Fatalf("puller from another address: %d bytes, %v; want a reply", n, err)
	}
	answered := 0
	for i, c := range flood {
		n, err := c.Read(make([]byte, 1))
		switch {
		case n == 1:
			answered++
		case !errors.Is(err, io.EOF):
			t.Fatalf("puller %d: %v; want a reply or the connection closed", i, err)
		}
	}
	if answered != gossiper.DefaultMaxPerIP {
		t.Fatalf("%d pullers of one address answered, want %d", answered, gossiper.DefaultMaxPerIP)
	}
}
