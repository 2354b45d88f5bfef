package chatview

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/peerster-chat/Peerster/gossiper"
)

const (
	// eventBuffer holds the node's events between two reads: a burst of
	// messages brings several stdout events each, and a dropped event
	// costs nothing but a late status (messages are read from the log).
	eventBuffer = 4096
	// firstPage is how many of the newest messages the view opens with,
	// olderPage how many more it reads each time the reader scrolls to the
	// top, and catchUpPage how many new ones it reads at a time.
	firstPage   = 200
	olderPage   = 100
	catchUpPage = 500
	// keepMessages bounds what a view that follows the chat holds: the
	// oldest are dropped, and read again if the reader scrolls back.
	keepMessages = 5000
	// statusEvery is how often the status bar is read again: links come
	// and go without every change being an event.
	statusEvery = 2 * time.Second
)

// entry is one item of the scrollback: a chat message, or a note of the
// view's own (a command's output, an error), which is not part of the chat.
type entry struct {
	msg  *gossiper.ChatMessage
	note string
	// err marks a note that reports a failure.
	err bool
	// lines is the entry as drawn at the width it was last drawn at.
	lines string
}

// job is a command the node carries out: those can take a while (a chat
// message waits for the disk), so they run outside Update, one at a time,
// in the order they were typed.
type job struct {
	run func() error
	// done is the note shown when it succeeds; empty shows none.
	done string
}

// jobDone is what a job's command returns.
type jobDone struct {
	err  error
	done string
}

// eventsMsg is a batch of the node's events, read together.
type eventsMsg struct {
	messages, status, retract bool
}

// eventsClosed says the node's event stream ended: the node stopped.
type eventsClosed struct{}

// statusTick asks for the status bar to be read again.
type statusTick struct{}

// status is what the bars show about the node.
type status struct {
	id    gossiper.Identity
	peers int
	links []gossiper.Link
}

type model struct {
	node   Node
	opts   Options
	events <-chan gossiper.Event

	width, height int
	vp            viewport.Model
	input         textinput.Model

	entries []entry
	// newest is the cursor of the newest message shown, oldest that of the
	// oldest; noOlder is set once the log has nothing before oldest.
	newest, oldest uint64
	noOlder        bool
	// drawnWidth is the width the entries' lines were drawn at.
	drawnWidth int

	st     styles
	status status
	queue  []job
	busy   bool
	result Result
}

func newModel(node Node, sub gossiper.Subscription, opts Options, st styles) *model {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "type a message, /help for commands"
	// A blinking cursor redraws the line twice a second for nothing.
	in.Cursor.SetMode(cursor.CursorStatic)
	in.Focus()
	m := &model{node: node, opts: opts, events: sub.Events(), input: in, vp: viewport.New(0, 0), st: st}
	m.readStatus()
	m.reload()
	return m
}

func (m *model) Init() tea.Cmd {
	return tea.Batch(waitEvents(m.events), tickStatus())
}

// waitEvents reads the next event and whatever else is already waiting, so
// that a burst of messages is one update, not one per message.
func waitEvents(ch <-chan gossiper.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosed{}
		}
		var b eventsMsg
		for {
			switch ev.Kind {
			case gossiper.EventMessage:
				b.messages = true
			case gossiper.EventRetract:
				b.retract = true
			case gossiper.EventPeers, gossiper.EventName, gossiper.EventUpdate:
				b.status = true
			}
			if len(ch) == 0 {
				return b
			}
			if ev, ok = <-ch; !ok {
				return b
			}
		}
	}
}

