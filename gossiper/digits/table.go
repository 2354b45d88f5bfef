package digits

import (
	"sort"
	"sync"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// table maps addresses to their latest (time, digit). It is safe for
// concurrent use and its lock is never held during network I/O: the server
// formats a snapshot, the puller merges a reply it has already read.
type table struct {
	mu      sync.RWMutex
	self    string
	max     int
	entries map[string]messages.DigitEntry
	// confirmed marks the entries we hold as their owner served them, so
	// that a third party contradicting one at the same time is known to be
	// wrong without asking the owner again.
	confirmed map[string]bool
	// rev counts changes; reply caches the formatted table of revision
	// replyRev, since every pull is served the same bytes until a change.
	rev, replyRev uint64
	reply         []byte
	// store receives every changed entry; nil when nothing persists.
	store *gossiper.Namespace
}

func newTable(self string, max int, store *gossiper.Namespace) *table {
	return &table{self: self, max: max, store: store,
		entries: make(map[string]messages.DigitEntry), confirmed: make(map[string]bool)}
}

// setLocked records e; t.mu is held.
func (t *table) setLocked(e messages.DigitEntry) {
	t.entries[e.Addr] = e
	t.rev++
	if t.store != nil {
		t.store.Put(entryKey(e.Addr), entryValue(e))
	}
}

// setOwn records a digit typed by the user. Its time is now, or one second
// past our previous update if that is not earlier: others keep an entry
// unless the time is strictly later, so two changes within a second would
// otherwise leave the second one unseen.
func (t *table) setOwn(digit uint8, now int64) messages.DigitEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.entries[t.self]; ok && old.Time >= now {
		now = old.Time + 1
	}
	e := messages.DigitEntry{Addr: t.self, Time: now, Digit: digit}
	t.setLocked(e)
	return e
}

// own is our entry, if we have one.
func (t *table) own() (messages.DigitEntry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.entries[t.self]
	return e, ok
}

// mergeResult is what a merge did with one line.
type mergeResult int

const (
	mergeUpdated mergeResult = iota
	mergeNotLater
	mergeOwnAddress
	mergeFull
	// mergeConflict: a third party listed the time we hold with another
	// digit. Only the owner can tell which is true.
	mergeConflict
)

// mergeFrom takes the lines of a reply from source. A line about source
// itself is the owner's word and replaces ours at the same time or later;
// any other line replaces ours only when strictly later, as the protocol
// says, and a line about our own address never does. It returns the
// entries that changed a digit or added an address.
func (t *table) mergeFrom(source string, lines []messages.DigitEntry) (changed []messages.DigitEntry, results []mergeResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	results = make([]mergeResult, len(lines))
	for i, e := range lines {
		old, known := t.entries[e.Addr]
		owner := e.Addr == source
		switch {
		case e.Addr == t.self:
			results[i] = mergeOwnAddress
		case known && owner && e == old:
			t.confirmed[e.Addr] = true
			results[i] = mergeNotLater
		case known && e.Time == old.Time && !owner && e.Digit != old.Digit && !t.confirmed[e.Addr]:
			results[i] = mergeConflict
		case known && (e.Time < old.Time || e.Time == old.Time && !owner):
			results[i] = mergeNotLater
		case !known && len(t.entries) >= t.max:
			results[i] = mergeFull
		default:
			t.setLocked(e)
			if owner {
				t.confirmed[e.Addr] = true
			} else {
				delete(t.confirmed, e.Addr)
			}
			results[i] = mergeUpdated
			if !known || old.Digit != e.Digit {
				changed = append(changed, e)
			}
		}
	}
	return changed, results
}

// snapshot is the table sorted by address, so replies and "?" are stable.
func (t *table) snapshot() []messages.DigitEntry {
	t.mu.RLock()
	out := make([]messages.DigitEntry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// formatted is the table as a reply, formatted once per change: sorting and
// formatting 10,000 entries for every pull took longer than sending them.
func (t *table) formatted() []byte {
	t.mu.RLock()
	if t.reply != nil && t.replyRev == t.rev {
		defer t.mu.RUnlock()
		return t.reply
	}
	rev := t.rev
	t.mu.RUnlock()
	b := messages.FormatDigitTable(t.snapshot())
	t.mu.Lock()
	if t.rev == rev {
		t.reply, t.replyRev = b, rev
	}
	t.mu.Unlock()
	return b
}

// others lists every address but ours, sorted.
func (t *table) others() []string {
	t.mu.RLock()
	out := make([]string, 0, len(t.entries))
	for a := range t.entries {
		if a != t.self {
			out = append(out, a)
		}
	}
	t.mu.RUnlock()
	sort.Strings(out)
	return out
}
