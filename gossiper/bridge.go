package gossiper

import (
	"strings"
	"time"
)

// The bridge relays chat between protocols: a message a peer sent on one
// protocol goes out on every other protocol that can carry it (Relayer), as a
// message of ours. It reads the event stream like stdout and the GUI do.
//
// Loops: our own messages (From empty) are never relayed, and each protocol
// drops its own echoes, so one bridge never loops. Where two bridges join
// the same networks, each one's relays reach the other: a message is skipped
// when its origin and text, or the "origin: text" it carries, were already
// seen on another protocol within bridgeMemory.

// bridgeBuffer is how far the bridge may fall behind before it skips
// messages (and logs it). It never blocks the protocols that publish: a
// relay may have to wait for a protocol whose own goroutine is publishing.
const bridgeBuffer = 4096

const (
	bridgeMemory    = 10 * time.Minute
	bridgeMemoryMax = 8192
)

type bridge struct {
	node *Node
	// seen maps origin and text to the protocol they first came on.
	seen *Memory[string]
}

// EnableBridge makes Run relay chat between the protocols. It subscribes at
// once, so that no message recorded before Run is missed.
func (n *Node) EnableBridge() {
	if n.bridge == nil {
		sub := n.bus.Subscribe(bridgeBuffer, false)
		n.bridge = &sub
	}
}

func newBridge(n *Node) *bridge {
	return &bridge{node: n, seen: NewMemory[string](bridgeMemory, bridgeMemoryMax)}
}

func (n *Node) runBridge(sub Subscription) {
	b := newBridge(n)
	var reported uint64
	for ev := range sub.Events() {
		if d := sub.Dropped(); d > reported {
			n.log.WithField("skipped", d-reported).Warn("bridge fell behind: messages not relayed")
			reported = d
		}
		if ev.Kind == EventMessage && ev.Message != nil {
			b.handle(ev.Message)
		}
	}
}

func (b *bridge) handle(m *ChatMessage) {
	if m.From == "" || m.Text == "" {
		return
	}
	now := m.Time
	if now.IsZero() {
		now = time.Now()
	}
	fp := m.Origin + "\x00" + m.Text
	if b.seenElsewhere(fp, m.Protocol, now) {
		return
	}
	if origin, text, ok := strings.Cut(m.Text, ": "); ok && b.seenElsewhere(origin+"\x00"+text, m.Protocol, now) {
		return
	}
	b.seen.Add(fp, m.Protocol, now)
	log := b.node.log.WithField("origin", m.Origin).WithField("protocol", m.Protocol)
	for _, p := range b.node.protocols {
		r, ok := p.(Relayer)
		if !ok || p.Name() == m.Protocol {
			continue
		}
		if err := r.Relay(m.Origin, m.Text); err != nil {
			log.WithError(err).WithField("to", p.Name()).Warn("bridge could not relay")
		}
	}
}

func (b *bridge) seenElsewhere(fp, protocol string, now time.Time) bool {
	p, ok := b.seen.Get(fp, now)
	return ok && p != protocol
}