func tickStatus() tea.Cmd {
	return tea.Tick(statusEvery, func(time.Time) tea.Msg { return statusTick{} })
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case eventsMsg:
		switch {
		case msg.retract:
			m.reload()
		case msg.messages:
			m.catchUp()
		}
		if msg.status {
			m.readStatus()
		}
		return m, waitEvents(m.events)
	case eventsClosed:
		m.result = Stopped
		return m, tea.Quit
	case statusTick:
		m.readStatus()
		return m, tickStatus()
	case jobDone:
		m.busy = false
		switch {
		case msg.err != nil:
			m.addNote(msg.err.Error(), true)
		case msg.done != "":
			m.addNote(msg.done, false)
		}
		return m, m.nextJob()
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// key handles a key press: scrolling, sending, quitting; the rest is typing.
func (m *model) key(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyCtrlC:
		m.result = Quit
		return tea.Quit
	case tea.KeyCtrlD:
		if m.input.Value() == "" {
			m.result = Closed
			return tea.Quit
		}
	case tea.KeyEnter:
		line := strings.TrimSpace(m.input.Value())
		m.input.Reset()
		if line == "" {
			return nil
		}
		return m.submit(line)
	case tea.KeyPgUp:
		m.vp.PageUp()
		m.atTop()
		return nil
	case tea.KeyUp:
		m.vp.ScrollUp(1)
		m.atTop()
		return nil
	case tea.KeyPgDown:
		m.vp.PageDown()
		return nil
	case tea.KeyDown:
		m.vp.ScrollDown(1)
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return cmd
}

// atTop reads older messages once the reader has scrolled to the top, and
// keeps the lines they were reading where they were.
func (m *model) atTop() {
	if !m.vp.AtTop() || m.noOlder {
		return
	}
	before := m.vp.TotalLineCount()
	m.loadOlder()
	m.redraw()
	m.vp.SetYOffset(m.vp.YOffset + m.vp.TotalLineCount() - before)
}

// enqueue runs j after the jobs typed before it.
func (m *model) enqueue(j job) tea.Cmd {
	m.queue = append(m.queue, j)
	return m.nextJob()
}

func (m *model) nextJob() tea.Cmd {
	if m.busy || len(m.queue) == 0 {
		return nil
	}
	j := m.queue[0]
	m.queue = m.queue[1:]
	m.busy = true
	return func() tea.Msg { return jobDone{err: j.run(), done: j.done} }
}

// readStatus reads the node's name, addresses and peers for the bars.
func (m *model) readStatus() {
	m.status = status{id: m.node.Identity(), peers: len(m.node.Peers()), links: m.node.Links()}
}

// reload reads the newest page of the chat afresh: on start, and when
// messages were retracted.
func (m *model) reload() {
	msgs, err := m.node.Chat().Before(0, firstPage)
	m.entries = m.entries[:0]
	m.newest, m.oldest, m.noOlder = 0, 0, len(msgs) < firstPage
	if err != nil {
		m.addNote("read the chat: "+err.Error(), true)
		return
	}
	m.appendMessages(msgs)
	m.redraw()
	m.vp.GotoBottom()
}

// catchUp appends what the log holds after the newest message shown.
func (m *model) catchUp() {
	following := m.vp.AtBottom()
	for {
		msgs, err := m.node.Chat().After(m.newest, catchUpPage)
		if err != nil {
			m.addNote("read the chat: "+err.Error(), true)
			return
		}
		m.appendMessages(msgs)
		if len(msgs) < catchUpPage {
			break
		}
	}
	if following {
		m.trim()
	}
	m.redraw()
	if following {
		m.vp.GotoBottom()
	}
}

func (m *model) appendMessages(msgs []gossiper.ChatMessage) {
	for i := range msgs {
		m.entries = append(m.entries, entry{msg: &msgs[i]})
		m.newest = msgs[i].Cursor
		if m.oldest == 0 {
			m.oldest = msgs[i].Cursor
		}
	}
}

// trim drops the oldest messages beyond keepMessages; they are read again
// if the reader scrolls back to them.
func (m *model) trim() {
	n := 0
	for _, e := range m.entries {
		if e.msg != nil {
			n++
		}
	}
	if n <= keepMessages {
		return
	}
	drop := 0
	for ; n > keepMessages; drop++ {
		if m.entries[drop].msg != nil {
			n--
		}
	}
	m.entries = append(m.entries[:0], m.entries[drop:]...)
	m.noOlder = false
	for _, e := range m.entries {
		if e.msg != nil {
			m.oldest = e.msg.Cursor
			break
		}
	}
}

// loadOlder puts the page before the oldest message shown in front.
func (m *model) loadOlder() {
	if m.oldest == 0 {
		m.noOlder = true
		return
	}
	msgs, err := m.node.Chat().Before(m.oldest, olderPage)
	if err != nil {
		m.noOlder = true
		m.addNote("read older messages: "+err.Error(), true)
		return
	}
	if len(msgs) < olderPage {
		m.noOlder = true
	}
	if len(msgs) == 0 {
		return
	}
	older := make([]entry, len(msgs), len(msgs)+len(m.entries))
	for i := range msgs {
		older[i] = entry{msg: &msgs[i]}
	}
	m.entries = append(older, m.entries...)
	m.oldest = msgs[0].Cursor
}

// addNote shows a line of the view's own at the bottom of the scrollback.
func (m *model) addNote(text string, isErr bool) {
	m.entries = append(m.entries, entry{note: text, err: isErr})
	m.redraw()
	m.vp.GotoBottom()
}

func (m *model) resize(w, h int) {
	m.width, m.height = w, h
	following := m.vp.AtBottom()
	m.vp.Width = w
	// The header, the status bar and the input line take a line each.
	m.vp.Height = max(1, h-3)
	m.input.Width = max(1, w-len(m.input.Prompt)-1)
	m.redraw()
	if following {
		m.vp.GotoBottom()
	}
}
