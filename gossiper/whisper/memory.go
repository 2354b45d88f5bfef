package whisper

import (
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// backlog keeps the last few messages, encoded, for newly connected peers.
type backlog struct {
	entries []backlogEntry
	next    int
	full    bool
	// store receives every message added, under the sequence number seq;
	// nil when nothing persists.
	store *gossiper.Namespace
	seq   uint64
}

type backlogEntry struct {
	addr string
	b    []byte
}

func newBacklog(n int) *backlog { return &backlog{entries: make([]backlogEntry, n)} }

func (l *backlog) add(addr string, b []byte) {
	if len(l.entries) == 0 {
		return
	}
	l.put(backlogEntry{addr, b})
	l.persist(b)
}

func (l *backlog) put(e backlogEntry) {
	l.entries[l.next] = e
	l.next = (l.next + 1) % len(l.entries)
	l.full = l.full || l.next == 0
}

// forPeer is the backlog oldest first, without the peer's own messages.
func (l *backlog) forPeer(addr string) [][]byte {
	var out [][]byte
	n := l.next
	start := 0
	if l.full {
		n, start = len(l.entries), l.next
	}
	for i := 0; i < n; i++ {
		e := l.entries[(start+i)%len(l.entries)]
		if e.addr != addr {
			out = append(out, e.b)
		}
	}
	return out
}

func (w *Whisper) backlogFor(addr string) [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.backlog.forPeer(addr)
}

// bans are the peers refused for a while after flooding, by Addr or IP.
type bans struct{ until map[string]time.Time }

// maxBans bounds the table; past it, the bans closest to their end go.
const maxBans = 4096

func newBans() *bans { return &bans{until: make(map[string]time.Time)} }

func (b *bans) add(key string, until time.Time, now time.Time) {
	if len(b.until) >= maxBans {
		for k, t := range b.until {
			if !t.After(now) {
				delete(b.until, k)
			}
		}
	}
	for len(b.until) >= maxBans {
		var soonest string
		for k, t := range b.until {
			if soonest == "" || t.Before(b.until[soonest]) {
				soonest = k
			}
		}
		delete(b.until, soonest)
	}
	b.until[key] = until
}

func (b *bans) banned(key string, now time.Time) bool {
	t, ok := b.until[key]
	if ok && !t.After(now) {
		delete(b.until, key)
		return false
	}
	return ok
}
