// Package gossiper is the daemon: one chat log, one event stream, and the
// protocols that feed them. Each protocol lives in its own sub-package and is
// registered from main; this package never imports them.
package gossiper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/sirupsen/logrus"
)

// Protocol is one gossip protocol spoken by the node. Run receives the
// protocol's own traffic until ctx is cancelled.
type Protocol interface {
	Name() string
	Run(ctx context.Context) error
}

// Sayer is a protocol that can send what the user types.
type Sayer interface {
	Say(text string) error
}

// BatchSayer is a Sayer that takes many messages at once more cheaply than
// one by one (Peerster handles them in one step of its loop).
type BatchSayer interface {
	SayAll(texts []string) error
}

// Relayer is a protocol that can carry a message first seen on another
// protocol; the bridge uses it. origin is the name the message came with
// (a Peerster origin, a whisper nick, a p2p identity).
type Relayer interface {
	Relay(origin, text string) error
}

// FileSender is a protocol that can send a file (the whispernet's file
// transfer).
type FileSender interface {
	SendFile(path string) error
}

// PeerAdder is a protocol that can be told about a new peer.
type PeerAdder interface {
	AddPeer(addr string) error
}

// Renamer is a protocol whose messages carry the node's name.
type Renamer interface {
	Rename(name string) error
}

// Commander is a protocol with console commands of its own (the digit
// gossip's "+ip:port", "7", "?", "!", "a"). The client's digit and pull
// reach a protocol as these commands too.
type Commander interface {
	// Command carries out line if it is one of the protocol's commands,
	// and reports whether it was.
	Command(line string) (bool, error)
}

// CommandHelp describes one console command: Usage as typed ("+ip:port"),
// Help in a few words.
type CommandHelp struct {
	Usage string
	Help  string
}

// CommandDescriber is a Commander that describes its commands, for the
// console's help.
type CommandDescriber interface {
	CommandHelp() []CommandHelp
}

// PeerLister is a protocol with a peer list to show.
type PeerLister interface {
	Peers() []string
}

// Link is one peer of a connection-oriented protocol, as the page shows it.
type Link struct {
	Protocol string `json:"protocol"`
	// Peer names the peer: its identity or its address.
	Peer  string `json:"peer"`
	Addr  string `json:"addr"`
	Alive bool   `json:"alive"`
}

// LinkLister is a protocol with connections to peers to show.
type LinkLister interface {
	Links() []Link
}

// Identity is what the node answers to: its name, and what each running
// protocol says identifies it there (IdentityReporter), in the order the
// protocols were registered.
type Identity struct {
	Name   string
	Fields []IdentityField
}

// IdentityField is one thing a protocol reports about the node: Key names
// it in GET /id (gossipAddr, p2pIdentity…), Label on the page.
type IdentityField struct {
	Protocol string `json:"protocol"`
	Key      string `json:"key"`
	Label    string `json:"label"`
	Value    string `json:"value"`
}

// IdentityReporter is a protocol that identifies the node in its own terms:
// an address, a key. The fields are read whenever GET /id is asked.
type IdentityReporter interface {
	IdentityFields() []IdentityField
}

