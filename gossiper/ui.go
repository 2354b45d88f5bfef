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

// clientQueue is how many decoded client requests may wait for the node.
// Together with the socket's buffer it absorbs what arrives while the node
// is busy (a garbage collection, a slow stdout).
const clientQueue = 4096

// maxBatch bounds the chat messages handed to the protocols at once.
const maxBatch = 1024

// clientRequest is one decoded client datagram.
type clientRequest struct {
	msg  *messages.Message
	from net.Addr
}

// log is the request's logger, built only when something is logged: a
// logger per datagram was a tenth of the intake's CPU.
func (r clientRequest) log(base logrus.FieldLogger) logrus.FieldLogger {
	return base.WithField("client", r.from.String())
}

// textOnly reports whether the request only asks to send chat text, which
// may be batched with its neighbours.
func (r clientRequest) textOnly() bool {
	m := r.msg
	return m.Text != "" && m.Name == nil && m.Node == nil && m.Digit == nil && m.Pull == nil && m.File == nil
}

// ServeClients reads client datagrams from conn (the UIPort) and carries out
// what they ask until ctx is cancelled. A bad datagram is logged and
// dropped. Reading never waits for the protocols: requests queue for a
// second goroutine, which hands runs of chat messages to the protocols in
// one call each (Node.SayAll), in the order they came.
func (n *Node) ServeClients(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	requests := make(chan clientRequest, clientQueue)
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		n.handleClients(requests)
	}()
	err := n.readClients(ctx, conn, requests)
	close(requests)
	<-handled
	return err
}

func (n *Node) readClients(ctx context.Context, conn net.PacketConn, requests chan<- clientRequest) error {
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
		m, err := messages.DecodeClient(buf[:size])
		if err != nil {
			metrics.Drop("undecodable")
			n.rateLog.Warn(n.log.WithField("client", from.String()).WithError(err), "dropped client datagram")
			continue
		}
		metrics.In("request", size)
		requests <- clientRequest{msg: m, from: from}
	}
}

// handleClients carries out requests in order until the channel closes.
func (n *Node) handleClients(requests <-chan clientRequest) {
	var texts []string
	var next *clientRequest
	for {
		var r clientRequest
		if next != nil {
			r, next = *next, nil
		} else {
			var ok bool
			if r, ok = <-requests; !ok {
				return
			}
		}
		if !r.textOnly() {
			n.handleClient(r.msg, r.log(n.log))
			continue
		}
		// A run of chat messages: take what is already waiting.
		texts = append(texts[:0], r.msg.Text)
	drain:
		for len(texts) < maxBatch {
			select {
			case more, ok := <-requests:
				if !ok {
					break drain
				}
				if !more.textOnly() {
					next = &more
					break drain
				}
				texts = append(texts, more.msg.Text)
			default:
				break drain
			}
		}
		if err := n.SayAll(texts); err != nil {
			n.rateLog.Warn(r.log(n.log).WithError(err).WithField("messages", len(texts)), "client messages refused")
		}
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
