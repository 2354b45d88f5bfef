package gossiper

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// ChatMessage is one message of the chat, whatever protocol carried it.
type ChatMessage struct {
	Protocol string `json:"protocol"`
	Origin   string `json:"origin"`
	ID       uint32 `json:"id"`
	Text     string `json:"text"`
	// From is the address the message came from; it is empty for
	// messages this node sent itself, which the bridge never relays.
	From string    `json:"from"`
	Time time.Time `json:"time"`
	// Suspect marks a rumor that carries our origin with an ID we never
	// issued: someone else speaking as us.
	Suspect bool `json:"suspect,omitempty"`
}

// ChatLog keeps every message the node has seen, oldest first. It is the one
// chat the user sees; protocols append to it and never remove from it. With
// a store, every message is also written there, keyed by its position, and
// the history is read back at start.
type ChatLog struct {
	mu    sync.RWMutex
	msgs  []ChatMessage
	store *Namespace
	// keys are the store keys of msgs, and next the key of the next
	// message: positions shift when a message is retracted, keys never do.
	keys []uint64
	next uint64
}

// Persist reads the history kept in ns into the log, without announcing
// it, and writes every message appended from now on to ns. Call it before
// the node runs.
func (l *ChatLog) Persist(ns *Namespace) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := ns.ForEach(nil, func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("chat history key %x: want 8 bytes", k)
		}
		var m ChatMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("chat history entry %x: %w", k, err)
		}
		l.msgs = append(l.msgs, m)
		l.keys = append(l.keys, binary.BigEndian.Uint64(k))
		l.next = binary.BigEndian.Uint64(k) + 1
		return nil
	})
	if err != nil {
		return err
	}
	l.store = ns
	return nil
}

// Append adds m to the log.
func (l *ChatLog) Append(m ChatMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		// A ChatMessage always encodes.
		b, _ := json.Marshal(m)
		l.store.Put(binary.BigEndian.AppendUint64(nil, l.next), b)
	}
	l.msgs = append(l.msgs, m)
	l.keys = append(l.keys, l.next)
	l.next++
}

// Retract removes the messages of protocol with origin and an ID in
// [from, to]: a node that restarted without its history and reused IDs the
// network held takes the network's messages for them, and sends its own
// again under new IDs, so that nothing is shown twice. It reports how many
// it removed.
func (l *ChatLog) Retract(protocol, origin string, from, to uint32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept, keys := l.msgs[:0], l.keys[:0]
	for i, m := range l.msgs {
		if m.Protocol == protocol && m.Origin == origin && m.ID >= from && m.ID <= to {
			if l.store != nil {
				l.store.Delete(binary.BigEndian.AppendUint64(nil, l.keys[i]))
			}
			continue
		}
		kept, keys = append(kept, m), append(keys, l.keys[i])
	}
	n := len(l.msgs) - len(kept)
	clear(l.msgs[len(kept):])
	l.msgs, l.keys = kept, keys
	return n
}

// Messages returns a copy of the log, oldest first.
func (l *ChatLog) Messages() []ChatMessage {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]ChatMessage(nil), l.msgs...)
}

// Len is the number of messages in the log.
func (l *ChatLog) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.msgs)
}
