package gossiper

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// ServeClients reads client datagrams from conn (the UIPort) and carries out
// what they ask until ctx is cancelled. A bad datagram is logged and dropped.
func (n *Node) ServeClients(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 64<<10)
	metrics := n.metrics.Protocol("client")
	for {
		size, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// A transient socket error must not become a spinning loop.
			n.rateLog.Warn(n.log.WithError(err), "read from client port failed")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		log := n.log.WithField("client", from.String())
		m, err := messages.DecodeClient(buf[:size])
		if err != nil {
			metrics.Drop("undecodable")
			n.rateLog.Warn(log.WithError(err), "dropped client datagram")
			continue
		}
		metrics.In("request", size)
		n.handleClient(m, log)
	}
}

func (n *Node) handleClient(m *messages.Message, log logrus.FieldLogger) {
	if m.Name != nil {
		if err := n.Rename(*m.Name); err != nil {
			n.rateLog.Warn(log.WithError(err), "client rename refused")
		}
	}
	if m.Node != nil {
		if err := n.AddPeer(*m.Node); err != nil {
			n.rateLog.Warn(log.WithError(err), "client peer refused")
		}
	}
	if m.Digit != nil {
		if *m.Digit > 9 {
			n.rateLog.Warn(log.WithField("digit", *m.Digit), "client digit refused: want 0-9")
		} else {
			n.clientCommand(strconv.Itoa(int(*m.Digit)), "digit", log)
		}
	}
	if m.Pull != nil {
		n.clientCommand("+"+*m.Pull, "pull", log)
	}
	if m.File != nil {
		if err := n.SendFile(*m.File); err != nil {
			n.rateLog.Warn(log.WithError(err), "client file refused")
		}
	}
	if m.Text != "" {
		if err := n.Say(m.Text); err != nil {
			n.rateLog.Warn(log.WithError(err), "client message refused")
		}
	}
}

// clientCommand carries out the client's digit and pull, which are the
// console's commands; unlike a console line, one that no protocol takes is
// refused, never sent as chat.
func (n *Node) clientCommand(line, what string, log logrus.FieldLogger) {
	handled, err := n.ProtocolCommand(line)
	if !handled {
		err = ErrUnsupported
	}
	if err != nil {
		n.rateLog.Warn(log.WithError(err), "client "+what+" refused")
	}
}
