package gossiper

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// relayProtocol records what the bridge asks it to relay.
type relayProtocol struct {
	name    string
	mu      sync.Mutex
	relayed []string
}

func (r *relayProtocol) Name() string                  { return r.name }
func (r *relayProtocol) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (r *relayProtocol) Relay(origin, text string) error {
	r.mu.Lock()
	r.relayed = append(r.relayed, origin+"|"+text)
	r.mu.Unlock()
	return nil
}

func (r *relayProtocol) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.relayed...)
}

func TestBridgeRelaysToOtherProtocolsOnlyAndNeverLoops(t *testing.T) {
	n := NewNode(quietLog())
	peerster, whisper, p2p := &relayProtocol{name: "peerster"}, &relayProtocol{name: "whisper"}, &relayProtocol{name: "p2p"}
	n.Register(peerster)
	n.Register(whisper)
	n.Register(p2p)
	n.Register(silentProtocol{})
	n.EnableBridge()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	now := time.Now()
	msg := func(protocol, origin, text, from string) {
		n.Record(ChatMessage{Protocol: protocol, Origin: origin, Text: text, From: from, Time: now})
	}
	msg("whisper", "bob", "hi", "127.0.0.1:1")        // to peerster and p2p
	msg("peerster", "me", "typed here", "")           // ours: never relayed
	msg("peerster", "P", "yo", "127.0.0.1:2")         // to whisper and p2p
	msg("whisper", "P", "yo", "127.0.0.1:3")          // another bridge's relay of P's rumor
	msg("peerster", "A", "bob: hi", "127.0.0.1:2")    // another bridge's relay of bob's whisper
	msg("whisper", "bob", "hi", "127.0.0.1:1")        // bob says hi again: a new message
	msg("p2p", "123", "", "127.0.0.1:4")              // nothing to relay
	msg("peerster", "bob", "hi", "127.0.0.1:2")       // seen on whisper: taken for a relay
	msg("p2p", "123", "from the mesh", "127.0.0.1:4") // to peerster and whisper

	want := map[*relayProtocol][]string{
		peerster: {"bob|hi", "bob|hi", "123|from the mesh"},
		whisper:  {"P|yo", "123|from the mesh"},
		p2p:      {"bob|hi", "P|yo", "bob|hi"},
	}
	deadline := time.Now().Add(5 * time.Second)
	for p, w := range want {
		for len(p.got()) < len(w) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for p, w := range want {
		if fmt.Sprint(p.got()) != fmt.Sprint(w) {
			t.Errorf("%s relayed %q, want %q", p.name, p.got(), w)
		}
	}
}

func TestBridgeMemoryIsBounded(t *testing.T) {
	b := newBridge(NewNode(quietLog()))
	t0 := time.Unix(1795238300, 0)
	for i := 0; i < 3*bridgeMemoryMax; i++ {
		b.handle(&ChatMessage{Protocol: "x", Origin: "o", Text: fmt.Sprint(i), From: "f", Time: t0})
	}
	if b.seen.Len() > bridgeMemoryMax {
		t.Errorf("%d remembered, cap %d", b.seen.Len(), bridgeMemoryMax)
	}
	b.handle(&ChatMessage{Protocol: "x", Origin: "o", Text: "late", From: "f", Time: t0.Add(bridgeMemory)})
	if b.seen.Len() != 1 {
		t.Errorf("%d remembered after the window, want 1", b.seen.Len())
	}
}
