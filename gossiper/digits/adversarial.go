package digits

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// adversarialReply is what adversarial mode ("a") answers a pull with,
// built to test other implementations' defences with information that a
// robust node must refuse, so that honest tables stay correct. For every
// entry we know, ours and the puller's among them, it sends the entry one
// hour in the future with another digit (refused as future), then the same
// time with another digit (a spoof the strictly-later rule refuses; for the
// puller's own address, a hijack). Then malformed lines: the unspecified and
// broadcast addresses, a zero-padded address and port, digit 10, a float
// time, a leading space, garbage text; one 4,096-byte line without commas;
// then 300 lines about 127.0.0.1:9 with time 1, more than the 256 a reader
// should take. No address in it leads off the machine, even for a node that
// believes it: the rest are on loopback, and the unspecified and broadcast
// addresses cannot be dialled (a weak peer tries and fails). After writing,
// the connection stays open for Stall (5 s by default) before it closes.
//
// A claim with a later, valid time cannot be told from an honest update, so
// the reply never makes one.
func adversarialReply(known []messages.DigitEntry, now int64) []byte {
	var b []byte
	for _, e := range known {
		b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: e.Addr, Time: now + 3600, Digit: (e.Digit + 1) % 10})
	}
	for _, e := range known {
		b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: e.Addr, Time: e.Time, Digit: (e.Digit + 5) % 10})
	}
	for _, garbage := range []string{
		"0.0.0.0:6410,1630281124,1",
		"255.255.255.255:6410,1630281124,2",
		"127.000.000.001:6410,1630281124,3",
		"127.0.0.1:06410,1630281124,4",
		"127.0.0.1:6410,1630281124,10",
		"127.0.0.1:6410,1630281124.5,6",
		" 127.0.0.1:6410,1630281124,7",
		"Gossiping something adversarial:)",
	} {
		b = append(b, garbage...)
		b = append(b, '\n')
	}
	b = append(b, strings.Repeat("9", 4096)...)
	b = append(b, '\n')
	for i := 0; i < 300; i++ {
		b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: "127.0.0.1:9", Time: 1, Digit: uint8(i % 10)})
	}
	return b
}

func (d *Digits) replyAdversarially(ctx context.Context, conn net.Conn, log logrus.FieldLogger) {
	conn.SetWriteDeadline(time.Now().Add(d.cfg.Timeout))
	reply := adversarialReply(d.table.snapshot(), d.cfg.Clock.Now().Unix())
	if _, err := conn.Write(reply); err != nil {
		log.WithError(err).Debug("adversarial reply not delivered")
		return
	}
	log.Info("answered a pull adversarially")
	select {
	case <-ctx.Done():
	case <-time.After(d.cfg.Stall):
	}
}
