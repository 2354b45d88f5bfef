package peerster

import "time"

// rtt estimates a peer's round trip, from a rumor we send to the status
// that acks it, as TCP does (RFC 6298), so that an exchange whose rumor or
// ack was lost ends after a few round trips instead of the handout's fixed
// second. The handout calls its 1-second timeout a first setting; it stays
// the ceiling, and the timeout of a peer never measured.
type rtt struct {
	srtt, rttvar time.Duration
	measured     bool
	// backoff doubles the timeout after each timeout in a row, twice at
	// most, so a peer that got slow is not flooded with early timeouts.
	// Not further, as TCP does: at 50% random loss timeouts come in rows
	// that say nothing of congestion, and waits that grew to the 1 s
	// ceiling made 20 messages take 7.6 s to reach a 20-node graph instead
	// of 6.2 s (virtual time, 10 seeds). Resends stay bounded by maxResends.
	backoff uint
}

// sample takes one measured round trip.
func (r *rtt) sample(d time.Duration) {
	if !r.measured {
		r.srtt, r.rttvar, r.measured = d, d/2, true
	} else {
		diff := r.srtt - d
		if diff < 0 {
			diff = -diff
		}
		r.rttvar = (3*r.rttvar + diff) / 4
		r.srtt = (7*r.srtt + d) / 8
	}
	r.backoff = 0
}

// maxBackoff is how many times in a row the timeout may double.
const maxBackoff = 2

// timedOut notes an exchange that ended without an ack.
func (r *rtt) timedOut() {
	if r.backoff < maxBackoff {
		r.backoff++
	}
}

// timeout is how long to wait for the next ack: SRTT + 4·RTTVAR, between
// lowest and highest, doubled per timeout in a row (maxBackoff times).
func (r *rtt) timeout(lowest, highest time.Duration) time.Duration {
	if !r.measured {
		return highest
	}
	d := max(r.srtt+4*r.rttvar, lowest)
	for range r.backoff {
		if d >= highest {
			break
		}
		d *= 2
	}
	return min(d, highest)
}

// crossing is how long after we sent a rumor a status of the peer may
// still have been sent before the rumor arrived: the ack timeout once the
// round trip is known, else lowest.
func (r *rtt) crossing(lowest, highest time.Duration) time.Duration {
	if !r.measured {
		return lowest
	}
	return r.timeout(lowest, highest)
}