// MarshalJSON writes the name, each field under its key (so a client reads
// id.gossipAddr), and the fields as a list for a page that shows them all.
func (id Identity) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	if err := appendJSON(&b, id.Name); err != nil {
		return nil, err
	}
	for _, f := range id.Fields {
		b.WriteByte(',')
		if err := appendJSON(&b, f.Key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := appendJSON(&b, f.Value); err != nil {
			return nil, err
		}
	}
	b.WriteString(`,"fields":`)
	fields := id.Fields
	if fields == nil {
		fields = []IdentityField{}
	}
	if err := appendJSON(&b, fields); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func appendJSON(b *bytes.Buffer, v any) error {
	j, err := json.Marshal(v)
	b.Write(j)
	return err
}

// Host is what a protocol needs from the node: somewhere to print protocol
// lines, the chat log, and the event stream.
type Host interface {
	Print(protocol string, lines ...string)
	Record(m ChatMessage)
	// Retract removes a protocol's messages of origin with IDs from..to
	// from the chat (see ChatLog.Retract).
	Retract(protocol, origin string, from, to uint32)
	Publish(ev Event)
	// Metrics is the node's registry; a protocol counts its traffic with
	// Metrics().Protocol(its name) and registers its own collectors there.
	Metrics() *Metrics
}

// Node owns the chat log, the event bus and the registered protocols.
type Node struct {
	bus  *Bus
	chat *ChatLog
	log  logrus.FieldLogger
	// rateLog bounds what clients' datagrams can write to the log.
	rateLog   *RateLog
	protocols []Protocol
	// bridge is the bridge's subscription when it is enabled.
	bridge *Subscription

	metrics *Metrics

	idMu sync.Mutex
	name string
}

// NewNode returns a node with no protocols.
func NewNode(log logrus.FieldLogger) *Node {
	return &Node{bus: NewBus(), chat: &ChatLog{}, log: log, rateLog: NewRateLog(nil), metrics: NewMetrics()}
}

// Metrics implements Host.
func (n *Node) Metrics() *Metrics { return n.metrics }

// Events is the node's event stream.
func (n *Node) Events() *Bus { return n.bus }

// Chat is the node's chat log.
func (n *Node) Chat() *ChatLog { return n.chat }

// SetName records the node's name; call it before Run.
func (n *Node) SetName(name string) {
	n.idMu.Lock()
	n.name = name
	n.idMu.Unlock()
}

// Identity is the node's current name and addresses.
func (n *Node) Identity() Identity {
	n.idMu.Lock()
	id := Identity{Name: n.name}
	n.idMu.Unlock()
	for _, p := range n.protocols {
		if r, ok := p.(IdentityReporter); ok {
			for _, f := range r.IdentityFields() {
				f.Protocol = p.Name()
				id.Fields = append(id.Fields, f)
			}
		}
	}
	return id
}

// Peers is the peer list of the first protocol that has one, in its order.
func (n *Node) Peers() []string {
	for _, p := range n.protocols {
		if l, ok := p.(PeerLister); ok {
			return l.Peers()
		}
	}
	return []string{}
}

// Links lists the peers of every protocol that has connections.
func (n *Node) Links() []Link {
	out := []Link{}
	for _, p := range n.protocols {
		if l, ok := p.(LinkLister); ok {
			out = append(out, l.Links()...)
		}
	}
	return out
}

// Register adds a protocol; call it before Run.
func (n *Node) Register(p Protocol) { n.protocols = append(n.protocols, p) }

// Print publishes protocol lines for stdout.
func (n *Node) Print(protocol string, lines ...string) {
	n.bus.Publish(Event{Kind: EventLines, Protocol: protocol, Lines: lines})
}

// Record appends m to the chat log and announces it.
func (n *Node) Record(m ChatMessage) {
	m = n.chat.Append(m)
	n.bus.Publish(Event{Kind: EventMessage, Protocol: m.Protocol, Message: &m})
}

// Retract removes messages from the chat log and tells the page to reload
// it.
func (n *Node) Retract(protocol, origin string, from, to uint32) {
	if n.chat.Retract(protocol, origin, from, to) > 0 {
		n.bus.Publish(Event{Kind: EventRetract, Protocol: protocol})
	}
}

// Publish announces ev to every subscriber.
func (n *Node) Publish(ev Event) { n.bus.Publish(ev) }

// Run runs every protocol until ctx is cancelled or one of them fails, then
// stops the others and closes the event stream so subscribers can finish.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if n.bridge != nil {
		// The stream ends when the bus is closed below.
		bridged := make(chan struct{})
		go func() {
			defer close(bridged)
			n.runBridge(*n.bridge)
		}()
		defer func() { <-bridged }()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(n.protocols))
	for i, p := range n.protocols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = fmt.Errorf("%s: %w", p.Name(), err)
				cancel()
			}
		}()
	}
	wg.Wait()
	n.bus.Close()
	return errors.Join(errs...)
}

// Say sends text to every protocol that can carry chat.
func (n *Node) Say(text string) error {
	return dispatch(n, "send a chat message", func(s Sayer) error { return s.Say(text) })
}

// SayAll sends each of texts, in order, through every protocol that can
// carry chat: the client port's runs of messages.
func (n *Node) SayAll(texts []string) error {
	return dispatch(n, "send chat messages", func(s Sayer) error {
		if b, ok := s.(BatchSayer); ok {
			return b.SayAll(texts)
		}
		var errs []error
		for _, text := range texts {
			if err := s.Say(text); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// SendFile sends the file at path through every protocol that carries files.
func (n *Node) SendFile(path string) error {
	return dispatch(n, "send a file", func(f FileSender) error { return f.SendFile(path) })
}

// Command carries out one console line: a command of the first protocol
// that knows it, or else a chat message.
func (n *Node) Command(line string) error {
	if handled, err := n.ProtocolCommand(line); handled {
		return err
	}
	return n.Say(line)
}

// CommandHelp describes the protocols' console commands, in the order the
// protocols were registered.
func (n *Node) CommandHelp() []CommandHelp {
	var out []CommandHelp
	for _, p := range n.protocols {
		if d, ok := p.(CommandDescriber); ok {
			out = append(out, d.CommandHelp()...)
		}
	}
	return out
}

// ProtocolCommand offers line to the protocols with commands of their own
// and reports whether one took it. Unlike Command it never sends line as a
// chat message, so the chat view's /pull and /digit can tell the user that
// no protocol takes them.
func (n *Node) ProtocolCommand(line string) (bool, error) {
	for _, p := range n.protocols {
		if c, ok := p.(Commander); ok {
			if handled, err := c.Command(line); handled {
				if err != nil {
					return true, fmt.Errorf("%s: %w", p.Name(), err)
				}
				return true, nil
			}
		}
	}
	return false, nil
}

// AddPeer tells every protocol that takes peers about addr.
func (n *Node) AddPeer(addr string) error {
	return dispatch(n, "add a peer", func(a PeerAdder) error { return a.AddPeer(addr) })
}

// Rename changes the node's name in every protocol that uses it.
func (n *Node) Rename(name string) error {
	err := dispatch(n, "change the name", func(r Renamer) error { return r.Rename(name) })
	if err == nil {
		n.idMu.Lock()
		n.name = name
		n.idMu.Unlock()
		n.bus.Publish(Event{Kind: EventName, Name: name})
	}
	return err
}

// ErrUnsupported is returned when no registered protocol can do what was
// asked.
var ErrUnsupported = errors.New("no protocol supports this")

// dispatch calls every protocol that implements T; it fails when none does.
func dispatch[T any](n *Node, what string, call func(T) error) error {
	var errs []error
	handled := false
	for _, p := range n.protocols {
		t, ok := p.(T)
		if !ok {
			continue
		}
		handled = true
		if err := call(t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		}
	}
	if !handled {
		return fmt.Errorf("%s: %w", what, ErrUnsupported)
	}
	return errors.Join(errs...)
}
