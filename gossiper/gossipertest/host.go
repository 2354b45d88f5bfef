// Package gossipertest has what the protocols' tests share: a
// gossiper.Host that records everything a protocol prints, records and
// publishes.
package gossipertest

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// Host is a gossiper.Host that keeps everything for assertions; it is safe
// for concurrent use.
type Host struct {
	protocol string
	mu       sync.Mutex
	lines    []string
	msgs     []gossiper.ChatMessage
	events   []gossiper.Event
	wake     chan struct{} // a line was printed
	metrics  *gossiper.Metrics
}

// NewHost returns an empty host for a protocol's tests; a line printed under
// another protocol's name is a bug of the protocol, and panics.
func NewHost(protocol string) *Host {
	return &Host{protocol: protocol, wake: make(chan struct{}, 1), metrics: gossiper.NewMetrics()}
}

// Metrics implements gossiper.Host: a registry of the host's own.
func (h *Host) Metrics() *gossiper.Metrics { return h.metrics }

// Print implements gossiper.Host.
func (h *Host) Print(protocol string, lines ...string) {
	if protocol != h.protocol {
		panic("printed for protocol " + protocol + ", want " + h.protocol)
	}
	h.mu.Lock()
	h.lines = append(h.lines, lines...)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Record implements gossiper.Host.
func (h *Host) Record(m gossiper.ChatMessage) {
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
}

// Retract implements gossiper.Host.
func (h *Host) Retract(protocol, origin string, from, to uint32) {
	h.mu.Lock()
	h.msgs = slices.DeleteFunc(h.msgs, func(m gossiper.ChatMessage) bool {
		return m.Protocol == protocol && m.Origin == origin && m.ID >= from && m.ID <= to
	})
	h.mu.Unlock()
}

// Publish implements gossiper.Host.
func (h *Host) Publish(ev gossiper.Event) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// Lines is every printed line, in order.
func (h *Host) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// Messages is every recorded chat message, in order.
func (h *Host) Messages() []gossiper.ChatMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

// Events is every published event of kind, in order.
func (h *Host) Events(kind gossiper.EventKind) []gossiper.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []gossiper.Event
	for _, ev := range h.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// Count is how many printed lines match.
func (h *Host) Count(match func(line string) bool) int {
	n := 0
	for _, l := range h.Lines() {
		if match(l) {
			n++
		}
	}
	return n
}

// Equal, Prefix and Contains are matchers for Count.
func Equal(s string) func(string) bool { return func(l string) bool { return l == s } }
func Prefix(s string) func(string) bool {
	return func(l string) bool { return strings.HasPrefix(l, s) }
}
func Contains(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

// WaitLine waits up to timeout until a printed line equals want.
func (h *Host) WaitLine(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for h.Count(Equal(want)) == 0 {
		select {
		case <-h.wake:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no line %q; printed:\n%s", want, strings.Join(h.Lines(), "\n"))
		}
	}
}
