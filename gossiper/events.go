package gossiper

import (
	"sync"
	"sync/atomic"
)

// EventKind says what an Event carries.
type EventKind int

const (
	// EventLines carries protocol lines for stdout, to be written together.
	EventLines EventKind = iota
	// EventMessage carries a chat message that was just added to the log.
	EventMessage
	// EventPeers carries a protocol's new peer list.
	EventPeers
	// EventName carries the node's new name.
	EventName
	// EventUpdate carries a change of a protocol's own state (the digit
	// gossip's table, say): the page gets event Update with Data as JSON.
	EventUpdate
	// EventRetract says messages were removed from the chat log.
	EventRetract
)

// Event is one thing that happened on the node. Subscribers (stdout, the
// GUI, the bridge) pick the kinds they care about.
type Event struct {
	Kind     EventKind
	Protocol string
	Lines    []string
	Message  *ChatMessage
	Peers    []string
	Name     string
	// Update and Data are what an EventUpdate carries.
	Update string
	Data   any
}

// Bus fans events out to subscribers. A lossless subscriber (stdout) slows
// publishers down rather than miss a line; a lossy one (a browser tab) is
// skipped when its buffer is full, so a stalled reader never stalls gossip.
type Bus struct {
	mu     sync.RWMutex
	subs   map[*subscription]struct{}
	closed bool
}

type subscription struct {
	ch       chan Event
	lossless bool
	dropped  atomic.Uint64
}

// NewBus returns a bus with no subscribers.
func NewBus() *Bus {
	return &Bus{subs: make(map[*subscription]struct{})}
}

// Subscription is a subscriber's handle.
type Subscription struct {
	bus *Bus
	sub *subscription
}

// Events is the channel of events; it is closed by Cancel or Bus.Close.
func (s Subscription) Events() <-chan Event { return s.sub.ch }

// Dropped counts events a lossy subscriber missed because it was behind.
func (s Subscription) Dropped() uint64 { return s.sub.dropped.Load() }

// Cancel stops delivery and closes the channel. The subscriber must not be
// blocked inside Publish's send when it cancels, so a lossless subscriber
// should drain its channel until Cancel returns.
func (s Subscription) Cancel() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s.sub]; ok {
		delete(b.subs, s.sub)
		close(s.sub.ch)
	}
}

// Subscribe registers a subscriber with a buffer of the given size.
func (b *Bus) Subscribe(buffer int, lossless bool) Subscription {
	sub := &subscription{ch: make(chan Event, buffer), lossless: lossless}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(sub.ch)
	} else {
		b.subs[sub] = struct{}{}
	}
	return Subscription{bus: b, sub: sub}
}

// Publish delivers ev to every subscriber.
func (b *Bus) Publish(ev Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for sub := range b.subs {
		if sub.lossless {
			sub.ch <- ev
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			sub.dropped.Add(1)
		}
	}
}

// Close ends every subscription; later publishes go nowhere. The daemon calls
// it once its protocols have stopped, so stdout gets every last line.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for sub := range b.subs {
		close(sub.ch)
		delete(b.subs, sub)
	}
}
