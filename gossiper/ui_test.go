package gossiper

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// batchProtocol records every call, so the test sees both the order of the
// messages and that runs of them came in batches.
type batchProtocol struct {
	fakeProtocol
	mu      sync.Mutex
	calls   []string // "say:text", "batch:N", "rename:name"
	ordered []string
	// hold blocks SayAll until closed, so a queue builds up behind it.
	hold chan struct{}
}

func (b *batchProtocol) SayAll(texts []string) error {
	<-b.hold
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, fmt.Sprintf("batch:%d", len(texts)))
	b.ordered = append(b.ordered, texts...)
	return nil
}

func (b *batchProtocol) Rename(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "rename:"+name)
	b.ordered = append(b.ordered, "rename:"+name)
	return nil
}

// Client messages that queue while the protocol is busy reach it in one
// call, in the order sent, and a request that is not chat keeps its place.
func TestClientMessagesAreBatchedInOrder(t *testing.T) {
	n := NewNode(quietLog())
	bp := &batchProtocol{hold: make(chan struct{})}
	n.Register(bp)
	conn, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- n.ServeClients(ctx, conn) }()
	client, err := net.Dial("udp4", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	send := func(m *messages.Message) {
		b, err := messages.EncodeClient(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	name := "renamed"
	for i := range 300 {
		if i == 150 {
			send(&messages.Message{Name: &name})
			want = append(want, "rename:"+name)
		}
		text := fmt.Sprintf("m%03d", i)
		send(&messages.Message{Text: text})
		want = append(want, text)
	}
	// Let the reader queue all of it (the first message is held in
	// SayAll), then let the protocol go.
	deadline := time.Now().Add(10 * time.Second)
	read := n.metrics.packets.WithLabelValues("client", "in", "request")
	for testutil.ToFloat64(read) < float64(len(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d datagrams read", testutil.ToFloat64(read), len(want))
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(bp.hold)
	for {
		bp.mu.Lock()
		got := len(bp.ordered)
		bp.mu.Unlock()
		if got == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests reached the protocol", got, len(want))
		}
		time.Sleep(5 * time.Millisecond)
	}
	bp.mu.Lock()
	defer bp.mu.Unlock()
	for i := range want {
		if bp.ordered[i] != want[i] {
			t.Fatalf("request %d is %q, want %q (calls %v)", i, bp.ordered[i], want[i], bp.calls)
		}
	}
	if len(bp.calls) > 10 {
		t.Fatalf("%d calls for 301 requests queued at once, want a few batches: %v", len(bp.calls), bp.calls)
	}
}
