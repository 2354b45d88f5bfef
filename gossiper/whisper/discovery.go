package whisper

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// listenDiscovery opens the broadcast socket: every node on the host binds
// the same port, so it is shared (SO_REUSEADDR), and it may send broadcasts.
func listenDiscovery(port int) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: broadcastControl}
	return lc.ListenPacket(context.Background(), "udp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
}

// listenAnnouncements dials every address announced by others.
func (w *Whisper) listenAnnouncements(conn net.PacketConn, answer chan<- struct{}) {
	defer w.wg.Done()
	stop := context.AfterFunc(w.ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 512)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if w.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			w.rl.Warn(w.log.WithError(err), "discovery read failed")
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		addr, err := messages.ReadWhisperAnnouncement(buf[:n])
		if err != nil {
			w.log.WithField("peer", from.String()).WithError(err).Debug("discovery datagram ignored")
			continue
		}
		if w.ensurePeer(addr, true) {
			select {
			case answer <- struct{}{}:
			default:
			}
		}
	}
}

// announce broadcasts our Addr at once, then every AnnounceEvery and
// whenever a new peer was heard.
func (w *Whisper) announce(conn net.PacketConn, answer <-chan struct{}) {
	defer w.wg.Done()
	to := &net.UDPAddr{IP: net.IPv4bcast, Port: w.cfg.DiscoveryPort}
	for {
		if _, err := conn.WriteTo([]byte(w.self), to); err != nil && w.ctx.Err() == nil {
			w.rl.Warn(w.log.WithError(err), "discovery announcement failed")
		}
		done := make(chan struct{})
		t := w.cfg.Clock.AfterFunc(w.cfg.AnnounceEvery, func() { close(done) })
		select {
		case <-done:
		case <-answer:
			t.Stop()
		case <-w.ctx.Done():
			t.Stop()
			return
		}
	}
}
