package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/httpjson"
	"github.com/peerster-chat/Peerster/messages"
)

// A fifth protocol takes one line: the daemon started with it in its module
// list shows it in /id (which the page renders field by field) and in
// /panels (which the page draws panel by panel), serves its own route, takes
// its messages into the chat and its commands from the client port, and
// bridges Peerster's to it.
func TestAFifthProtocolNeedsOneLine(t *testing.T) {
	shoutPeer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer shoutPeer.Close()
	raw, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	gossip, ui, shout := freeUDP(t), freeUDP(t), freeUDP(t)
	gui := freeTCP(t)
	args := []string{"-name=Fifth", "-gossipAddr=" + gossip, "-UIPort=" + portOf(ui), "-GUIPort=" + portOf(gui), "-digitAddr=off",
		"-bridge", "-shoutAddr=" + shout, "-shoutPeer=" + shoutPeer.LocalAddr().String()}
	done := make(chan int, 1)
	go func() { done <- run(args, append(modules(), &shoutModule{})) }()
	defer func() {
		select {
		case code := <-done:
			// Signalling now would hit the test binary itself.
			t.Errorf("the daemon exited %d before it was stopped", code)
		default:
			// run's NotifyContext takes it, as it would from a user.
			syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
			if code := <-done; code != 0 {
				t.Errorf("the daemon exited %d", code)
			}
		}
	}()

	base := "http://" + gui
	var id struct {
		ShoutAddr string
		Fields    []gossiper.IdentityField
	}
	waitUntil(t, "the shout module in /id", func() bool {
		return getJSON(base+"/id", &id) == nil && id.ShoutAddr == shout
	})
	found := false
	for _, f := range id.Fields {
		found = found || (f.Protocol == "shout" && f.Key == "shoutAddr" && f.Value == shout)
	}
	if !found {
		t.Fatalf("/id fields %+v lack the shout address", id.Fields)
	}

	// Its messages go into the one chat.
	if _, err := shoutPeer.WriteTo([]byte("hello from shout"), udpAddr(t, shout)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the shout message in the chat", func() bool {
		var msgs []gossiper.ChatMessage
		return getJSON(base+"/message", &msgs) == nil && len(msgs) > 0 &&
			msgs[len(msgs)-1].Protocol == "shout" && msgs[len(msgs)-1].Text == "hello from shout"
	})

	// Its panel counts what was heard; its route answers the same.
	waitUntil(t, "the shout panel counting one datagram", func() bool {
		var panels []gossiper.Panel
		if getJSON(base+"/panels", &panels) != nil {
			return false
		}
		for _, p := range panels {
			if p.Protocol == "shout" && len(p.Rows) == 1 && p.Rows[0].Cells[1] == "1" {
				return true
			}
		}
		return false
	})
	var heard map[string]int
	if err := getJSON(base+"/shouts", &heard); err != nil || heard[shoutPeer.LocalAddr().String()] != 1 {
		t.Fatalf("GET /shouts: %v, %v; want one datagram from the peer", heard, err)
	}

	// A client datagram's command reaches it as a console command does.
	cmd, err := messages.EncodeClient(&messages.Message{Pull: ptr("shout")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.WriteTo(cmd, udpAddr(t, ui)); err != nil {
		t.Fatal(err)
	}
	shoutPeer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _, err := shoutPeer.ReadFrom(make([]byte, 64)); err != nil || n != len("PING") {
		t.Fatalf("the shout peer got %d bytes, %v; want the PING the command sends", n, err)
	}

	// The bridge carries a Peerster rumor to it.
	rumor, err := messages.EncodePacket(&messages.GossipPacket{Rumor: &messages.RumorMessage{Origin: "R", ID: 1, Text: "over the bridge"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.WriteTo(rumor, udpAddr(t, gossip)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	shoutPeer.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := shoutPeer.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "R: over the bridge" {
		t.Fatalf("the shout peer got %q, %v; want the bridged rumor", buf[:n], err)
	}
}

// shoutModule is the smallest protocol: chat as UDP datagrams of text.
type shoutModule struct {
	addr, peer *string
}

func (m *shoutModule) Name() string  { return "shout" }
func (m *shoutModule) Title() string { return "Shout (UDP text, a test protocol)" }
func (m *shoutModule) Flags(fs *flag.FlagSet) {
	m.addr = fs.String("shoutAddr", "", "UDP ip:port of the shout protocol; empty disables it")
	m.peer = fs.String("shoutPeer", "", "UDP ip:port to shout to")
}
func (m *shoutModule) Configure(gossiper.Settings) (bool, error) {
	if *m.addr != "" && *m.peer == "" {
		return false, errors.New("-shoutAddr needs -shoutPeer")
	}
	return *m.addr != "", nil
}
func (m *shoutModule) Start(env gossiper.Env) (gossiper.Protocol, error) {
	conn, err := net.ListenPacket("udp4", *m.addr)
	if err != nil {
		return nil, err
	}
	peer, err := net.ResolveUDPAddr("udp4", *m.peer)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &shout{conn: conn, peer: peer, host: env.Node, heard: map[string]int{}}, nil
}

type shout struct {
	conn net.PacketConn
	peer net.Addr
	host gossiper.Host

	mu    sync.Mutex
	heard map[string]int
}

func (s *shout) count() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.heard)
}
func (s *shout) Routes() []gossiper.Route {
	return []gossiper.Route{{Pattern: "GET /shouts", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, s.count())
	})}}
}
func (s *shout) Panels() []gossiper.Panel {
	var rows []gossiper.PanelRow
	for from, n := range s.count() {
		rows = append(rows, gossiper.PanelRow{Cells: []string{from, strconv.Itoa(n)}})
	}
	return []gossiper.Panel{{ID: "shouts", Title: "Shouts heard", Rows: rows,
		Columns: []gossiper.PanelColumn{{Title: "From", Kind: gossiper.ColumnText}, {Title: "Datagrams", Kind: gossiper.ColumnText}}}}
}

// Command takes "+shout", which the client sends as a pull, and pings the
// peer.
func (s *shout) Command(line string) (bool, error) {
	if line != "+shout" {
		return false, nil
	}
	_, err := s.conn.WriteTo([]byte("PING"), s.peer)
	return true, err
}

func (s *shout) Name() string { return "shout" }
func (s *shout) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		text := string(buf[:n])
		s.mu.Lock()
		s.heard[from.String()]++
		s.mu.Unlock()
		s.host.Print("shout", "SHOUT from "+from.String()+" contents "+gossiper.Printable(text))
		s.host.Record(gossiper.ChatMessage{Protocol: "shout", Origin: from.String(), Text: text, From: from.String(), Time: time.Now()})
	}
}
func (s *shout) Say(text string) error { _, err := s.conn.WriteTo([]byte(text), s.peer); return err }
func (s *shout) Relay(origin, text string) error {
	_, err := s.conn.WriteTo([]byte(origin+": "+text), s.peer)
	return err
}
func (s *shout) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{{Key: "shoutAddr", Label: "shout address (UDP)", Value: s.conn.LocalAddr().String()}}
}

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func udpAddr(t *testing.T, s string) net.Addr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp4", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
