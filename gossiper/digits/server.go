package digits

import (
	"context"
	"net"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// serve answers every connection with our table and closes it, within the
// caps of cfg.Accept: a connection over them is closed at once. Each reply
// is written under a deadline, from a snapshot taken without holding the
// table lock during I/O, so a stalled or hostile puller delays nobody. A
// puller sends nothing and the server never reads, so the write deadline
// is the only one a connection needs.
func (d *Digits) serve(ctx context.Context) error {
	return gossiper.Serve(ctx, d.ln, d.cfg.Accept, d.log, func(conn net.Conn) { d.reply(ctx, conn) })
}

func (d *Digits) reply(ctx context.Context, conn net.Conn) {
	log := d.log.WithField("peer", conn.RemoteAddr().String())
	if d.adversarial.Load() {
		d.replyAdversarially(ctx, conn, log)
		return
	}
	// Socket deadlines are wall-clock time, whatever clock drives the protocol.
	conn.SetWriteDeadline(time.Now().Add(d.cfg.Timeout))
	n, err := conn.Write(d.table.formatted())
	if err != nil {
		log.WithError(err).Debug("digit reply not delivered")
	}
	d.metrics.Out("table", n)
}
