package chatview

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/peerster-chat/Peerster/gossiper"
)

// command is one of the view's slash commands.
type command struct {
	name string
	// arg names the argument in the help; empty when there is none.
	arg  string
	help string
	run  func(m *model, arg string) tea.Cmd
}

// commands are the slash commands, in the order /help lists them.
func commands() []command {
	return []command{
		{"name", "NEW", "change our name", (*model).rename},
		{"peer", "ip:port", "add a peer", (*model).addPeer},
		{"pull", "ip:port", "pull that digit node now", (*model).pull},
		{"digit", "N", "set our own digit (0-9)", (*model).setDigit},
		{"digits", "", "show the digit table", func(m *model, _ string) tea.Cmd { return m.showPanels("digits") }},
		{"panels", "", "show every protocol's tables", func(m *model, _ string) tea.Cmd { return m.showPanels("") }},
		{"links", "", "show the whisper and mesh links", (*model).showLinks},
		{"file", "PATH", "send a file (whispernet)", (*model).sendFile},
		{"help", "", "list the commands", (*model).showHelp},
		{"quit", "", "stop the node", func(m *model, _ string) tea.Cmd { m.result = Quit; return tea.Quit }},
	}
}

// errNoProtocol is what /pull and /digit say when no running protocol
// takes them.
var errNoProtocol = errors.New("no running protocol takes this command (is the digit gossip off?)")

// submit carries out a line the user typed: a slash command, or a line for
// the node (a protocol's own command or a chat message). "//text" sends
// "/text" as chat.
func (m *model) submit(line string) tea.Cmd {
	if strings.HasPrefix(line, "//") || !strings.HasPrefix(line, "/") {
		text := strings.TrimPrefix(line, "/")
		return m.enqueue(job{run: func() error { return m.node.Command(text) }})
	}
	name, arg, _ := strings.Cut(line[1:], " ")
	arg = strings.TrimSpace(arg)
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if c.arg != "" && arg == "" {
			m.addNote(fmt.Sprintf("usage: /%s %s", c.name, c.arg), true)
			return nil
		}
		if c.arg == "" && arg != "" {
			m.addNote(fmt.Sprintf("/%s takes no argument", c.name), true)
			return nil
		}
		return c.run(m, arg)
	}
	m.addNote(fmt.Sprintf("unknown command /%s; /help lists them", name), true)
	return nil
}

func (m *model) rename(name string) tea.Cmd {
	return m.enqueue(job{run: func() error { return m.node.Rename(name) }, done: "you are now " + name})
}

func (m *model) addPeer(addr string) tea.Cmd {
	return m.enqueue(job{run: func() error { return m.node.AddPeer(addr) }, done: "peer " + addr + " added"})
}

// protocolCommand runs a protocol's console command, which must be taken:
// sent as chat, "+ip:port" would be a message nobody meant.
func (m *model) protocolCommand(line, done string) tea.Cmd {
	return m.enqueue(job{run: func() error {
		handled, err := m.node.ProtocolCommand(line)
		if !handled {
			return errNoProtocol
		}
		return err
	}, done: done})
}

func (m *model) pull(addr string) tea.Cmd {
	return m.protocolCommand("+"+addr, "pulling "+addr)
}

func (m *model) setDigit(d string) tea.Cmd {
	if len(d) != 1 || d[0] < '0' || d[0] > '9' {
		m.addNote(fmt.Sprintf("bad digit %q: want one of 0-9", d), true)
		return nil
	}
	return m.protocolCommand(d, "our digit is now "+d)
}

func (m *model) sendFile(path string) tea.Cmd {
	// The protocol reads the file when it sends it; the node's working
	// directory is the view's, but an absolute path says which file was
	// meant in the note and the logs.
	abs, err := filepath.Abs(path)
	if err != nil {
		m.addNote("file: "+err.Error(), true)
		return nil
	}
	return m.enqueue(job{run: func() error { return m.node.SendFile(abs) }, done: "sent " + abs})
}

// showPanels shows the panels of protocol, or of every protocol when it is
// empty, as tables.
func (m *model) showPanels(protocol string) tea.Cmd {
	var b strings.Builder
	for _, p := range m.node.Panels() {
		if protocol != "" && p.Protocol != protocol {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(panelTable(p))
	}
	if b.Len() == 0 {
		if protocol == "" {
			m.addNote("no protocol has a table to show", true)
		} else {
			m.addNote(fmt.Sprintf("no %s table: the protocol is off", protocol), true)
		}
		return nil
	}
	m.addNote(b.String(), false)
	return nil
}

func (m *model) showLinks(string) tea.Cmd {
	links := m.node.Links()
	if len(links) == 0 {
		m.addNote("no whisper or mesh links", false)
		return nil
	}
	rows := make([][]string, len(links))
	for i, l := range links {
		alive := "down"
		if l.Alive {
			alive = "up"
		}
		rows[i] = []string{l.Protocol, l.Peer, l.Addr, alive}
	}
	m.addNote("links\n"+table([]string{"protocol", "peer", "address", "link"}, rows, nil), false)
	return nil
}

func (m *model) showHelp(string) tea.Cmd {
	var rows [][]string
	for _, c := range commands() {
		usage := "/" + c.name
		if c.arg != "" {
			usage += " " + c.arg
		}
		rows = append(rows, []string{usage, c.help})
	}
	for _, h := range m.node.CommandHelp() {
		rows = append(rows, []string{h.Usage, h.Help})
	}
	rows = append(rows,
		[]string{"//text", "send /text as a message"},
		[]string{"PgUp PgDn ↑ ↓", "scroll; older messages load at the top"},
		[]string{"Ctrl-D", "close this view (on an empty line); the node runs on"},
		[]string{"Ctrl-C", "stop the node"},
	)
	m.addNote("commands (anything else is sent as a message; protocol commands print to -trace)\n"+
		table([]string{"command", "what"}, rows, nil), false)
	return nil
}

// panelTable draws a protocol's panel as the page would: its title, then
// its rows under its columns, or its empty text.
func panelTable(p gossiper.Panel) string {
	title := p.Protocol + ": " + clean(p.Title)
	if len(p.Rows) == 0 {
		return title + "\n  " + clean(p.Empty)
	}
	head := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		head[i] = clean(c.Title)
	}
	rows := make([][]string, len(p.Rows))
	own := make([]bool, len(p.Rows))
	for i, r := range p.Rows {
		rows[i] = make([]string, len(r.Cells))
		for j, cell := range r.Cells {
			kind := gossiper.ColumnText
			if j < len(p.Columns) {
				kind = p.Columns[j].Kind
			}
			rows[i][j] = cellText(kind, cell)
		}
		own[i] = r.Own
	}
	return title + "\n" + table(head, rows, own)
}
