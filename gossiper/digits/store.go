package digits

import (
	"bytes"
	"fmt"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// The namespace holds one key per table entry, our own included:
// "entry/" + address → "address,time,digit", the entry's line as served
// without its LF. Our own entry is the one at our address; after a change
// of address the old one is an entry like any other.
const entryPrefix = "entry/"

func entryKey(addr string) []byte { return []byte(entryPrefix + addr) }

func entryValue(e messages.DigitEntry) []byte {
	b := messages.AppendDigitLine(nil, e)
	return b[:len(b)-1]
}

// farFuture (Unix seconds) lets a stored line through the reader's check
// of times in the future: our own entry runs ahead of the clock after quick
// changes, and a clock set back must not turn the table into an error.
const farFuture = 1 << 40

// load reads the stored table into t, before anyone else uses it. A value
// that does not parse is an error naming its key: starting afresh would
// give our entry a new time and silently forget the rest.
func (t *table) load() error {
	if t.store == nil {
		return nil
	}
	var extra [][]byte
	err := t.store.ForEach([]byte(entryPrefix), func(k, v []byte) error {
		e, err := messages.ParseDigitLine(v, time.Unix(farFuture, 0))
		if err == nil && !bytes.Equal(k, entryKey(e.Addr)) {
			err = fmt.Errorf("holds the line of %s", e.Addr)
		}
		if err != nil {
			return fmt.Errorf("digits: store namespace %q key %q: %w", ProtocolName, k, err)
		}
		// A smaller MaxEntries than last time: what no longer fits goes,
		// except our own entry.
		if len(t.entries) >= t.max && e.Addr != t.self {
			extra = append(extra, bytes.Clone(k))
			return nil
		}
		t.entries[e.Addr] = e
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range extra {
		t.store.Delete(k)
	}
	t.rev++
	return nil
}
