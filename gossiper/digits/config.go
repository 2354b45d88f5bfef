// Package digits is the pull-style digit gossip of Cornell CS 6410 (Fall
// 2021) over TCP: every node serves its table of addr → (time, digit) as CSV
// to whoever connects, pulls a random known node every few seconds, and
// keeps for every address the digit with the latest time.
package digits

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// Config is the digit gossip's configuration. Zero values take the
// documented defaults, which follow the course's programs.
type Config struct {
	// Self is our address as other nodes know it, canonical ip:port. The
	// server listens on it; lines about it from others are never taken.
	Self string
	// Digit, when set, is the initial own digit; otherwise our entry
	// appears when a digit is first set.
	Digit *uint8
	// PullEvery is the period of pulls of a random known node. Default 3 s.
	PullEvery time.Duration
	// Timeout bounds each step of a pull (dial, whole reply) and the
	// server's write of a reply. Default 3 s.
	Timeout time.Duration
	// Accept caps the connections being answered at once: MaxConns in
	// all (default 256) and MaxPerIP from one address (default 32);
	// further ones are closed at once. QuietTimeout has nothing to do: a
	// reply is written under Timeout and the connection closed, and no
	// byte is ever read.
	Accept gossiper.ListenerLimits
	// MaxEntries caps the table so hostile replies, 256 new lines at a
	// time, cannot grow it without bound. Default 16384 (about 1.5 MB),
	// room for the 10,000-node tables the benchmarks serve.
	MaxEntries int
	// BackoffBase and BackoffMax bound the blocklisting of a node that
	// answered once and then failed: base × 2^(failures-1), at most max.
	// Defaults 3 s and 5 min.
	BackoffBase, BackoffMax time.Duration
	// Stall is how long an adversarial reply keeps the connection open
	// after writing. Default 5 s.
	Stall time.Duration
	// Store, when set, keeps the table, our own entry with its time
	// included, across restarts: New loads it and every change is written
	// to it. Nil: the table lives in memory only.
	Store *gossiper.Namespace
	Clock gossiper.Clock
	Rand  *rand.Rand
	Dial  gossiper.Dialer
	// Log receives diagnostics; Report receives the console's "!" and
	// "a" answers, which are not protocol lines (stderr in the daemon).
	Log    logrus.FieldLogger
	Report io.Writer
}

func (c Config) withDefaults() (Config, error) {
	if c.Self == "" {
		return c, errors.New("digits: our own address is required")
	}
	if c.Digit != nil && *c.Digit > 9 {
		return c, errors.New("digits: the digit must be 0–9")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PullEvery, 3*time.Second)
	def(&c.Timeout, 3*time.Second)
	def(&c.BackoffBase, 3*time.Second)
	def(&c.BackoffMax, 5*time.Minute)
	def(&c.Stall, 5*time.Second)
	accept, err := c.Accept.WithDefaults()
	if err != nil {
		return c, fmt.Errorf("digits: %w", err)
	}
	c.Accept = accept
	if c.MaxEntries == 0 {
		c.MaxEntries = 16384
	}
	if c.Clock == nil {
		c.Clock = gossiper.SystemClock()
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	if c.Dial == nil {
		c.Dial = &net.Dialer{}
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.Log = l
	}
	if c.Report == nil {
		c.Report = io.Discard
	}
	return c, nil
}
