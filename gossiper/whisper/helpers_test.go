package whisper

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// testNode is a running Whisper on an ephemeral loopback port.
type testNode struct {
	*Whisper
	host *gossipertest.Host
	logs *test.Hook
	// stop ends the node and waits for Run; the test's end calls it too.
	stop func()
}

func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	if os.Getenv("WHISPER_TEST_LOG") != "" {
		log.SetOutput(os.Stderr)
	}
	log.SetLevel(logrus.DebugLevel)
	cfg.Addr = ln.Addr().String()
	cfg.Log = log
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 20 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 200 * time.Millisecond
	}
	h := gossipertest.NewHost(ProtocolName)
	w, err := New(cfg, ln, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("whisper node did not stop")
		}
	})
	t.Cleanup(stop)
	return &testNode{Whisper: w, host: h, logs: hook, stop: stop}
}

func (n *testNode) logged(substr string) bool {
	for _, e := range n.logs.AllEntries() {
		if strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// listener is a whisper peer that only reads: it records every object our
// node writes to it.
type listener struct {
	ln    net.Listener
	conns []net.Conn // closed by close, so readers end
	mu    sync.Mutex
	msgs  []messages.WhisperMessage
	raw   []byte
	wg    sync.WaitGroup
}

func startListener(t testing.TB) *listener {
	t.Helper()
	return startListenerAt(t, "127.0.0.1:0")
}

func (l *listener) read(c net.Conn) {
	defer l.wg.Done()
	defer c.Close()
	tee := io.TeeReader(c, writerFunc(func(b []byte) {
		l.mu.Lock()
		l.raw = append(l.raw, b...)
		l.mu.Unlock()
	}))
	dec := messages.NewWhisperDecoder(tee)
	for {
		m, err := dec.Decode()
		if err != nil {
			return
		}
		l.mu.Lock()
		l.msgs = append(l.msgs, *m)
		l.mu.Unlock()
	}
}

func (l *listener) close() {
	l.ln.Close()
	l.mu.Lock()
	for _, c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *listener) addr() string { return l.ln.Addr().String() }

func (l *listener) messages() []messages.WhisperMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]messages.WhisperMessage(nil), l.msgs...)
}

func (l *listener) countBody(body string) int {
	n := 0
	for _, m := range l.messages() {
		if m.Body == body {
			n++
		}
	}
	return n
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) {
	f(b)
	return len(b), nil
}

// dialNode opens an inbound connection to n, as a peer that sends.
func dialNode(t testing.TB, n *testNode) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp4", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sendJSON writes objects as pdxgo does: one per write, newline-terminated.
func sendJSON(t testing.TB, c net.Conn, objs ...any) {
	t.Helper()
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
}

// pdxgoMsg is a message in pdxgo's shape.
func pdxgoMsg(id, addr, body, nick string) map[string]any {
	return map[string]any{"ID": id, "Addr": addr, "Body": body, "omitempty": nick, "Timestamp": time.Now().Unix()}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedByPeer reports whether the node closed c (a read sees EOF or reset).
func closedByPeer(c net.Conn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	var b [1]byte
	_, err := c.Read(b[:])
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func netListen() (net.Listener, error) { return net.Listen("tcp4", "127.0.0.1:0") }

// startListenerAt is startListener on a given address (a port that was
// closed before, to test redialling).
func startListenerAt(t testing.TB, addr string) *listener {
	t.Helper()
	var ln net.Listener
	eventually(t, "listen on "+addr, func() bool {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err == nil
	})
	l := &listener{ln: ln}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns = append(l.conns, c)
			l.mu.Unlock()
			l.wg.Add(1)
			go l.read(c)
		}
	}()
	t.Cleanup(l.close)
	return l
}
