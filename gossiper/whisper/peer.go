package whisper

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// peer is our write-only connection to one Addr, with its own goroutine and
// bounded queue, so that a slow or dead peer never holds up the others.
type peer struct {
	w      *Whisper
	addr   string
	log    logrus.FieldLogger
	ctx    context.Context
	cancel context.CancelFunc
	queue  chan []byte

	// configured peers (flags, discovery) are redialled for ever; peers
	// learned from a message are forgotten after ForgetAfter of failures.
	// Guarded by w.mu.
	configured bool

	connected atomic.Bool
	// overflow is set when the queue filled up: the connection is closed
	// and what was queued is thrown away before the next one.
	overflow atomic.Bool
	connMu   sync.Mutex
	conn     net.Conn
}

func newPeer(w *Whisper, addr string, configured bool) *peer {
	ctx, cancel := context.WithCancel(w.ctx)
	return &peer{
		w: w, addr: addr, configured: configured,
		log: w.log.WithField("peer", addr),
		ctx: ctx, cancel: cancel,
		queue: make(chan []byte, w.cfg.QueueLen),
	}
}

// send queues b without ever blocking the caller.
func (p *peer) send(b []byte) {
	select {
	case p.queue <- b:
	default:
		if p.overflow.CompareAndSwap(false, true) {
			p.w.rl.Warn(p.log.WithField("queued", cap(p.queue)), "peer cannot keep up: connection dropped with its queue")
			p.closeConn()
		}
	}
}

func (p *peer) closeConn() {
	p.connMu.Lock()
	if p.conn != nil {
		p.conn.Close()
	}
	p.connMu.Unlock()
}

func (p *peer) setConn(c net.Conn) {
	p.connMu.Lock()
	p.conn = c
	p.connMu.Unlock()
}

func (p *peer) dropQueued() {
	for {
		select {
		case <-p.queue:
		default:
			return
		}
	}
}

// run dials, writes until the connection fails, and dials again with
// backoff, until the node stops or the peer is given up.
func (p *peer) run() {
	defer p.w.wg.Done()
	defer p.w.forget(p)
	defer p.cancel()
	cfg := p.w.cfg
	retry := gossiper.NewBackoff(cfg.BackoffMin, cfg.BackoffMax)
	var failingSince time.Time
	for {
		conn, err := p.dial()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			now := cfg.Clock.Now()
			if failingSince.IsZero() {
				failingSince = now
			}
			p.w.mu.Lock()
			configured := p.configured
			p.w.mu.Unlock()
			if !configured && now.Sub(failingSince) >= cfg.ForgetAfter {
				p.w.rl.Info(p.log.WithError(err), "peer forgotten: unreachable")
				return
			}
			p.log.WithError(err).Debug("dial failed")
		} else {
			failingSince = time.Time{}
			retry.Reset()
			p.serve(conn)
			if p.ctx.Err() != nil {
				return
			}
		}
		if !p.sleep(retry.Next()) {
			return
		}
	}
}

func (p *peer) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.w.cfg.DialTimeout)
	defer cancel()
	return p.w.cfg.Dial.DialContext(ctx, "tcp", p.addr)
}

// sleep waits about d, jittered so that peers that failed together do not
// redial together; false means the peer was stopped meanwhile.
func (p *peer) sleep(d time.Duration) bool {
	return gossiper.Sleep(p.ctx, p.w.cfg.Clock, p.w.jitter.Spread(d, 0.5))
}

// serve writes the backlog and then the queue to conn until a write fails,
// the peer closes the connection, or the peer is stopped.
func (p *peer) serve(conn net.Conn) {
	p.setConn(conn)
	// A write to a stalled peer blocks until its deadline; closing the
	// connection when the peer is stopped is what lets Run return at once.
	stopClosing := context.AfterFunc(p.ctx, func() { conn.Close() })
	defer stopClosing()
	p.connected.Store(true)
	p.w.rl.Info(p.log, "connected")
	p.w.publishLinks()
	// The peer never writes on this connection (pdxgo does not, nor do
	// we); a read returns when it closes, so a dead peer is noticed
	// before our next write.
	gone := make(chan struct{})
	p.w.wg.Add(1)
	go func() {
		defer p.w.wg.Done()
		defer close(gone)
		var one [1]byte
		if n, _ := conn.Read(one[:]); n > 0 {
			p.w.rl.Warn(p.log, "peer wrote on a write-only connection: closed")
		}
		conn.Close()
	}()
	defer func() {
		conn.Close()
		<-gone
		p.connected.Store(false)
		p.setConn(nil)
		p.w.rl.Info(p.log, "disconnected")
		p.w.publishLinks()
	}()
	if p.overflow.Swap(false) {
		p.dropQueued()
	}
	// What was queued while we dialled may be in the backlog too: the
	// same encoded slice, sent once.
	sent := make(map[*byte]bool)
	for _, b := range p.w.backlogFor(p.addr) {
		sent[&b[0]] = true
		if !p.write(conn, b) {
			return
		}
	}
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-gone:
			return
		case b := <-p.queue:
			if sent[&b[0]] {
				continue
			}
			if p.overflow.Load() || !p.write(conn, b) {
				return
			}
		}
	}
}

func (p *peer) write(conn net.Conn, b []byte) bool {
	conn.SetWriteDeadline(time.Now().Add(p.w.cfg.WriteTimeout))
	if _, err := conn.Write(b); err != nil {
		if p.ctx.Err() == nil && !p.overflow.Load() {
			p.w.rl.Info(p.log.WithError(err), "write failed")
		}
		return false
	}
	p.w.metrics.Out("message", len(b))
	return true
}
