package whisper

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// What the namespace holds, so that a restart neither relays again what
// it had seen nor leaves new peers without the recent messages:
//
//	"seen/" + Unix nanoseconds (8 bytes, big endian) + sha256(ID)[:8] → ID
//	"backlog/" + sequence number (8 bytes, big endian) → the message as written on the wire
//
// Seen IDs sort by the time they were first seen, so the expired ones are
// the first in order. The ID is a value, not part of the key: a peer
// chooses it, and a key over bbolt's limit would fail every commit.
const (
	seenPrefix    = "seen/"
	backlogPrefix = "backlog/"
)

// seenPruneEvery is how often IDs that left the memory are deleted from
// the store: it holds at most this much more than the memory.
const seenPruneEvery = time.Minute

func seenKey(at time.Time, id string) []byte {
	k := make([]byte, 0, len(seenPrefix)+16)
	k = append(k, seenPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	h := sha256.Sum256([]byte(id))
	return append(k, h[:8]...)
}

func backlogKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(backlogPrefix), seq)
}

func storeError(key []byte, err error) error {
	return fmt.Errorf("whisper: store namespace %q key %q: %w", ProtocolName, key, err)
}

// rememberLocked adds id to the seen IDs and reports whether it was new;
// w.mu is held.
func (w *Whisper) rememberLocked(id string, now time.Time) bool {
	if !w.seen.Add(id, struct{}{}, now) {
		return false
	}
	if w.store != nil {
		w.store.Put(seenKey(now, id), []byte(id))
	}
	return true
}

// walkSeen calls live, oldest first, with every stored ID still within the
// window and the cap, and deletes the others. A key or value that does not
// decode is an error naming it.
func (w *Whisper) walkSeen(now time.Time, live func(id string, at time.Time)) error {
	n := 0
	if err := w.store.ForEach([]byte(seenPrefix), func(k, v []byte) error { n++; return nil }); err != nil {
		return err
	}
	i := 0
	return w.store.ForEach([]byte(seenPrefix), func(k, v []byte) error {
		i++
		var at time.Time
		if len(k) == len(seenPrefix)+16 {
			at = time.Unix(0, int64(binary.BigEndian.Uint64(k[len(seenPrefix):])))
		}
		if len(v) == 0 || !bytes.Equal(k, seenKey(at, string(v))) {
			return storeError(k, errors.New("not a seen ID with its time"))
		}
		if now.Sub(at) >= w.cfg.SeenWindow || n-i >= w.cfg.SeenMax {
			w.store.Delete(k)
			return nil
		}
		if live != nil {
			live(string(v), at)
		}
		return nil
	})
}

// pruneSeen deletes the stored IDs the memory has forgotten.
func (w *Whisper) pruneSeen() {
	if err := w.walkSeen(w.cfg.Clock.Now(), nil); err != nil {
		w.log.WithError(err).Warn("seen IDs not pruned")
	}
}

// load reads the seen IDs and the backlog of the last run, before the node
// runs.
func (w *Whisper) load() error {
	if w.store == nil {
		return nil
	}
	err := w.walkSeen(w.cfg.Clock.Now(), func(id string, at time.Time) {
		w.seen.Add(id, struct{}{}, at)
	})
	if err != nil {
		return err
	}
	type stored struct {
		key []byte
		msg backlogEntry
	}
	var all []stored
	err = w.store.ForEach([]byte(backlogPrefix), func(k, v []byte) error {
		if len(k) != len(backlogPrefix)+8 {
			return storeError(k, errors.New("not a backlog key"))
		}
		m, err := messages.ParseWhisper(v)
		if err == nil && m.Body == "" {
			err = errors.New("message without Body")
		}
		if err != nil {
			return storeError(k, err)
		}
		addr, err := messages.ParseWhisperAddr(m.Addr)
		if err != nil {
			return storeError(k, err)
		}
		all = append(all, stored{bytes.Clone(k), backlogEntry{addr.String(), bytes.Clone(v)}})
		return nil
	})
	if err != nil {
		return err
	}
	// A smaller Backlog than last time keeps the latest.
	keep := max(0, len(all)-len(w.backlog.entries))
	for _, s := range all[:keep] {
		w.store.Delete(s.key)
	}
	for _, s := range all[keep:] {
		w.backlog.put(s.msg)
	}
	if len(all) > 0 {
		w.backlog.seq = binary.BigEndian.Uint64(all[len(all)-1].key[len(backlogPrefix):]) + 1
	}
	w.backlog.store = w.store
	return nil
}

// persist writes each message the backlog takes and deletes the one
// it drops, so the store holds what the backlog holds.
func (l *backlog) persist(b []byte) {
	if l.store == nil {
		return
	}
	l.store.Put(backlogKey(l.seq), b)
	if n := uint64(len(l.entries)); l.seq >= n {
		l.store.Delete(backlogKey(l.seq - n))
	}
	l.seq++
}
