// Package whisper is a node of the whispernet (pdxgo/whispering-gophers):
// JSON objects streamed over TCP, one write-only connection to every peer we
// know and one read-only connection from each, every message relayed to all.
// It follows the real program where it differs from its README (nick under
// "omitempty", Timestamp in seconds, echoes to the sender) and adds the
// seed's extensions: hashed IDs, forgotten IDs, backlog, files, discovery
// and flood control.
package whisper

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// Config is a whisper node's configuration. Zero values take the documented
// defaults.
type Config struct {
	// Addr is where we accept peers and what our messages carry as Addr,
	// a concrete ip:port other peers can dial.
	Addr string
	// Peers are dialled at start and redialled for as long as we run.
	Peers []string
	// Nick goes with our messages; Rename changes it.
	Nick string
	// DownloadDir receives files sent to the whispernet; empty means files
	// are shown in the chat but not saved.
	DownloadDir string
	// Store, when set, keeps the seen IDs (within SeenWindow and SeenMax)
	// and the backlog across restarts, so a restarted node relays no
	// message again and still gives new peers the recent ones. New loads
	// them. Nil: both live in memory only.
	Store *gossiper.Namespace
	// MaxFile caps a received or sent file. Default messages.MaxWhisperFile.
	MaxFile int

	// Discovery announces Addr by UDP broadcast to DiscoveryPort every
	// AnnounceEvery and dials the addresses others announce. Defaults
	// 5555 and 10 s.
	Discovery     bool
	DiscoveryPort int
	AnnounceEvery time.Duration

	// Accept caps the accepted connections: MaxConns in all (default
	// 256) and MaxPerIP from one address (default 32), so that one
	// address cannot lock the others out. A pdxgo peer sends nothing
	// while nobody chats, and the message it next writes into a
	// connection we closed is lost, so no connection is closed for being
	// quiet alone: only after QuietTimeout (default 10 s) of silence,
	// once connections are being refused. Our own nodes notice such a
	// close, redial with backoff and replay their backlog.
	Accept gossiper.ListenerLimits
	// MaxPeers caps the peers we write to. Default 256.
	MaxPeers int
	// QueueLen bounds each peer's send queue; a peer whose queue
	// overflows loses its connection and what was queued. Default 1024.
	QueueLen int
	// Rate (messages per second) and Burst are each accepted connection's
	// flood limit; a connection over it is closed and its peer banned for
	// BanFor. Defaults 50/s, 200 and 5 min.
	Rate   float64
	Burst  int
	BanFor time.Duration
	// IDs are remembered for SeenWindow and at most SeenMax of them;
	// messages with a Timestamp older than the window are dropped, since
	// their IDs may have been forgotten. Defaults 1 h and 65536.
	SeenWindow time.Duration
	SeenMax    int
	// Backlog is how many recent messages a newly connected peer is sent.
	// Default 50.
	Backlog int
	// DialTimeout bounds a dial and WriteTimeout one write. Defaults 5 s
	// and 10 s.
	DialTimeout, WriteTimeout time.Duration
	// A peer that cannot be reached is redialled after BackoffMin,
	// doubling to BackoffMax (defaults 1 s and 1 min). A peer learned
	// from a message is forgotten after failing for ForgetAfter (default
	// 10 min) until it shows up again; configured peers never are.
	BackoffMin, BackoffMax, ForgetAfter time.Duration

	Clock gossiper.Clock
	Rand  *rand.Rand
	Dial  gossiper.Dialer
	Log   logrus.FieldLogger
}

func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		return c, errors.New("whisper: our own address is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	defInt(&c.MaxFile, messages.MaxWhisperFile)
	defInt(&c.DiscoveryPort, 5555)
	def(&c.AnnounceEvery, 10*time.Second)
	def(&c.Accept.QuietTimeout, 10*time.Second)
	accept, err := c.Accept.WithDefaults()
	if err != nil {
		return c, fmt.Errorf("whisper: %w", err)
	}
	c.Accept = accept
	defInt(&c.MaxPeers, 256)
	defInt(&c.QueueLen, 1024)
	if c.Rate == 0 {
		c.Rate = 50
	}
	defInt(&c.Burst, 200)
	def(&c.BanFor, 5*time.Minute)
	def(&c.SeenWindow, time.Hour)
	defInt(&c.SeenMax, 65536)
	defInt(&c.Backlog, 50)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, time.Minute)
	def(&c.ForgetAfter, 10*time.Minute)
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
		c.Log = logrus.StandardLogger()
	}
	return c, nil
}
