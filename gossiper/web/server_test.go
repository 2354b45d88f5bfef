package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/httpjson"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// fakeProtocol records what the API asks of the node.
type fakeProtocol struct {
	mu       sync.Mutex
	said     []string
	peers    []string
	names    []string
	commands []string
}

func (f *fakeProtocol) Name() string { return "fake" }
func (f *fakeProtocol) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{
		{Key: "gossipAddr", Label: "gossip address", Value: "127.0.0.1:5000"},
		{Key: "digitAddr", Label: "digit address", Value: "127.0.0.1:5000"},
	}
}
func (f *fakeProtocol) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeProtocol) Say(text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.said = append(f.said, text)
	return nil
}
func (f *fakeProtocol) AddPeer(a string) error {
	if !strings.Contains(a, ":") {
		return errors.New("bad address " + a)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = append(f.peers, a)
	return nil
}
func (f *fakeProtocol) Rename(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = append(f.names, n)
	return nil
}
func (f *fakeProtocol) Peers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.peers...)
}

// Routes and Panels stand for a protocol's own API and box on the page: a
// level it shows and lets the user set.
func (f *fakeProtocol) Routes() []gossiper.Route {
	return []gossiper.Route{
		{Pattern: "GET /level", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpjson.Write(w, http.StatusOK, map[string]int{"level": 4})
		})},
		{Pattern: "POST /level", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Level json.Number `json:"level"`
			}
			if err := httpjson.Decode(w, r, &body, "level"); err != nil {
				httpjson.Error(w, http.StatusBadRequest, err)
				return
			}
			f.Command(body.Level.String())
			httpjson.Write(w, http.StatusOK, struct{}{})
		})},
	}
}
func (f *fakeProtocol) Panels() []gossiper.Panel {
	return []gossiper.Panel{{ID: "level", Title: "Level",
		Columns: []gossiper.PanelColumn{{Title: "Level", Kind: gossiper.ColumnText}},
		Rows:    []gossiper.PanelRow{{Cells: []string{"4"}, Own: true}},
		Refresh: []string{"level"}}}
}
func (f *fakeProtocol) Links() []gossiper.Link {
	return []gossiper.Link{{Protocol: "p2p", Peer: "123", Addr: "127.0.0.1:8080", Alive: true}}
}
func (f *fakeProtocol) Command(line string) (bool, error) {
	if len(line) != 1 {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, line)
	return true, nil
}

func newTestServer(t *testing.T) (*httptest.Server, *gossiper.Node, *fakeProtocol) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	node := gossiper.NewNode(log)
	p := &fakeProtocol{}
	node.Register(p)
	node.SetName("A")
	h, err := Handler(node, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, node, p
}

type response struct {
	status int
	body   string
}

func do(t *testing.T, srv *httptest.Server, method, path, contentType, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}
}

const jsonType = "application/json"

