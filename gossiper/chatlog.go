package gossiper

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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
	// Cursor is the message's place in the log, set by Append: it grows
	// with every message and is never reused, so a reader asks for what
	// came after the last cursor it showed (ChatLog.Page). It starts at 1.
	Cursor uint64 `json:"cursor"`
}

// DefaultChatMemory is how many messages a log without a store keeps: the
// newest ones. With a store every message is kept, on disk.
const DefaultChatMemory = 10000

// ChatLog keeps every message the node has seen, oldest first. It is the one
// chat the user sees; protocols append to it and never remove from it,
// except through Retract.
//
// Without a store the messages are kept in memory. With one (Persist), the
// store is the source of texts: memory holds the keys of the messages in
// order, and the messages appended since their last commit, so a history
// of 100,000 messages costs under a megabyte.
type ChatLog struct {
	mu sync.RWMutex
	// Without a store: the newest messages, at most Memory of them
	// (DefaultChatMemory when zero), and the cursor of the next.
	Memory  int
	msgs    []ChatMessage
	nextMem uint64
	// With a store: keys in order, the next key, and what was appended
	// and may not be committed yet.
	store *Namespace
	keys  []uint64
	next  uint64
	tail  map[uint64]ChatMessage
}

// Keys of the chat namespace: the messages, and what lets start-up know
// them without reading them (a scan would read every page of the file).
const (
	chatMessagePrefix = 'm' // 'm' key:8 -> the message as JSON
	chatNextKey       = "n" // -> the key of the next message, 8 bytes
	chatGonePrefix    = 'g' // 'g' key:8 -> a retracted message's key
)

// Persist learns which messages the store keeps, and writes every message
// appended from now on to it. Call it before the node runs. Messages are
// read when asked for; start-up reads two keys and the retracted ones.
func (l *ChatLog) Persist(ns *Namespace) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next, err := ns.Get([]byte(chatNextKey))
	if err != nil {
		return err
	}
	if next != nil && len(next) != 8 {
		return fmt.Errorf("chat history key %q: want 8 bytes, have %d", chatNextKey, len(next))
	}
	gone := make(map[uint64]bool)
	err = ns.ForEach([]byte{chatGonePrefix}, func(k, v []byte) error {
		if len(k) != 9 {
			return fmt.Errorf("chat history key %x: not a retracted key", k)
		}
		gone[binary.BigEndian.Uint64(k[1:])] = true
		return nil
	})
	if err != nil {
		return err
	}
	if next != nil {
		l.next = binary.BigEndian.Uint64(next)
	}
	l.keys = make([]uint64, 0, int(l.next)-len(gone))
	for k := range l.next {
		if !gone[k] {
			l.keys = append(l.keys, k)
		}
	}
	l.store, l.tail = ns, make(map[uint64]ChatMessage)
	return nil
}

func chatKey(k uint64) []byte { return binary.BigEndian.AppendUint64([]byte{chatMessagePrefix}, k) }

// Append adds m to the log and returns it with its cursor.
func (l *ChatLog) Append(m ChatMessage) ChatMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		l.nextMem++
		m.Cursor = l.nextMem
		l.msgs = append(l.msgs, m)
		if limit := l.memory(); len(l.msgs) > limit+limit/4 {
			// Trimmed a quarter at a time, so appends stay O(1) on average.
			kept := copy(l.msgs, l.msgs[len(l.msgs)-limit:])
			clear(l.msgs[kept:])
			l.msgs = l.msgs[:kept]
		}
		return m
	}
	key := l.next
	l.next++
	m.Cursor = key + 1
	// A ChatMessage always encodes.
	b, _ := json.Marshal(m)
	l.store.Put(chatKey(key), b)
	l.store.Put([]byte(chatNextKey), binary.BigEndian.AppendUint64(nil, l.next))
	l.keys = append(l.keys, key)
	l.tail[key] = m
	l.store.Barrier(func() {
		l.mu.Lock()
		delete(l.tail, key)
		l.mu.Unlock()
	})
	return m
}

func (l *ChatLog) memory() int {
	if l.Memory > 0 {
		return l.Memory
	}
	return DefaultChatMemory
}

// After returns up to limit messages following the cursor, oldest first;
// cursor 0 is before the first message. A page reads only what it returns,
// whatever the size of the history.
func (l *ChatLog) After(cursor uint64, limit int) ([]ChatMessage, error) {
	return l.page(true, cursor, limit)
}

