package gossiper

import (
	"math/rand"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff is the wait before retrying something that keeps failing: Min
// after the first failure, twice as long after each further one, never more
// than Max. Every retry of the node (dials of whisper and mesh peers, digit
// nodes that stopped answering, accept errors, store commits) takes its waits
// from here. The sequence is github.com/cenkalti/backoff/v5's exponential
// backoff without its own randomisation, which draws from a global source:
// jitter, where it is wanted, comes from the caller's injected one (Jitter).
// A Backoff is not safe for concurrent use.
type Backoff struct{ b backoff.ExponentialBackOff }

// NewBackoff starts a sequence at min, doubling up to max.
func NewBackoff(min, max time.Duration) *Backoff {
	return &Backoff{b: backoff.ExponentialBackOff{InitialInterval: min, Multiplier: 2, MaxInterval: max}}
}

// Next is the wait before the next retry.
func (b *Backoff) Next() time.Duration { return b.b.NextBackOff() }

// Reset starts the sequence again, after a success.
func (b *Backoff) Reset() { b.b.Reset() }

// BackoffAfter is the wait after failures failures in a row (at least one),
// for callers that keep a count rather than a sequence.
func BackoffAfter(min, max time.Duration, failures int) time.Duration {
	b := NewBackoff(min, max)
	d := b.Next()
	for i := 1; i < failures && d < max; i++ {
		d = b.Next()
	}
	return d
}

// Jitter draws waits from an injected random source, so that nodes that
// failed together do not retry together, and tests stay reproducible.
type Jitter struct {
	mu  sync.Mutex // rand.Rand is not safe for concurrent use
	rnd *rand.Rand
}

// NewJitter draws from rnd.
func NewJitter(rnd *rand.Rand) *Jitter { return &Jitter{rnd: rnd} }

// Spread returns d scaled by a random factor in [1-frac/2, 1+frac/2).
func (j *Jitter) Spread(d time.Duration, frac float64) time.Duration {
	j.mu.Lock()
	f := 1 - frac/2 + frac*j.rnd.Float64()
	j.mu.Unlock()
	return time.Duration(float64(d) * f)
}

// Less returns d less a random part of up to frac of it.
func (j *Jitter) Less(d time.Duration, frac float64) time.Duration {
	j.mu.Lock()
	f := 1 - frac*j.rnd.Float64()
	j.mu.Unlock()
	return time.Duration(float64(d) * f)
}
