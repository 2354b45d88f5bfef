package whisper

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIdleFloodFromOneAddressLocksNobodyOut: 200 connections from
// 127.0.0.1 that send nothing (the failure seen: 70 of them were all kept
// and an honest peer was refused). A peer from 127.0.0.2 is served during
// the flood, and once connections have been refused the quiet ones are
// closed, while the peer that talks keeps its connection.
func TestIdleFloodFromOneAddressLocksNobodyOut(t *testing.T) {
	n := startNode(t, Config{Accept: gossiper.ListenerLimits{QuietTimeout: 300 * time.Millisecond}})
	flood := make([]net.Conn, 200)
	for i := range flood {
		flood[i] = dialFrom(t, "127.0.0.1", n.Addr())
	}
	honest := dialFrom(t, "127.0.0.2", n.Addr())
	sendJSON(t, honest, pdxgoMsg("h1", "127.0.0.2:9", "during the flood", ""))
	eventually(t, "the honest peer served", func() bool {
		return n.host.Count(gossipertest.Contains("contents during the flood")) == 1
	})
	for i, c := range flood {
		if !closedByPeer(c, 10*time.Second) {
			t.Fatalf("idle connection %d kept", i)
		}
	}
	sendJSON(t, honest, pdxgoMsg("h2", "127.0.0.2:9", "after the flood", ""))
	eventually(t, "the honest peer still served", func() bool {
		return n.host.Count(gossipertest.Contains("contents after the flood")) == 1
	})
	if !n.logged("connection refused: too many from this address") || !n.logged("connection closed: quiet while others were refused") {
		t.Error("refusals or reclaims not logged")
	}
}

// TestStopsAtOnceWithSilentAndStalledPeers: cancelling closes every
// connection the node has, so Run returns at once although inbound peers
// send nothing and an outbound peer has stopped reading.
func TestStopsAtOnceWithSilentAndStalledPeers(t *testing.T) {
	stalled, err := listenNoRead(t)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	w, err := New(Config{Addr: ln.Addr().String(), Peers: []string{stalled}, QueueLen: 4096, Log: log}, ln, gossipertest.NewHost(ProtocolName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer cancel()
	for range 32 {
		dialFrom(t, "127.0.0.1", ln.Addr().String())
	}
	eventually(t, "the stalled peer connected", func() bool {
		st := w.PeerStates()
		return len(st) == 1 && st[0].Connected
	})
	// Far more than the socket buffers hold: the writer blocks.
	big := strings.Repeat("x", 64<<10)
	for i := range 400 {
		if err := w.Say(big + string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	begin := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("Run took %v to return after cancel", took)
	}
}
