package whisper

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"golang.org/x/time/rate"
)

// serveInbound reads one accepted, read-only connection until it ends,
// sends malformed input, or floods us; gossiper.Serve, which runs it within
// cfg.Accept, closes the connection after it and when the node stops. A
// host banned for flooding is refused before anything is read.
func (w *Whisper) serveInbound(conn net.Conn) {
	log := w.log.WithField("peer", conn.RemoteAddr().String())
	ip := remoteIP(conn)
	w.mu.Lock()
	banned := ip.IsValid() && w.bans.banned(ip.String(), w.cfg.Clock.Now())
	w.mu.Unlock()
	if banned {
		w.rl.Info(log, "connection refused: host banned for flooding")
		return
	}
	log.Debug("peer connected")
	dec := messages.NewWhisperDecoder(conn)
	limit := rate.NewLimiter(rate.Limit(w.cfg.Rate), w.cfg.Burst)
	// The connection's peer is known by the Addr of its first message:
	// on loopback every peer shares an IP.
	var first string
	for {
		m, err := dec.Decode()
		if err != nil {
			if err == io.EOF || w.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				log.Debug("peer disconnected")
			} else {
				w.rl.Warn(log.WithError(err), "connection closed: bad input")
			}
			return
		}
		now := w.cfg.Clock.Now()
		if first == "" {
			first = m.Addr
			if ap, err := messages.ParseWhisperAddr(m.Addr); err == nil {
				first = ap.String()
			}
			log = log.WithField("addr", first)
			w.mu.Lock()
			banned := w.bans.banned(first, now)
			w.mu.Unlock()
			if banned {
				w.rl.Info(log, "connection refused: peer banned for flooding")
				return
			}
		}
		if !limit.AllowN(now, 1) {
			w.ban(first, ip, now)
			w.rl.Warn(log.WithField("rate", w.cfg.Rate).WithField("burst", w.cfg.Burst).WithField("for", w.cfg.BanFor),
				"flood: connection closed and peer banned")
			return
		}
		w.receive(m, log)
	}
}

// ban refuses a flooding peer's connections for BanFor: by the Addr of its
// first message, and by its host unless that is loopback, which honest
// local peers share. Its messages relayed by others are still taken, and we
// still write to it: a flooder could name any Addr, and must not be able to
// cut an honest peer off.
func (w *Whisper) ban(addr string, ip netip.Addr, now time.Time) {
	until := now.Add(w.cfg.BanFor)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bans.add(addr, until, now)
	if ip.IsValid() && !ip.IsLoopback() {
		w.bans.add(ip.String(), until, now)
	}
}

func remoteIP(conn net.Conn) netip.Addr {
	if tcp, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
