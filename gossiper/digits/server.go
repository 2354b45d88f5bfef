package digits

import (
	"context"
	"errors"
	"net"
	"time"
)

// serve answers every connection with our table and closes it. Each reply
// is written by its own goroutine under a deadline, from a snapshot taken
// without holding the table lock during I/O, so a stalled or hostile puller
// delays nobody. At most MaxConns replies are in flight; beyond that a
// connection is closed at once.
func (d *Digits) serve(ctx context.Context, ln net.Listener) error {
	slots := make(chan struct{}, d.cfg.MaxConns)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off, never spin.
			d.log.WithError(err).Warn("accept digit connection")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			d.log.WithField("peer", conn.RemoteAddr().String()).Warn("too many digit pulls at once; connection closed")
			conn.Close()
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-slots }()
			d.reply(ctx, conn)
		}()
	}
}

func (d *Digits) reply(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	log := d.log.WithField("peer", conn.RemoteAddr().String())
	if d.adversarial.Load() {
		d.replyAdversarially(ctx, conn, log)
		return
	}
	// Socket deadlines are wall-clock time, whatever clock drives the protocol.
	conn.SetWriteDeadline(time.Now().Add(d.cfg.Timeout))
	if _, err := conn.Write(d.table.formatted()); err != nil {
		log.WithError(err).Debug("digit reply not delivered")
	}
}
