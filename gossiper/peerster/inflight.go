package peerster

import (
	"time"

	"github.com/peerster-chat/Peerster/vclock"
)

// inFlight are the rumors sent to one peer, with when each was last sent: a
// status that crosses them must not make us send them again. A rumor counts
// as in flight until the wait the caller gives has passed since it was
// sent; then, if the peer still lacks it, it was lost. An ack does not end
// it early: a status the network delayed behind a later one (jitter
// reorders datagrams) shows the peer lacking what it already acked, and
// each such status sent the rumor, and the run behind it, again.
//
// Records are kept in send order as well as by message, so that dropping
// the old ones costs only the records dropped: scanning the whole set on
// every status cost as much as the rest of the node together while a peer
// caught up on tens of thousands of messages.
type inFlight struct {
	at    map[vclock.Message]time.Time
	order []sentRecord
	head  int
}

type sentRecord struct {
	msg vclock.Message
	at  time.Time
}

// add notes msg sent at at; a message sent again is timed from the resend.
func (f *inFlight) add(msg vclock.Message, at time.Time) {
	if f.at == nil {
		f.at = make(map[vclock.Message]time.Time)
	}
	f.at[msg] = at
	f.order = append(f.order, sentRecord{msg: msg, at: at})
}

// forget takes msg out: it is known to be lost.
func (f *inFlight) forget(msg vclock.Message) { delete(f.at, msg) }

// has reports whether msg was sent less than wait ago and not forgotten.
func (f *inFlight) has(msg vclock.Message, now time.Time, wait time.Duration) bool {
	at, ok := f.at[msg]
	return ok && now.Sub(at) < wait
}

// sent reports whether msg was sent and is neither forgotten nor expired.
func (f *inFlight) sent(msg vclock.Message) bool {
	_, ok := f.at[msg]
	return ok
}

func (f *inFlight) len() int { return len(f.at) }

// expire drops, oldest first, the records of messages sent wait or longer
// ago, stopping at the first that is still on its way.
func (f *inFlight) expire(now time.Time, wait time.Duration) {
	for f.head < len(f.order) {
		r := f.order[f.head]
		at, ok := f.at[r.msg]
		switch {
		case !ok || !at.Equal(r.at):
			// Forgotten, or sent again since: a later record stands for it.
		case now.Sub(at) >= wait:
			delete(f.at, r.msg)
		default:
			f.compact()
			return
		}
		f.order[f.head] = sentRecord{}
		f.head++
	}
	f.compact()
}

// compact reclaims the front of order once it is half of the slice.
func (f *inFlight) compact() {
	if f.head == len(f.order) {
		f.order, f.head = f.order[:0], 0
		return
	}
	if f.head > 64 && f.head*2 >= len(f.order) {
		n := copy(f.order, f.order[f.head:])
		clear(f.order[n:])
		f.order, f.head = f.order[:n], 0
	}
}
