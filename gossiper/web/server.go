// Package web is the node's GUI: an embedded page and the JSON API of
// interface.md, with server-sent events for live updates. It serves
// 127.0.0.1 only and refuses requests from other sites.
package web

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/httpjson"
	"github.com/sirupsen/logrus"
)

//go:embed static
var static embed.FS

const (
	// maxText is the longest chat text taken: what fits one rumor datagram
	// with room for the origin.
	maxText = 65000
	maxName = 256
)

// Handler serves the GUI and its API for node, with the routes its
// protocols add.
func Handler(node *gossiper.Node, log logrus.FieldLogger) (http.Handler, error) {
	s := &server{node: node, log: log.WithField("component", "gui")}
	page, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.HandleFunc("GET /id", s.getID)
	mux.HandleFunc("POST /id", s.postID)
	mux.HandleFunc("GET /message", s.getMessages)
	mux.HandleFunc("POST /message", s.postMessage)
	mux.HandleFunc("GET /node", s.getNodes)
	mux.HandleFunc("POST /node", s.postNode)
	mux.HandleFunc("GET /links", s.getLinks)
	mux.HandleFunc("GET /panels", s.getPanels)
	mux.HandleFunc("GET /events", s.events)
	mux.Handle("GET /metrics", node.Metrics().Handler())
	for _, r := range node.Routes() {
		if err := mount(mux, r); err != nil {
			return nil, err
		}
	}
	return s.guard(mux), nil
}

// mount adds a protocol's route; one that clashes with the GUI's own or
// another protocol's is refused rather than left to ServeMux's panic.
func mount(mux *http.ServeMux, r gossiper.Route) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", r.Pattern, p)
		}
	}()
	mux.Handle(r.Pattern, r.Handler)
	return nil
}

type server struct {
	node *gossiper.Node
	log  logrus.FieldLogger
}

// guard refuses what a page of another site could send: a Host other than
// our loopback name (DNS rebinding), and any state change whose Origin is
// not ours (cross-site POSTs from a browser).
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if host != "127.0.0.1" && host != "localhost" {
			httpjson.Error(w, http.StatusForbidden, fmt.Errorf("host %q refused: the GUI answers 127.0.0.1 and localhost only", r.Host))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if origin := r.Header.Get("Origin"); origin != "" {
				u, err := url.Parse(origin)
				if err != nil || u.Host != r.Host {
					httpjson.Error(w, http.StatusForbidden, fmt.Errorf("origin %q refused: requests must come from the GUI's own page", origin))
					return
				}
			} else if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				httpjson.Error(w, http.StatusForbidden, errors.New("cross-site request refused"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) getID(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, s.node.Identity())
}

func (s *server) postID(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := httpjson.Decode(w, r, &body, "name"); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if err := checkText("name", body.Name, maxName); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if err := s.node.Rename(body.Name); err != nil {
		s.fail(w, "rename", err)
		return
	}
	httpjson.Write(w, http.StatusOK, s.node.Identity())
}

// Page sizes of GET /message.
const (
	defaultPage = 100
	maxPage     = 1000
)

// getMessages serves the whole chat, or with after, before or limit a page
// of it: ?after=C&limit=N the N messages following cursor C (what a page
// that shows C lacks), ?before=C&limit=N the N preceding C (older history),
// ?limit=N the newest N.
func (s *server) getMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("after") && !q.Has("before") && !q.Has("limit") {
		httpjson.Write(w, http.StatusOK, httpjson.NonNil(s.node.Chat().Messages()))
		return
	}
	var after, before uint64
	limit := defaultPage
	for _, p := range []struct {
		name string
		dst  *uint64
	}{{"after", &after}, {"before", &before}} {
		if v := q.Get(p.name); q.Has(p.name) {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("%s=%q: want a cursor, a whole number", p.name, v))
				return
			}
			*p.dst = n
		}
	}
	if q.Has("after") && q.Has("before") {
		httpjson.Error(w, http.StatusBadRequest, errors.New("after and before: ask for one direction at a time"))
		return
	}
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("limit=%q: want 1 to %d", v, maxPage))
			return
		}
		limit = n
	}
	read := s.node.Chat().Before
	cursor := before
	if q.Has("after") {
		read, cursor = s.node.Chat().After, after
	}
	msgs, err := read(cursor, limit)
	if err != nil {
		s.fail(w, "read the chat history", err)
		return
	}
	httpjson.Write(w, http.StatusOK, httpjson.NonNil(msgs))
}

func (s *server) postMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := httpjson.Decode(w, r, &body, "text"); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if err := checkText("text", body.Text, maxText); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if err := s.node.Say(body.Text); err != nil {
		s.fail(w, "send", err)
		return
	}
	httpjson.Write(w, http.StatusOK, struct{}{})
}

func (s *server) getNodes(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, httpjson.NonNil(s.node.Peers()))
}

func (s *server) getPanels(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, s.node.Panels())
}

func (s *server) getLinks(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, s.node.Links())
}

func (s *server) postNode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Addr string `json:"addr"`
	}
	if err := httpjson.Decode(w, r, &body, "addr"); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if err := s.node.AddPeer(strings.TrimSpace(body.Addr)); err != nil {
		// The protocols refuse only what is wrong with the address.
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	httpjson.Write(w, http.StatusOK, httpjson.NonNil(s.node.Peers()))
}

// fail answers an error of the node itself: 400 when no protocol can do it,
// 500 otherwise.
func (s *server) fail(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, gossiper.ErrUnsupported) {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	s.log.WithError(err).Warn(what + " from the GUI failed")
	httpjson.Error(w, http.StatusInternalServerError, err)
}

func checkText(field, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("empty %s", field)
	case len(s) > max:
		return fmt.Errorf("%s of %d bytes is too long (at most %d)", field, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	return nil
}
