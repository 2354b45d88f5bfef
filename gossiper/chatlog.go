package gossiper

import (
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
// chat the user sees; protocols append to it and never remove from it.
type ChatLog struct {
	mu   sync.RWMutex
	msgs []ChatMessage
}

// Append adds m to the log.
func (l *ChatLog) Append(m ChatMessage) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
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
