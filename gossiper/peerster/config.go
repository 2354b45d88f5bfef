// Package peerster is the Peerster protocol of EPFL CS438 (2018, homework 1):
// simple broadcast, rumormongering with acks and coin flips, and
// anti-entropy with status vectors, over UDP.
package peerster

import (
	"errors"
	"math/rand"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"

	"github.com/sirupsen/logrus"
)

// Config is the gossiper's configuration. Zero durations and limits take the
// documented defaults, which are those of the handout and of complete 2018
// implementations, so that we interoperate with them.
type Config struct {
	// Name is the origin of our rumors. Required.
	Name string
	// Peers are the -peers addresses, in order.
	Peers []netip.AddrPort
	// Simple selects the handout's simple broadcast mode for client
	// messages; every packet kind is still understood.
	Simple bool
	// AntiEntropy is the period of status messages to a random peer.
	// Zero disables it (the -antiEntropy flag's default of 1 s is set by
	// main).
	AntiEntropy time.Duration
	// AckTimeout is how long a mongering exchange waits for the peer's
	// status before flipping the coin. Default 1 s.
	AckTimeout time.Duration
	// FreshFor is how long after a rumor was new to us an in-sync status
	// still counts as the end of an exchange and flips the coin. Default
	// 10 s; the extra traffic this causes stops when the network is quiet.
	FreshFor time.Duration
	// MaxPeers bounds the peer list so that packets from spoofed sources
	// cannot grow it without limit. Default 1024.
	MaxPeers int
	// Clock and Rand make timing and coin flips reproducible in tests.
	// Defaults: the real clock, a generator seeded from the time.
	Clock gossiper.Clock
	Rand  *rand.Rand
	// Log receives diagnostics; never stdout. Default: a discarding logger.
	Log logrus.FieldLogger
}

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, errors.New("peerster: a name is required")
	}
	if c.AntiEntropy < 0 {
		return c, errors.New("peerster: negative anti-entropy period")
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = time.Second
	}
	if c.FreshFor == 0 {
		c.FreshFor = 10 * time.Second
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = 1024
	}
	if c.Clock == nil {
		c.Clock = gossiper.SystemClock()
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		c.Log = l
	}
	return c, nil
}
