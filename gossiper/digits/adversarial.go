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
// robust node refuses or soon corrects, so that honest tables stay correct.
// For every entry we know, ours and the puller's among them, it sends the
// entry one hour in the future with another digit (refused as future), then
// the entry one second older than its time with another digit (refused by a
// node that knows the entry, a hijack attempt on the puller's own entry; a
// node that knows only an older update takes it until the real line, which
// is later, replaces it). Then malformed lines: the unspecified and
// broadcast addresses, a zero-padded address and port, digit 10, a float
// time, a leading space, garbage text; one 4,096-byte line without commas;
// then 300 lines about 127.0.0.1:9 one hour in the future, more than the 256
// a reader should take. No address in it leads off the machine, even for a
// node that believes it: the rest are on loopback, and the unspecified and
// broadcast addresses cannot be dialled (a weak peer tries and fails). After
// writing, the connection stays open for Stall (5 s by default) before it
// closes.
//
// A claim at a later valid time could never be corrected by the honest
// line, and one at the same time only by pulling the owner (which our nodes
// do, the seed's do not), so the reply makes neither.
func adversarialReply(known []messages.DigitEntry, now int64) []byte {
	var b []byte
	for _, e := range known {
		b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: e.Addr, Time: now + 3600, Digit: (e.Digit + 1) % 10})
	}
	for _, e := range known {
		if e.Time > 1 {
			b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: e.Addr, Time: e.Time - 1, Digit: (e.Digit + 5) % 10})
		}
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
		b = messages.AppendDigitLine(b, messages.DigitEntry{Addr: "127.0.0.1:9", Time: now + 3600, Digit: uint8(i % 10)})
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
	d.rl.Info(log, "answered a pull adversarially")
	select {
	case <-ctx.Done():
	case <-time.After(d.cfg.Stall):
	}
}
