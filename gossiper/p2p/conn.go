package p2p

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

const (
	// peerReadBuf is the real program's read buffer (tokio-util's
	// FramedRead, 8 KiB). It decodes each read on its own, and a read
	// never gets more than what is left of the buffer, which only comes
	// back whole once it is used up: so after T bytes of a connection,
	// the next read takes at most peerReadBuf - T mod peerReadBuf, and a
	// longer message is cut in two and lost.
	peerReadBuf = 8 << 10
	// minFiller is the smallest filler: a Heartbeat and an empty Error.
	minFiller = 16
	// maxSend caps what we write as one message: it fits a fresh buffer
	// with room for a filler left, see writeLoop.
	maxSend = peerReadBuf - minFiller
	// queueLen bounds the messages waiting for one connection's writer;
	// beyond it new ones are dropped and logged, so a slow peer costs
	// memory for a burst, never without bound.
	queueLen = 128
	// lingerAfterRefusal is how long a refused connection is drained after
	// our Error, so that closing with unread bytes does not reset the
	// connection before the peer has read why.
	lingerAfterRefusal = time.Second
	// serverName is what the real dialler asks for; no one checks it.
	serverName = "example.com"
	// expectedPair is the real program's answer to a first message that
	// is not a Pair (it was called AddMe once).
	expectedPair = "Expected `AddMe` message as first one"
)

// conn is one authenticated connection to a peer. Its writer goroutine is
// the only writer after the handshake; its reader is the goroutine that
// serves it.
type conn struct {
	tls     net.Conn
	id      uint64
	addr    netip.AddrPort // the peer's listen address: TCP source IP + Pair listen port
	remote  string         // the TCP remote address, for logs
	dialled bool           // we are the TLS client
	fp      [32]byte
	log     logrus.FieldLogger
	// rl is the connection's own, so that one stalled peer's dropped
	// messages neither flood the log nor hide another's.
	rl *gossiper.RateLog
	// metrics counts what the connection writes.
	metrics *gossiper.ProtocolMetrics

	out        chan outMsg
	queued     atomic.Uint64 // the latest chat message queued, by number
	wrote      atomic.Uint64 // the latest chat message written
	done       chan struct{}
	closeOnce  sync.Once
	retired    chan struct{}
	retireOnce sync.Once
}

func newConn(id uint64, addr netip.AddrPort, remote string, dialled bool, log logrus.FieldLogger) *conn {
	return &conn{
		id:      id,
		addr:    addr,
		remote:  remote,
		dialled: dialled,
		log:     log,
		rl:      gossiper.NewRateLog(nil),
		out:     make(chan outMsg, queueLen),
		done:    make(chan struct{}),
		retired: make(chan struct{}),
	}
}

// outMsg is one encoded message for the writer; seq numbers our chat
// messages (0 for the rest), so that one that never left can be sent again
// on the peer's next connection.
type outMsg struct {
	b   []byte
	seq uint64
}

// dialler is the identity of the side that opened the connection; the
// duplicate rule in attach compares it.
func (c *conn) dialler(self uint64) uint64 {
	if c.dialled {
		return self
	}
	return c.id
}

// send queues one encoded message without blocking; seq is its number if
// it is a chat message of ours.
func (c *conn) send(b []byte, seq uint64) {
	select {
	case <-c.done:
	case c.out <- outMsg{b, seq}:
		if seq > 0 {
			c.queued.Store(seq)
		}
	default:
		c.rl.Warn(c.log.WithField("queued", queueLen), "p2p peer is not keeping up; message dropped")
	}
}

// close ends the connection; the writer stops, the reader's next read fails.
// It closes the socket under TLS: crypto/tls's Close first writes a
// close_notify, which to a peer that stopped reading blocks for up to 5 s,
// and would hold up shutdown. A peer takes the bare close as the end of the
// connection all the same.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		socket := c.tls
		if tc, ok := c.tls.(interface{ NetConn() net.Conn }); ok {
			socket = tc.NetConn()
		}
		socket.Close()
	})
}

