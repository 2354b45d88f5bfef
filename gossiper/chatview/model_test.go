package chatview

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// fakeNode is a node with a real chat log and event bus, whose commands
// are recorded instead of carried out.
type fakeNode struct {
	chat *gossiper.ChatLog
	bus  *gossiper.Bus

	mu    sync.Mutex
	calls []string
	// fail makes every command fail with this error.
	fail error
	// noCommands makes ProtocolCommand take nothing, as with the digit
	// gossip off.
	noCommands bool
	panels     []gossiper.Panel
	links      []gossiper.Link
}

func newFake() *fakeNode {
	return &fakeNode{chat: &gossiper.ChatLog{}, bus: gossiper.NewBus()}
}

func (f *fakeNode) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.fail
}

func (f *fakeNode) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeNode) Chat() *gossiper.ChatLog { return f.chat }
func (f *fakeNode) Events() *gossiper.Bus   { return f.bus }
func (f *fakeNode) Identity() gossiper.Identity {
	return gossiper.Identity{Name: "alice", Fields: []gossiper.IdentityField{
		{Protocol: "peerster", Key: "gossipAddr", Value: "127.0.0.1:5000"},
		{Protocol: "whisper", Key: "whisperAddr", Value: "127.0.0.1:6000"},
	}}
}
func (f *fakeNode) Peers() []string            { return []string{"127.0.0.1:5001", "127.0.0.1:5002"} }
func (f *fakeNode) Links() []gossiper.Link     { return f.links }
func (f *fakeNode) Panels() []gossiper.Panel   { return f.panels }
func (f *fakeNode) Command(line string) error  { return f.record("Command %s", line) }
func (f *fakeNode) Rename(name string) error   { return f.record("Rename %s", name) }
func (f *fakeNode) AddPeer(addr string) error  { return f.record("AddPeer %s", addr) }
func (f *fakeNode) SendFile(path string) error { return f.record("SendFile %s", path) }
func (f *fakeNode) ProtocolCommand(line string) (bool, error) {
	if f.noCommands {
		return false, nil
	}
	return true, f.record("ProtocolCommand %s", line)
}
func (f *fakeNode) CommandHelp() []gossiper.CommandHelp {
	return []gossiper.CommandHelp{{Usage: "?", Help: "print the digit table"}}
}

// add appends a message to the log and announces it, as Node.Record does.
func (f *fakeNode) add(m gossiper.ChatMessage) {
	m = f.chat.Append(m)
	f.bus.Publish(gossiper.Event{Kind: gossiper.EventMessage, Protocol: m.Protocol, Message: &m})
}

// at is today at hh:mm, local time, so that no day line shows.
func at(hh, mm int) time.Time {
	y, mo, d := time.Now().Date()
	return time.Date(y, mo, d, hh, mm, 0, 0, time.Local)
}

func from(origin, text string) gossiper.ChatMessage {
	return gossiper.ChatMessage{Protocol: "peerster", Origin: origin, Text: text, From: "127.0.0.1:5001", Time: at(15, 4)}
}