func TestGetEndpointsAnswerAsTheInterfaceSays(t *testing.T) {
	srv, node, p := newTestServer(t)
	p.peers = []string{"127.0.0.1:5001", "127.0.0.1:5002"}
	node.Record(gossiper.ChatMessage{Protocol: "peerster", Origin: "B", ID: 1, Text: "hi", From: "127.0.0.1:5001", Time: time.Unix(1795238500, 0).UTC()})
	for path, want := range map[string]string{
		"/id": `{"name":"A","gossipAddr":"127.0.0.1:5000","digitAddr":"127.0.0.1:5000","fields":[` +
			`{"protocol":"fake","key":"gossipAddr","label":"gossip address","value":"127.0.0.1:5000"},` +
			`{"protocol":"fake","key":"digitAddr","label":"digit address","value":"127.0.0.1:5000"}]}`,
		"/message": `[{"protocol":"peerster","origin":"B","id":1,"text":"hi","from":"127.0.0.1:5001","time":"2026-11-21T05:21:40Z","cursor":1}]`,
		"/node":    `["127.0.0.1:5001","127.0.0.1:5002"]`,
		"/level":   `{"level":4}`,
		"/panels": `[{"protocol":"fake","id":"level","title":"Level","columns":[{"title":"Level","kind":"text"}],` +
			`"rows":[{"cells":["4"],"own":true}],"empty":"","refresh":["level"]}]`,
		"/links": `[{"protocol":"p2p","peer":"123","addr":"127.0.0.1:8080","alive":true}]`,
	} {
		r := do(t, srv, "GET", path, "", "", nil)
		if r.status != 200 || strings.TrimSpace(r.body) != want {
			t.Errorf("GET %s: %d %s, want 200 %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, srv, "GET", "/", "", "", nil); r.status != 200 || !strings.Contains(r.body, "<html") {
		t.Errorf("GET /: %d, %.80q", r.status, r.body)
	}
}

func TestPostsTakeJSONAndFormBodies(t *testing.T) {
	srv, node, p := newTestServer(t)
	for _, c := range []struct{ path, ctype, body string }{
		{"/message", jsonType, `{"text":"hello"}`},
		{"/message", "application/x-www-form-urlencoded", "text=hi+there"},
		{"/node", jsonType, `{"addr":"127.0.0.1:5003"}`},
		{"/node", "application/x-www-form-urlencoded", "addr=127.0.0.1%3A5004"},
		{"/id", jsonType, `{"name":"Alice"}`},
		{"/level", jsonType, `{"level":7}`},
		{"/level", "application/x-www-form-urlencoded", "level=3"},
	} {
		if r := do(t, srv, "POST", c.path, c.ctype, c.body, nil); r.status != 200 {
			t.Errorf("POST %s %s: %d %s", c.path, c.body, r.status, r.body)
		}
	}
	if strings.Join(p.said, "|") != "hello|hi there" || len(p.peers) != 2 || p.names[0] != "Alice" ||
		strings.Join(p.commands, "|") != "7|3" || node.Identity().Name != "Alice" {
		t.Fatalf("said %q peers %q names %q commands %q id %+v", p.said, p.peers, p.names, p.commands, node.Identity())
	}
}

func TestBadInputIs400AndChangesNothing(t *testing.T) {
	srv, node, p := newTestServer(t)
	long := strings.Repeat("x", maxText+1)
	for _, c := range []struct{ path, ctype, body string }{
		{"/message", jsonType, `{"text":""}`},
		{"/message", jsonType, `{"text":"   "}`},
		{"/message", jsonType, `{"text":`},
		{"/message", jsonType, `{"text":"a"}{"text":"b"}`},
		{"/message", jsonType, `{"text":"` + long + `"}`},
		{"/message", jsonType, `["not an object"]`},
		{"/message", "application/x-www-form-urlencoded", "other=1"},
		{"/node", jsonType, `{"addr":"nonsense"}`},
		{"/id", jsonType, `{"name":""}`},
		{"/level", "application/x-www-form-urlencoded", `{"level":1}`},
		{"/level", jsonType, `{"level":"x"}`},
		{"/level", jsonType, `{"level":`},
	} {
		r := do(t, srv, "POST", c.path, c.ctype, c.body, nil)
		var e struct {
			Error string `json:"error"`
		}
		if r.status != 400 || json.Unmarshal([]byte(r.body), &e) != nil || e.Error == "" {
			t.Errorf("POST %s %.60s: %d %.100s, want 400 with an error", c.path, c.body, r.status, r.body)
		}
	}
	if len(p.said)+len(p.peers)+len(p.names)+len(p.commands) != 0 || node.Identity().Name != "A" {
		t.Fatalf("bad input changed something: said %q peers %q names %q commands %q", p.said, p.peers, p.names, p.commands)
	}
}

func TestOtherSitesCannotPost(t *testing.T) {
	srv, _, p := newTestServer(t)
	own := srv.URL
	for _, c := range []struct {
		header map[string]string
		want   int
	}{
		{map[string]string{"Origin": "http://evil.example"}, 403},
		{map[string]string{"Origin": "null"}, 403},
		{map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{map[string]string{"Origin": own}, 200},
		{nil, 200}, // curl and the client tools send no Origin
	} {
		r := do(t, srv, "POST", "/message", jsonType, `{"text":"x"}`, c.header)
		if r.status != c.want {
			t.Errorf("POST with %v: %d %s, want %d", c.header, r.status, r.body, c.want)
		}
	}
	if len(p.said) != 2 {
		t.Fatalf("said %q, want the two allowed posts only", p.said)
	}
	// DNS rebinding: a page of evil.example resolving to 127.0.0.1.
	u, _ := url.Parse(srv.URL)
	req, _ := http.NewRequest("GET", srv.URL+"/message", nil)
	req.Host = "evil.example:" + u.Port()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("GET with Host evil.example: %d, want 403", resp.StatusCode)
	}
}

func TestEventsStreamMessagesPeersDigitsAndNames(t *testing.T) {
	srv, node, _ := newTestServer(t)
	resp, err := srv.Client().Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // ": connected": the subscription exists now
	node.Record(gossiper.ChatMessage{Protocol: "peerster", Origin: "B", ID: 2, Text: "<img src=x onerror=alert(1)>"})
	node.Publish(gossiper.Event{Kind: gossiper.EventLines, Lines: []string{"not for the page"}})
	node.Publish(gossiper.Event{Kind: gossiper.EventPeers, Peers: []string{"127.0.0.1:5001"}})
	node.Publish(gossiper.Event{Kind: gossiper.EventUpdate, Protocol: "digits", Update: "digit", Data: messages.DigitEntry{Addr: "127.0.0.1:7001", Time: 5, Digit: 9}})
	node.Rename("Z")
	want := []string{
		"event: message", `data: {"protocol":"peerster","origin":"B","id":2,"text":"\u003cimg src=x onerror=alert(1)\u003e","from":"","time":"0001-01-01T00:00:00Z","cursor":1}`,
		"event: peers", `data: ["127.0.0.1:5001"]`,
		"event: digit", `data: {"addr":"127.0.0.1:7001","time":5,"digit":9}`,
		"event: name", `data: {"name":"Z"}`,
	}
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(got) < len(want) && lines.Scan() {
			if l := lines.Text(); l != "" {
				got = append(got, l)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("events so far %q", got)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAStalledEventsClientNeverHoldsUpTheNode(t *testing.T) {
	srv, node, _ := newTestServer(t)
	// A tab that opens the stream and never reads from it again.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(srv.URL, "http://"))
	time.Sleep(100 * time.Millisecond) // the handler has subscribed
	big := strings.Repeat("x", 60000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Far more than the subscription buffer and the socket buffers.
		for i := 0; i < 2000; i++ {
			node.Record(gossiper.ChatMessage{Protocol: "peerster", Origin: "B", ID: uint32(i + 1), Text: big})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("recording messages blocked behind a stalled /events client")
	}
	// The API still answers meanwhile.
	if r := do(t, srv, "GET", "/id", "", "", nil); r.status != 200 {
		t.Fatalf("GET /id: %d", r.status)
	}
}

// GET /message pages by cursor: after a cursor, before one, or the newest.
func TestMessagePages(t *testing.T) {
	srv, node, _ := newTestServer(t)
	for i := 1; i <= 250; i++ {
		node.Record(gossiper.ChatMessage{Protocol: "peerster", Origin: "B", ID: uint32(i), Text: fmt.Sprint("m", i)})
	}
	page := func(query string) []gossiper.ChatMessage {
		t.Helper()
		r := do(t, srv, "GET", "/message?"+query, "", "", nil)
		if r.status != 200 {
			t.Fatalf("GET /message?%s: %d %s", query, r.status, r.body)
		}
		var msgs []gossiper.ChatMessage
		if err := json.Unmarshal([]byte(r.body), &msgs); err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	span := func(msgs []gossiper.ChatMessage) string {
		if len(msgs) == 0 {
			return "none"
		}
		return fmt.Sprintf("%d..%d (%d)", msgs[0].Cursor, msgs[len(msgs)-1].Cursor, len(msgs))
	}
	for query, want := range map[string]string{
		"limit=10":            "241..250 (10)",
		"after=0&limit=5":     "1..5 (5)",
		"after=245":           "246..250 (5)",
		"after=250":           "none",
		"before=101&limit=50": "51..100 (50)",
		"before=3":            "1..2 (2)",
		"limit=1000":          "1..250 (250)",
		"after=100":           "101..200 (100)",
	} {
		if got := span(page(query)); got != want {
			t.Errorf("GET /message?%s: %s, want %s", query, got, want)
		}
	}
	if m := page("after=41&limit=1"); m[0].Text != "m42" {
		t.Errorf("after=41: %+v", m[0])
	}
	for _, bad := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "after=1&before=5", "before=1.5"} {
		if r := do(t, srv, "GET", "/message?"+bad, "", "", nil); r.status != 400 || !strings.Contains(r.body, "error") {
			t.Errorf("GET /message?%s: %d %s, want 400 with an error", bad, r.status, r.body)
		}
	}
}

// clashing is a protocol that claims one of the GUI's own routes.
type clashing struct{ fakeProtocol }

func (c *clashing) Routes() []gossiper.Route {
	return []gossiper.Route{{Pattern: "GET /id", Handler: http.NotFoundHandler()}}
}

func TestARouteThatClashesIsRefusedAtStart(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	node := gossiper.NewNode(log)
	node.Register(&clashing{})
	if _, err := Handler(node, log); err == nil || !strings.Contains(err.Error(), "GET /id") {
		t.Fatalf("Handler with a protocol claiming GET /id: %v, want an error naming the route", err)
	}
}
