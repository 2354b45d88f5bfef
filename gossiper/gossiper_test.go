package gossiper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

func TestWriteLinesWritesEveryLineInOrderAndSkipsOtherEvents(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1, true)
	var out bytes.Buffer
	done := make(chan error)
	go func() { done <- WriteLines(sub.Events(), &out, quietLog()) }()
	bus.Publish(Event{Kind: EventLines, Lines: []string{"STATUS from 127.0.0.1:5001 peer A nextID 2", "PEERS 127.0.0.1:5001"}})
	bus.Publish(Event{Kind: EventPeers, Peers: []string{"ignored"}})
	for i := 0; i < 1000; i++ {
		bus.Publish(Event{Kind: EventLines, Lines: []string{"IN SYNC WITH 127.0.0.1:5001"}})
	}
	bus.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1002 || lines[0] != "STATUS from 127.0.0.1:5001 peer A nextID 2" || lines[1] != "PEERS 127.0.0.1:5001" {
		t.Fatalf("wrote %d lines, starting %q", len(lines), lines[:2])
	}
}

func TestLossySubscriberNeverBlocksPublishers(t *testing.T) {
	bus := NewBus()
	slow := bus.Subscribe(2, false)
	for i := 0; i < 10; i++ {
		bus.Publish(Event{Kind: EventName, Name: "x"})
	}
	if slow.Dropped() != 8 {
		t.Fatalf("dropped %d, want 8", slow.Dropped())
	}
	slow.Cancel()
	if _, ok := <-slow.Events(); !ok {
		t.Fatal("buffered events lost on cancel")
	}
	bus.Publish(Event{Kind: EventName}) // after cancel: must not panic
	bus.Close()
	if late := bus.Subscribe(1, true); late.Events() == nil {
		t.Fatal("nil channel")
	} else if _, ok := <-late.Events(); ok {
		t.Fatal("subscription after Close is open")
	}
}

// fakeProtocol records what the node dispatches to it.
type fakeProtocol struct {
	mu    sync.Mutex
	said  []string
	peers []string
	names []string
}

func (f *fakeProtocol) Name() string { return "fake" }
func (f *fakeProtocol) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
func (f *fakeProtocol) Say(text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.said = append(f.said, text)
	return nil
}
func (f *fakeProtocol) AddPeer(a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = append(f.peers, a)
	return nil
}
func (f *fakeProtocol) Rename(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = append(f.names, n)
	return nil
}

type silentProtocol struct{}

func (silentProtocol) Name() string                  { return "silent" }
func (silentProtocol) Run(ctx context.Context) error { <-ctx.Done(); return nil }

type failingProtocol struct{}

func (failingProtocol) Name() string              { return "failing" }
func (failingProtocol) Run(context.Context) error { return errors.New("socket gone") }

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(&bytes.Buffer{})
	return l
}

func TestNodeDispatchesClientDatagramsToProtocols(t *testing.T) {
	n := NewNode(quietLog())
	fp := &fakeProtocol{}
	n.Register(fp)
	n.Register(silentProtocol{})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
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
	node, name := "127.0.0.1:5001", "B"
	for _, m := range []*messages.Message{{Text: "hello"}, {Node: &node}, {Name: &name}} {
		b, err := messages.EncodeClient(m)
		if err != nil {
			t.Fatal(err)
		}
		client.Write(b)
	}
	client.Write([]byte{0xff, 0x00, 0x13}) // garbage: logged and dropped
	client.Write([]byte("raw text"))       // pablo11's client format
	deadline := time.Now().Add(5 * time.Second)
	for {
		fp.mu.Lock()
		ok := len(fp.said) == 2 && len(fp.peers) == 1 && len(fp.names) == 1
		fp.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatched said=%q peers=%q names=%q", fp.said, fp.peers, fp.names)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if fp.said[0] != "hello" || fp.said[1] != "raw text" || fp.peers[0] != node || fp.names[0] != name {
		t.Fatalf("dispatched said=%q peers=%q names=%q", fp.said, fp.peers, fp.names)
	}
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Fatalf("ServeClients returned %v", err)
	}
}

func TestNodeWithoutACapableProtocolSaysSo(t *testing.T) {
	n := NewNode(quietLog())
	n.Register(silentProtocol{})
	if err := n.Say("hi"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Say: %v", err)
	}
}

