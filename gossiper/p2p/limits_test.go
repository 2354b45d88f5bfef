package p2p

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// stalledPeer is a mesh node that we dial: it completes the handshake,
// sends a Heartbeat every 100 ms so it stays alive, and never reads, so
// that our writes to it fill the socket buffers and block.
type stalledPeer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	stop chan struct{}
}

func startStalledPeer(t *testing.T) *stalledPeer {
	t.Helper()
	cert := newCert(t)
	id := IdentityOf(cert.Certificate[0])
	s := &stalledPeer{ln: listen(t), stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		pair, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PPair, Identity: id, ListenPort: 1})
		if _, err := nc.Write(pair); err != nil {
			return
		}
		if _, err := io.ReadFull(nc, make([]byte, messages.P2PPairLen)); err != nil {
			return
		}
		tc := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert})
		if err := tc.Handshake(); err != nil {
			return
		}
		hb, _ := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PHeartbeat})
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			tc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := tc.Write(hb); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(s.stop)
		s.ln.Close()
		s.wg.Wait()
	})
	return s
}

// TestStalledPeerNeverHoldsUpShutdown: a peer that keeps its link alive
// but never reads must not hold up Run after cancel, whether our write to
// it is still blocked or has timed out and its connection is closing
// (crypto/tls's Close would first write a close_notify into the full
// socket and wait up to 5 s for it).
func TestStalledPeerNeverHoldsUpShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		wait    string // the log line after which to cancel
	}{
		{"write blocked", 10 * time.Second, "not keeping up"},
		{"write timed out", 300 * time.Millisecond, "p2p write failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStalledPeer(t)
			cfg := fast()
			cfg.Connect = []string{s.ln.Addr().String()}
			cfg.WriteGap = time.Nanosecond // fill the buffers quickly
			cfg.Timeout = tc.timeout
			cfg.DeadAfter = 10 * time.Second // the stalled peer is alive, only stalled
			a := start(t, cfg, "")
			waitFor(t, "a connected to the stalled peer", func() bool { return len(a.aliveSet()) == 1 })
			text := strings.Repeat("x", maxSend-64)
			waitFor(t, "a's writes to the stalled peer stuck", func() bool {
				for i := 0; i < 64; i++ {
					a.say(text)
				}
				return a.logged(logrus.DebugLevel, tc.wait) > 0
			})
			begin := time.Now()
			a.stop()
			if took := time.Since(begin); took > 2*time.Second {
				t.Fatalf("Run took %v to return after cancel", took)
			}
		})
	}
}

// TestCloseNeverWaitsForAStalledPeer: Run ends every connection with
// close. Over a pipe, which buffers nothing, a peer that stopped reading
// makes every write block: crypto/tls's Close would wait 5 s there for its
// close_notify; close must not.
func TestCloseNeverWaitsForAStalledPeer(t *testing.T) {
	ours, theirs := net.Pipe()
	defer theirs.Close()
	cert := newCert(t)
	client, server := baseTLS(cert)
	tc := tls.Client(ours, client)
	shook := make(chan error, 1)
	go func() { shook <- tls.Server(theirs, server).Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-shook; err != nil {
		t.Fatal(err)
	}
	// From here on the peer reads nothing.
	log, _ := logtest.NewNullLogger()
	c := newConn(1, netip.MustParseAddrPort("127.0.0.1:1"), "pipe", true, log)
	c.tls = tc
	begin := time.Now()
	c.close()
	if took := time.Since(begin); took > time.Second {
		t.Fatalf("close took %v with a peer that does not read", took)
	}
	if _, err := ours.Write([]byte{0}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write after close: %v, want the socket closed", err)
	}
}

// TestIdleFloodFromOneAddressLocksNobodyOut: 200 connections from
// 127.0.0.1 that never send their Pair take at most MaxPerIP slots, a node
// from 127.0.0.2 joins meanwhile, and each silent one is closed when its
// handshake times out.
func TestIdleFloodFromOneAddressLocksNobodyOut(t *testing.T) {
	cfgA := fast()
	cfgA.Timeout = time.Second
	a := start(t, cfgA, "")
	flood := make([]net.Conn, 200)
	for i := range flood {
		c, err := net.DialTimeout("tcp4", a.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		flood[i] = c
	}
	cfgB := fast()
	cfgB.Connect = []string{a.addr}
	cfgB.Dial = &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	b := start(t, cfgB, "127.0.0.2:0")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	for i, c := range flood {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("silent connection %d: %v; want it closed", i, err)
		}
	}
	if a.logged(logrus.WarnLevel, "connection refused: too many from this address") == 0 {
		t.Error("refusals not logged")
	}
	stillServes(t, a, b, "after the flood")
}