// open starts a view of f on a w×h terminal.
func open(t *testing.T, f *fakeNode, w, h int) *model {
	t.Helper()
	sub := f.bus.Subscribe(eventBuffer, false)
	t.Cleanup(sub.Cancel)
	m := newModel(f, sub, Options{Home: "peerster"}, newStyles(lipgloss.DefaultRenderer()))
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// screen is the view as the terminal shows it, without colours.
func screen(m *model) string { return ansi.Strip(m.View()) }

// deliver hands the view the events published so far, as its event
// command would.
func deliver(t *testing.T, m *model) {
	t.Helper()
	if len(m.events) == 0 {
		t.Fatal("no events waiting")
	}
	m.Update(waitEvents(m.events)())
}

// typeText types s into the input line.
func typeText(m *model, s string) {
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
}

// enter types line, presses Enter and runs what that starts to its end,
// as the program would; it returns the last message a command produced.
func enter(t *testing.T, m *model, line string) tea.Msg {
	t.Helper()
	typeText(m, line)
	return run(t, m, press(m, tea.KeyEnter))
}

func press(m *model, k tea.KeyType) tea.Cmd {
	_, cmd := m.Update(tea.KeyMsg{Type: k})
	return cmd
}

func run(t *testing.T, m *model, cmd tea.Cmd) tea.Msg {
	t.Helper()
	var last tea.Msg
	for i := 0; cmd != nil; i++ {
		if i > 100 {
			t.Fatal("commands never end")
		}
		last = cmd()
		if _, ok := last.(tea.QuitMsg); ok {
			return last
		}
		_, cmd = m.Update(last)
	}
	return last
}

func mustShow(t *testing.T, m *model, want ...string) {
	t.Helper()
	s := screen(m)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

func TestViewShowsTheOneChat(t *testing.T) {
	f := newFake()
	f.add(from("bob", "hi alice"))
	f.add(gossiper.ChatMessage{Protocol: "whisper", Origin: "carol", Text: "from the whispernet", From: "127.0.0.1:6001", Time: at(15, 5)})
	f.add(gossiper.ChatMessage{Protocol: "peerster", Origin: "alice", Text: "my own", Time: at(15, 6)})
	f.add(gossiper.ChatMessage{Protocol: "peerster", Origin: "alice", Text: "not mine", From: "127.0.0.1:5009", Time: at(15, 7), Suspect: true})
	f.add(from("mallory", "\x1b[2Jclear\nRUMOR"))
	f.links = []gossiper.Link{{Protocol: "whisper", Peer: "carol", Addr: "127.0.0.1:6001", Alive: true}, {Protocol: "whisper", Addr: "127.0.0.1:6002"}}
	m := open(t, f, 100, 20)
	mustShow(t, m,
		"15:04 bob: hi alice",
		"15:05 [whisper] carol: from the whispernet",
		"15:06 alice: my own",
		"15:07 (suspect: not sent by us) alice: not mine",
		`mallory: \x1b[2Jclear\nRUMOR`,
		"alice │ gossipAddr 127.0.0.1:5000 │ whisperAddr 127.0.0.1:6000",
		"peers 2 · whisper 1/2 up",
		"(start of the chat)",
	)
	if strings.Contains(m.View(), "\x1b[2J") {
		t.Error("a peer's escape sequence reaches the terminal")
	}
	lines := strings.Split(screen(m), "\n")
	if len(lines) != 20 {
		t.Errorf("view has %d lines, want the terminal's 20", len(lines))
	}
}

func TestOwnAndSuspectLinesAreSetApart(t *testing.T) {
	f := newFake()
	m := open(t, f, 80, 10)
	// Colours as on a terminal, whatever the tests' stdout is.
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	m.st = newStyles(r)
	own := m.line(&gossiper.ChatMessage{Protocol: "peerster", Origin: "alice", Text: "x", Time: at(1, 2)})
	other := m.line(&gossiper.ChatMessage{Protocol: "peerster", Origin: "alice", Text: "x", From: "1.2.3.4:5", Time: at(1, 2)})
	if ansi.Strip(own) != "01:02 alice: x" || ansi.Strip(other) != "01:02 alice: x" {
		t.Fatalf("lines read %q and %q", ansi.Strip(own), ansi.Strip(other))
	}
	wantOwn := m.st.own.Render("alice:")
	if !strings.Contains(own, wantOwn) || strings.Contains(other, wantOwn) {
		t.Errorf("our line %q and another's %q are drawn alike", own, other)
	}
}

func TestInputSurvivesIncomingMessages(t *testing.T) {
	f := newFake()
	m := open(t, f, 80, 12)
	typeText(m, "hello wor")
	for i := range 1000 {
		f.add(from("bob", fmt.Sprintf("burst %d", i)))
		if i%100 == 99 {
			deliver(t, m)
		}
	}
	typeText(m, "ld")
	if got := m.input.Value(); got != "hello world" {
		t.Fatalf("input is %q after a burst, want %q", got, "hello world")
	}
	mustShow(t, m, "> hello world", "bob: burst 999")
	if got := countMessages(m); got != 1000 {
		t.Errorf("view holds %d messages, want all 1000", got)
	}
}

func countMessages(m *model) int {
	n := 0
	for _, e := range m.entries {
		if e.msg != nil {
			n++
		}
	}
	return n
}

func TestCommandsReachTheNode(t *testing.T) {
	f := newFake()
	m := open(t, f, 100, 30)
	for _, line := range []string{"hello bob", "/name bob", "/peer 127.0.0.1:5003", "/pull 127.0.0.1:7001",
		"/digit 7", "/file notes.txt", "+127.0.0.1:7002", "?", "a", "//slash", "/quit"} {
		if msg := enter(t, m, line); line == "/quit" {
			if _, ok := msg.(tea.QuitMsg); !ok || m.result != Quit {
				t.Errorf("/quit: got %T, result %v; want the program to quit", msg, m.result)
			}
		}
	}
	abs, err := filepath.Abs("notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Command hello bob", "Rename bob", "AddPeer 127.0.0.1:5003", "ProtocolCommand +127.0.0.1:7001",
		"ProtocolCommand 7", "SendFile " + abs, "Command +127.0.0.1:7002", "Command ?", "Command a", "Command /slash"}
	if got := f.recorded(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("node got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	mustShow(t, m, "you are now bob", "peer 127.0.0.1:5003 added", "pulling 127.0.0.1:7001", "our digit is now 7")
	if m.input.Value() != "" {
		t.Errorf("input keeps %q after Enter", m.input.Value())
	}
}

func TestCommandErrorsShowInTheView(t *testing.T) {
	f := newFake()
	m := open(t, f, 100, 30)
	for _, line := range []string{"/digit 12", "/name", "/help me", "/nope"} {
		enter(t, m, line)
	}
	if got := f.recorded(); len(got) != 0 {
		t.Errorf("bad commands reached the node: %q", got)
	}
	f.fail = errors.New("peerster: bad address \"x\": want ip:port")
	enter(t, m, "/peer x")
	f.fail = nil
	f.noCommands = true
	enter(t, m, "/pull 127.0.0.1:7001")
	mustShow(t, m, `bad digit "12": want one of 0-9`, "usage: /name NEW", "/help takes no argument",
		"unknown command /nope; /help lists them", `peerster: bad address "x": want ip:port`,
		"no running protocol takes this command")
}

func TestCommandsRunOneAtATimeInOrder(t *testing.T) {
	f := newFake()
	m := open(t, f, 80, 10)
	typeText(m, "first")
	first := press(m, tea.KeyEnter)
	typeText(m, "second")
	if cmd := press(m, tea.KeyEnter); cmd != nil {
		t.Fatal("a second command started while the first runs")
	}
	mustShow(t, m, "sending…")
	run(t, m, first)
	if got := f.recorded(); strings.Join(got, ",") != "Command first,Command second" {
		t.Errorf("node got %q", got)
	}
}

func TestKeysThatEndTheView(t *testing.T) {
	m := open(t, newFake(), 80, 10)
	typeText(m, "x")
	if cmd := press(m, tea.KeyCtrlD); cmd != nil {
		t.Fatal("Ctrl-D with text in the line ends the view")
	}
	press(m, tea.KeyBackspace)
	if msg := run(t, m, press(m, tea.KeyCtrlD)); msg != (tea.QuitMsg{}) || m.result != Closed {
		t.Errorf("Ctrl-D on an empty line: %v, result %v; want the view closed", msg, m.result)
	}
	m = open(t, newFake(), 80, 10)
	typeText(m, "half typed")
	if msg := run(t, m, press(m, tea.KeyCtrlC)); msg != (tea.QuitMsg{}) || m.result != Quit {
		t.Errorf("Ctrl-C: %v, result %v; want the node stopped", msg, m.result)
	}
}

func TestTheNodeStoppingEndsTheView(t *testing.T) {
	f := newFake()
	m := open(t, f, 80, 10)
	f.bus.Close()
	_, cmd := m.Update(waitEvents(m.events)())
	if cmd == nil || cmd() != (tea.QuitMsg{}) || m.result != Stopped {
		t.Errorf("the view outlives the node (result %v)", m.result)
	}
}

func TestPanelsLinksAndHelpAreTables(t *testing.T) {
	f := newFake()
	f.panels = []gossiper.Panel{{
		Protocol: "digits", Title: "Digits",
		Columns: []gossiper.PanelColumn{{Title: "Address", Kind: gossiper.ColumnText}, {Title: "Digit", Kind: gossiper.ColumnText}, {Title: "Time", Kind: gossiper.ColumnTime}},
		Rows: []gossiper.PanelRow{
			{Cells: []string{"127.0.0.1:5000", "7", fmt.Sprint(at(9, 30).Unix())}, Own: true},
			{Cells: []string{"127.0.0.1:7001", "3", ""}},
		},
	}, {Protocol: "other", Title: "Other", Empty: "nothing here"}}
	f.links = []gossiper.Link{{Protocol: "p2p", Peer: "1234", Addr: "127.0.0.1:7100", Alive: true}}
	m := open(t, f, 100, 40)
	enter(t, m, "/digits")
	mustShow(t, m, "digits: Digits",
		"  Address         Digit  Time",
		"* 127.0.0.1:5000  7      09:30:00",
		"  127.0.0.1:7001  3      never")
	if strings.Contains(screen(m), "nothing here") {
		t.Error("/digits shows another protocol's panel")
	}
	enter(t, m, "/panels")
	mustShow(t, m, "other: Other", "nothing here")
	enter(t, m, "/links")
	mustShow(t, m, "p2p       1234  127.0.0.1:7100  up")
	enter(t, m, "/help")
	mustShow(t, m, "/name NEW", "/pull ip:port", "/digits", "/quit", "?              print the digit table")
}

func TestScrollingUpLoadsOlderHistory(t *testing.T) {
	f := newFake()
	for i := 1; i <= 450; i++ {
		f.add(from("bob", fmt.Sprintf("message %03d", i)))
	}
	m := open(t, f, 80, 20)
	if got := countMessages(m); got != firstPage {
		t.Fatalf("view opens with %d messages, want %d", got, firstPage)
	}
	mustShow(t, m, "message 450")
	for i := 0; i < 200 && !strings.Contains(screen(m), "message 001"); i++ {
		press(m, tea.KeyPgUp)
	}
	mustShow(t, m, "message 001", "(start of the chat)", "scrolled back")
	if got := countMessages(m); got != 450 {
		t.Errorf("view holds %d messages at the top, want 450", got)
	}
	// New messages do not pull a reader who scrolled back to the bottom.
	f.add(from("bob", "while reading"))
	deliver(t, m)
	mustShow(t, m, "message 001")
	for i := 0; i < 200 && !m.vp.AtBottom(); i++ {
		press(m, tea.KeyPgDown)
	}
	mustShow(t, m, "while reading")
}

func TestScrollbackComesFromTheStore(t *testing.T) {
	dir := t.TempDir()
	log := logrus.New()
	log.SetOutput(io.Discard)
	store, err := gossiper.OpenStore(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := newFake()
	if err := f.chat.Persist(store.Namespace("chat")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 250; i++ {
		f.add(from("bob", fmt.Sprintf("stored %03d", i)))
	}
	m := open(t, f, 80, 10)
	for i := 0; i < 300 && !strings.Contains(screen(m), "stored 001"); i++ {
		press(m, tea.KeyUp)
	}
	mustShow(t, m, "stored 001")
}

func TestResizeRedraws(t *testing.T) {
	f := newFake()
	long := strings.Repeat("word ", 30)
	f.add(from("bob", long))
	m := open(t, f, 100, 10)
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 8})
	lines := strings.Split(screen(m), "\n")
	if len(lines) != 8 {
		t.Errorf("view has %d lines after a resize, want 8", len(lines))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 40 {
			t.Errorf("line %q is %d wide, wider than the terminal", l, w)
		}
	}
	mustShow(t, m, "15:04 bob: word")
}

func TestRetractedMessagesGo(t *testing.T) {
	f := newFake()
	f.add(gossiper.ChatMessage{Protocol: "peerster", Origin: "alice", ID: 1, Text: "taken back", Time: at(15, 4)})
	f.add(from("bob", "stays"))
	m := open(t, f, 80, 10)
	f.chat.Retract("peerster", "alice", 1, 1)
	f.bus.Publish(gossiper.Event{Kind: gossiper.EventRetract, Protocol: "peerster"})
	deliver(t, m)
	if strings.Contains(screen(m), "taken back") {
		t.Error("a retracted message still shows")
	}
	mustShow(t, m, "bob: stays")
}

func TestStatusFollowsTheNode(t *testing.T) {
	f := newFake()
	m := open(t, f, 100, 10)
	f.links = []gossiper.Link{{Protocol: "p2p", Alive: true}}
	f.bus.Publish(gossiper.Event{Kind: gossiper.EventPeers, Protocol: "p2p"})
	deliver(t, m)
	mustShow(t, m, "p2p 1/1 up")
}