// retire winds down a connection that lost to another one to the same
// peer: what is queued is still written, then our side of TLS is closed,
// while reading goes on until the peer closes its side. Both sides retire
// the same connection, so a message already on its way is read, not lost
// with the socket.
func (c *conn) retire() {
	c.retireOnce.Do(func() { close(c.retired) })
}

// filler is n bytes (n >= minFiller) that the real reader takes as one
// Heartbeat, ignoring the rest of the read, and that our reader takes as a
// Heartbeat and a padding Error of spaces.
func filler(n int) []byte {
	b, _ := messages.AppendP2P(nil, messages.P2PMessage{Kind: messages.P2PHeartbeat})
	b, _ = messages.AppendP2P(b, messages.P2PMessage{Kind: messages.P2PError, Text: strings.Repeat(" ", n-minFiller)})
	return b
}

// isPadding is the Error of a filler.
func isPadding(text string) bool { return strings.Trim(text, " ") == "" }

// writeLoop writes one message per TLS write, at least gap apart, each
// under timeout: the real reader drops every message but the first of
// whatever one read returns, and a peer that stops reading must not hold
// this goroutine for ever. Socket deadlines and the gap are wall-clock
// time, whatever clock drives the protocol.
//
// It also keeps count of the real reader's buffer: a message that does not
// fit what is left of it goes after a filler that uses the rest up. What
// is left is never let fall under minFiller (other than to zero, which
// makes the buffer whole again), so a filler can always be made.
func (c *conn) writeLoop(timeout, gap time.Duration) {
	var last time.Time
	spare := peerReadBuf
	var write func(m outMsg) bool
	write = func(m outMsg) bool {
		if left := spare - len(m.b); left < 0 || (left > 0 && left < minFiller) {
			if !write(outMsg{b: filler(spare)}) {
				return false
			}
		}
		if wait := gap - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-c.done:
				t.Stop()
				return false
			case <-t.C:
			}
		}
		c.tls.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := c.tls.Write(m.b); err != nil {
			c.log.WithError(err).Debug("p2p write failed; connection closed")
			c.close()
			return false
		}
		c.metrics.Out("message", len(m.b))
		last = time.Now()
		if spare -= len(m.b); spare == 0 {
			spare = peerReadBuf
		}
		if m.seq > 0 {
			c.wrote.Store(m.seq)
		}
		return true
	}
	for {
		select {
		case <-c.done:
			return
		case m := <-c.out:
			if !write(m) {
				return
			}
		case <-c.retired:
			// This goroutine is the only receiver, so len is exact.
			for len(c.out) > 0 {
				if !write(<-c.out) {
					return
				}
			}
			if cw, ok := c.tls.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return
		}
	}
}

// errNotPair is a first message that is not a Pair.
type errNotPair struct{ kind messages.P2PKind }

func (e errNotPair) Error() string {
	return fmt.Sprintf("first message is %s, not Pair", e.kind)
}

// readPair reads exactly the peer's Pair and not one byte more: TLS starts
// right after it on the same socket. The variant comes first, so a peer
// whose first message is something else is answered at once rather than
// left waiting for 14 bytes.
func readPair(r io.Reader) (messages.P2PMessage, error) {
	var b [messages.P2PPairLen]byte
	if _, err := io.ReadFull(r, b[:4]); err != nil {
		return messages.P2PMessage{}, err
	}
	if k := messages.P2PKind(binary.LittleEndian.Uint32(b[:4])); k != messages.P2PPair {
		return messages.P2PMessage{}, errNotPair{k}
	}
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return messages.P2PMessage{}, err
	}
	m, _, err := messages.DecodeP2P(b[:])
	return m, err
}