func TestRunStopsEveryProtocolWhenOneFailsAndClosesTheBus(t *testing.T) {
	n := NewNode(quietLog())
	n.Register(silentProtocol{})
	n.Register(failingProtocol{})
	sub := n.Events().Subscribe(1, true)
	err := n.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "failing: socket gone") {
		t.Fatalf("Run: %v", err)
	}
	if _, ok := <-sub.Events(); ok {
		t.Fatal("event stream still open after Run")
	}
}

func TestRecordAppendsToTheLogAndAnnounces(t *testing.T) {
	n := NewNode(quietLog())
	sub := n.Events().Subscribe(4, false)
	n.Record(ChatMessage{Protocol: "peerster", Origin: "A", ID: 1, Text: "hi"})
	if n.Chat().Len() != 1 || n.Chat().Messages()[0].Text != "hi" {
		t.Fatalf("log %+v", n.Chat().Messages())
	}
	ev := <-sub.Events()
	if ev.Kind != EventMessage || ev.Message.Origin != "A" {
		t.Fatalf("event %+v", ev)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteLinesKeepsDrainingAfterStdoutFails(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1, true)
	done := make(chan error)
	go func() { done <- WriteLines(sub.Events(), brokenWriter{}, quietLog()) }()
	// Far more events than the buffer holds: a writer that stopped reading
	// would block this publisher for ever.
	for i := 0; i < 10000; i++ {
		bus.Publish(Event{Kind: EventLines, Lines: []string{"IN SYNC WITH 127.0.0.1:5001"}})
	}
	bus.Close()
	if err := <-done; err == nil {
		t.Fatal("no error from a broken stdout")
	}
}

// commandProtocol takes the console command "x" only.
type commandProtocol struct {
	fakeProtocol
	commands []string
}

func (c *commandProtocol) Command(line string) (bool, error) {
	if line != "x" {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands = append(c.commands, line)
	return true, nil
}

func TestConsoleLinesAreCommandsOrChatAndEndOfInputStopsOnlyTheConsole(t *testing.T) {
	n := NewNode(quietLog())
	p := &commandProtocol{}
	n.Register(p)
	var prompt bytes.Buffer
	err := n.RunConsole(context.Background(), strings.NewReader("x\n\n  hello there  \nx\n"), &prompt)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.commands) != 2 || len(p.said) != 1 || p.said[0] != "hello there" {
		t.Fatalf("commands %q, chat %q", p.commands, p.said)
	}
	if strings.Count(prompt.String(), ">> ") != 5 {
		t.Fatalf("prompt %q", prompt.String())
	}
}

func TestClientDigitWithoutADigitProtocolIsNotChat(t *testing.T) {
	n := NewNode(quietLog())
	p := &fakeProtocol{}
	n.Register(p)
	seven := uint32(7)
	n.handleClient(&messages.Message{Digit: &seven}, quietLog())
	if len(p.said) != 0 {
		t.Fatalf("a digit became chat: %q", p.said)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesFollowedByAnotherEventAreFlushedAtOnce(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(8, true)
	var out syncBuffer
	done := make(chan error)
	go func() { done <- WriteLines(sub.Events(), &out, quietLog()) }()
	defer func() {
		bus.Close()
		<-done
	}()
	// The digit gossip prints a change and then announces it: the line must
	// not wait in the buffer for the next line or for exit.
	bus.Publish(Event{Kind: EventLines, Lines: []string{"127.0.0.1:7001 --> 7"}})
	bus.Publish(Event{Kind: EventUpdate, Update: "digit"})
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "127.0.0.1:7001 --> 7\n" {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q while the node runs", out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// Without a store the log keeps the newest messages only; cursors go on.
func TestChatLogInMemoryIsBounded(t *testing.T) {
	l := &ChatLog{Memory: 100}
	for i := range 1000 {
		if m := l.Append(ChatMessage{Text: fmt.Sprint(i)}); m.Cursor != uint64(i+1) {
			t.Fatalf("message %d got cursor %d", i, m.Cursor)
		}
	}
	if n := l.Len(); n < 100 || n > 125 {
		t.Fatalf("%d messages kept, want 100 to 125", n)
	}
	msgs := l.Messages()
	if last := msgs[len(msgs)-1]; last.Cursor != 1000 || last.Text != "999" {
		t.Fatalf("newest %+v", last)
	}
	page, err := l.Before(0, 10)
	if err != nil || len(page) != 10 || page[0].Cursor != 991 {
		t.Fatalf("newest page %+v, %v", page, err)
	}
	// What is no longer kept is simply not there.
	if page, _ := l.Before(5, 10); len(page) != 0 {
		t.Fatalf("page before a trimmed cursor: %+v", page)
	}
}
