package peerster

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"golang.org/x/time/rate"
)

// Why a rumor of an origin we do not know yet can be refused. Every origin
// we take adds an entry to the status we send with every ack and every
// anti-entropy round; the status must fit one datagram, or acks and
// anti-entropy stop at every node that took the origin (three rumors with
// 30,000-byte origins once did exactly that to a whole network).
var (
	errOriginTooLong = errors.New("origin name too long")
	errStatusFull    = errors.New("status budget full")
	errOriginQuota   = errors.New("too many new origins from this address")
)

// originPolicy admits new origins. Three bounds, in order:
//
//   - an origin name is at most MaxOriginLen bytes (2018 names are SCIPER
//     numbers, letters and uuids);
//   - the encoded status stays within MaxStatusBytes, half a datagram, so it
//     always fits with room to spare whatever peers send;
//   - each source address may bring NewOriginBurst new origins at once and
//     then one every NewOriginEvery, so a flood of junk origins from one
//     address takes hours, not seconds, to use up the budget, and what it
//     leaves meanwhile stays open to newcomers heard through other peers.
//
// Our own names are always admitted: a rename must never make our messages
// unsendable, and the budget's spare half covers them.
type originPolicy struct {
	cfg     Config
	used    int // upper bound of our status's encoded size
	sources *gossiper.Memory[*rate.Limiter]
}

// statusHeader is the GossipPacket field 3 tag and its length varint.
const statusHeader = 1 + 3

func newOriginPolicy(cfg Config) *originPolicy {
	return &originPolicy{
		cfg:  cfg,
		used: statusHeader,
		// A source's bucket is forgotten an hour after it first brought
		// an origin, by then it would have refilled anyway; the count
		// bounds memory when spoofed sources are many.
		sources: gossiper.NewMemory[*rate.Limiter](time.Hour, 4*cfg.MaxPeers),
	}
}

// statusEntrySize is an upper bound of one PeerStatus in an encoded
// StatusPacket: the entry's tag and length, the name's tag, length and
// bytes, NextID's tag and a varint of at most 5 bytes.
func statusEntrySize(origin string) int {
	name := 1 + varintLen(uint64(len(origin))) + len(origin)
	inner := name + 1 + 5
	return 1 + varintLen(uint64(inner)) + inner
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// admit decides on a new origin heard from source; own marks our names.
// On success the origin's entry is counted against the budget.
func (p *originPolicy) admit(origin string, source netip.AddrPort, own bool, now time.Time) error {
	size := statusEntrySize(origin)
	if !own {
		if len(origin) > p.cfg.MaxOriginLen {
			return fmt.Errorf("%w: %d bytes, at most %d", errOriginTooLong, len(origin), p.cfg.MaxOriginLen)
		}
		if p.used+size > p.cfg.MaxStatusBytes {
			return fmt.Errorf("%w: %d of %d bytes used", errStatusFull, p.used, p.cfg.MaxStatusBytes)
		}
		key := source.String()
		bucket, ok := p.sources.Get(key, now)
		if !ok {
			bucket = rate.NewLimiter(rate.Every(p.cfg.NewOriginEvery), p.cfg.NewOriginBurst)
			p.sources.Add(key, bucket, now)
		}
		if !bucket.AllowN(now, 1) {
			return fmt.Errorf("%w: %d at once, then one every %s", errOriginQuota, p.cfg.NewOriginBurst, p.cfg.NewOriginEvery)
		}
	}
	p.used += size
	return nil
}