// handshake runs the plaintext Pair exchange and then TLS on nc, within
// Timeout. We are the TLS client when we dialled. expect, when not zero, is
// the identity we dialled for; anyone else at that address is refused
// before TLS. On failure nc is closed.
func (p *P2P) handshake(ctx context.Context, nc net.Conn, dialled bool, expect uint64) (*conn, error) {
	ok := false
	defer func() {
		if !ok {
			nc.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	nc.SetDeadline(time.Now().Add(p.cfg.Timeout))

	// Both sides write their Pair at once and neither waits for the other.
	if _, err := nc.Write(p.pair); err != nil {
		return nil, fmt.Errorf("send our pair: %w", err)
	}
	theirs, err := readPair(nc)
	var np errNotPair
	if errors.As(err, &np) {
		p.refuse(nc)
	}
	if err != nil {
		return nil, fmt.Errorf("read pair: %w", err)
	}
	switch {
	case theirs.Identity == p.self:
		return nil, errSelf
	case expect != 0 && theirs.Identity != expect:
		return nil, fmt.Errorf("pair announces identity %d, we dialled %d", theirs.Identity, expect)
	}
	remote := nc.RemoteAddr().String()
	var ip netip.Addr
	if ta, isTCP := nc.RemoteAddr().(*net.TCPAddr); isTCP {
		ip = ta.AddrPort().Addr().Unmap()
	}
	c := newConn(theirs.Identity, netip.AddrPortFrom(ip, theirs.ListenPort), remote, dialled,
		p.log.WithField("peer", remote).WithField("identity", theirs.Identity))
	c.metrics = p.metrics

	var tc *tls.Conn
	if dialled {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(p.cfg.DialPause):
		}
		tc = tls.Client(nc, p.tlsConfig(p.client, c))
	} else {
		tc = tls.Server(nc, p.tlsConfig(p.server, c))
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls with identity %d: %w", c.id, err)
	}
	nc.SetDeadline(time.Time{})
	c.tls = tc
	ok = true
	return c, nil
}

// errSelf is a connection to ourselves: a peer listed our identity under
// another address, or -p2pConnect names our own.
var errSelf = errors.New("that node is us")

// refuse answers a first message that is not a Pair as the real program
// does (our Pair went already, then the Error), then closes gently.
func (p *P2P) refuse(nc net.Conn) {
	b, err := messages.EncodeP2P(messages.P2PMessage{Kind: messages.P2PError, Text: expectedPair})
	if err != nil {
		p.log.WithError(err).Error("p2p: encode our refusal")
		return
	}
	nc.SetDeadline(time.Now().Add(lingerAfterRefusal))
	if _, err := nc.Write(b); err != nil {
		return
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(nc, messages.MaxP2PMessageLen))
}

// tlsConfig is base with the check of this connection's peer: the leaf
// certificate must hash to the identity of its Pair, and must be the one
// first seen with that identity.
func (p *P2P) tlsConfig(base *tls.Config, c *conn) *tls.Config {
	cfg := base.Clone()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errNoCertificate
		}
		der := cs.PeerCertificates[0].Raw
		if got := IdentityOf(der); got != c.id {
			p.rl.Warn(c.log.WithField("certIdentity", got), "p2p peer's certificate does not match the identity of its Pair; refused")
			return fmt.Errorf("certificate hashes to identity %d, pair announced %d", got, c.id)
		}
		c.fp = fingerprint(der)
		if err := p.checkFingerprint(c.id, c.fp); err != nil {
			p.rl.Warn(c.log.WithError(err), "p2p peer refused")
			return err
		}
		return nil
	}
	return cfg
}

// baseTLS returns the client and server configurations. Only the hash
// check authenticates, as in the real program, so chains and names are not
// verified; resumption is off so that every connection shows its
// certificate; records are not split, so that one write is one record.
func baseTLS(cert tls.Certificate) (client, server *tls.Config) {
	client = &tls.Config{
		Certificates:                []tls.Certificate{cert},
		MinVersion:                  tls.VersionTLS12,
		ServerName:                  serverName,
		InsecureSkipVerify:          true,
		DynamicRecordSizingDisabled: true,
	}
	server = &tls.Config{
		Certificates:                []tls.Certificate{cert},
		MinVersion:                  tls.VersionTLS12,
		ClientAuth:                  tls.RequireAnyClientCert,
		SessionTicketsDisabled:      true,
		DynamicRecordSizingDisabled: true,
	}
	return client, server
}