// Before returns up to limit messages preceding the cursor, oldest first;
// cursor 0 is after the newest message.
func (l *ChatLog) Before(cursor uint64, limit int) ([]ChatMessage, error) {
	return l.page(false, cursor, limit)
}

func (l *ChatLog) page(forward bool, cursor uint64, limit int) ([]ChatMessage, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int
	cursorAt := func(i int) uint64 { return l.msgs[i].Cursor }
	if l.store == nil {
		n = len(l.msgs)
	} else {
		n = len(l.keys)
		cursorAt = func(i int) uint64 { return l.keys[i] + 1 }
	}
	var from, to int
	if forward {
		from = sort.Search(n, func(i int) bool { return cursorAt(i) > cursor })
		to = min(n, from+limit)
	} else {
		to = n
		if cursor > 0 {
			to = sort.Search(n, func(i int) bool { return cursorAt(i) >= cursor })
		}
		from = max(0, to-limit)
	}
	if l.store == nil {
		return append([]ChatMessage(nil), l.msgs[from:to]...), nil
	}
	return l.read(l.keys[from:to])
}

// Messages returns a copy of the log, oldest first.
func (l *ChatLog) Messages() []ChatMessage {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.store == nil {
		return append([]ChatMessage(nil), l.msgs...)
	}
	out, err := l.read(l.keys)
	if err != nil {
		// The store was readable at start; a failure now is the disk's.
		return append(out, ChatMessage{Protocol: "node", Text: "[chat history unreadable: " + err.Error() + "]", Time: time.Now()})
	}
	return out
}

// read is the messages of keys (a run of the index, in order), from the
// tail or the store; l.mu is held. It walks the stored messages from the
// first key once, in one transaction, beside keys (both are in key order):
// a key the store lacks is still in the tail, and a stored key not in the
// index was retracted.
func (l *ChatLog) read(keys []uint64) ([]ChatMessage, error) {
	out := make([]ChatMessage, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	i := 0
	err := l.store.ForEachFrom([]byte{chatMessagePrefix}, chatKey(keys[0]), func(sk, v []byte) error {
		if len(sk) != 9 {
			return fmt.Errorf("chat history key %x: not a message key", sk)
		}
		k := binary.BigEndian.Uint64(sk[1:])
		for ; i < len(keys) && keys[i] <= k; i++ {
			if m, ok := l.tail[keys[i]]; ok {
				out = append(out, m)
				continue
			}
			if keys[i] < k {
				return fmt.Errorf("chat history key %x: missing", chatKey(keys[i]))
			}
			var m ChatMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("chat history key %x: %w", sk, err)
			}
			m.Cursor = k + 1
			out = append(out, m)
		}
		if i == len(keys) {
			return errStopWalk
		}
		return nil
	})
	if err != nil && err != errStopWalk {
		return out, err
	}
	for ; i < len(keys); i++ {
		m, ok := l.tail[keys[i]]
		if !ok {
			return out, fmt.Errorf("chat history key %x: missing", chatKey(keys[i]))
		}
		out = append(out, m)
	}
	return out, nil
}

// errStopWalk ends a walk of the store once every wanted key was read.
var errStopWalk = errors.New("walk done")

// Len is the number of messages in the log.
func (l *ChatLog) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.store == nil {
		return len(l.msgs)
	}
	return len(l.keys)
}

// Retract removes the messages of protocol with origin and an ID in
// [from, to]: a node that restarted without its history and reused IDs the
// network held takes the network's messages for them, and sends its own
// again under new IDs, so that nothing is shown twice. It reports how many
// it removed.
func (l *ChatLog) Retract(protocol, origin string, from, to uint32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	match := func(m ChatMessage) bool {
		return m.Protocol == protocol && m.Origin == origin && m.ID >= from && m.ID <= to
	}
	if l.store == nil {
		before := len(l.msgs)
		kept := l.msgs[:0]
		for _, m := range l.msgs {
			if !match(m) {
				kept = append(kept, m)
			}
		}
		clear(l.msgs[len(kept):])
		l.msgs = kept
		return before - len(kept)
	}
	msgs, err := l.read(l.keys)
	if err != nil {
		return 0
	}
	kept := l.keys[:0]
	for i, m := range msgs {
		k := l.keys[i]
		if match(m) {
			l.store.Delete(chatKey(k))
			l.store.Put(binary.BigEndian.AppendUint64([]byte{chatGonePrefix}, k), []byte{1})
			delete(l.tail, k)
			continue
		}
		kept = append(kept, k)
	}
	removed := len(l.keys) - len(kept)
	l.keys = kept
	return removed
}
