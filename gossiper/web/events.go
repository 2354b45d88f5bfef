package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/httpjson"
)

// eventBuffer is how far a browser tab may fall behind before it misses
// events; it then refetches what it shows, so nothing is lost for good.
const eventBuffer = 256

// events streams one server-sent event per new message, peer list, digit
// change or name change. The subscription is lossy, so a slow or dead tab
// never holds up the node, and every write has a deadline.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	sub := s.node.Events().Subscribe(eventBuffer, false)
	defer sub.Cancel()
	// A comment line first, so the browser sees the stream open at once.
	if err := s.send(rc, w, ": connected\n\n"); err != nil {
		return
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			if err := s.send(rc, w, ": ping\n\n"); err != nil {
				return
			}
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			name, data := eventData(ev)
			if name == "" {
				continue
			}
			b, err := json.Marshal(data)
			if err != nil {
				s.log.WithError(err).Error("event not encoded")
				continue
			}
			if err := s.send(rc, w, fmt.Sprintf("event: %s\ndata: %s\n\n", name, b)); err != nil {
				return
			}
		}
	}
}

func (s *server) send(rc *http.ResponseController, w http.ResponseWriter, chunk string) error {
	rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprint(w, chunk); err != nil {
		return err
	}
	return rc.Flush()
}

// eventData maps a node event to a server-sent event; stdout lines are not
// for the page.
func eventData(ev gossiper.Event) (string, any) {
	switch ev.Kind {
	case gossiper.EventMessage:
		return "message", ev.Message
	case gossiper.EventPeers:
		return "peers", httpjson.NonNil(ev.Peers)
	case gossiper.EventUpdate:
		return ev.Update, ev.Data
	case gossiper.EventName:
		return "name", map[string]string{"name": ev.Name}
	case gossiper.EventRetract:
		return "retract", map[string]string{"protocol": ev.Protocol}
	}
	return "", nil
}
