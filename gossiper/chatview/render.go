package chatview

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/peerster-chat/Peerster/gossiper"
)

// styles are how the view sets things apart. They use the terminal's basic
// colours only: an adaptive colour would ask the terminal for its
// background, and the answer would arrive as input in the middle of what
// the user types.
type styles struct {
	bar, own, name, suspect, proto, dim, err lipgloss.Style
}

// newStyles makes the styles for the terminal r draws on.
func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		bar:     r.NewStyle().Reverse(true),
		own:     r.NewStyle().Bold(true).Foreground(lipgloss.Color("2")),
		name:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("6")),
		suspect: r.NewStyle().Foreground(lipgloss.Color("1")),
		proto:   r.NewStyle().Foreground(lipgloss.Color("5")),
		dim:     r.NewStyle().Faint(true),
		err:     r.NewStyle().Foreground(lipgloss.Color("1")),
	}
}

// clean makes text chosen by a peer safe to put on the screen: control
// characters (an escape sequence would drive the terminal) are shown
// escaped, as on stdout, and a tab is a space so that columns hold.
func clean(s string) string {
	return strings.ReplaceAll(gossiper.Printable(s), "\t", " ")
}

// line is how a message reads: "15:04 alice: text", with the protocol in
// brackets when it is not the home protocol, and a mark on a suspect one.
func (m *model) line(msg *gossiper.ChatMessage) string {
	var b strings.Builder
	b.WriteString(msg.Time.Local().Format("15:04"))
	b.WriteByte(' ')
	if msg.Protocol != m.opts.Home {
		b.WriteString(m.st.proto.Render("[" + clean(msg.Protocol) + "]"))
		b.WriteByte(' ')
	}
	name := clean(msg.Origin)
	switch {
	case msg.Suspect:
		b.WriteString(m.st.suspect.Render("(suspect: not sent by us) " + name + ":"))
	case msg.From == "":
		b.WriteString(m.st.own.Render(name + ":"))
	default:
		b.WriteString(m.st.name.Render(name + ":"))
	}
	b.WriteByte(' ')
	b.WriteString(clean(msg.Text))
	return b.String()
}

// draw is an entry as it shows at width.
func (m *model) draw(e entry, width int) string {
	if e.msg != nil {
		return wrap(m.line(e.msg), width)
	}
	style := m.st.dim
	if e.err {
		style = m.st.err
	}
	// A table is cut at the edge by the viewport rather than wrapped.
	if strings.Contains(e.note, "\n") {
		return style.Render(e.note)
	}
	return style.Render(wrap(e.note, width))
}

func wrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Wrap(s, width, "")
}

// day heads the messages of a day other than today.
func day(t time.Time) string {
	return t.Local().Format("Monday 2 January 2006")
}

// redraw sets the viewport's content: the entries drawn at the current
// width (each drawn once per width), with a line where the day changes.
func (m *model) redraw() {
	if m.drawnWidth != m.width {
		for i := range m.entries {
			m.entries[i].lines = ""
		}
		m.drawnWidth = m.width
	}
	today := day(time.Now())
	last := ""
	parts := make([]string, 0, len(m.entries)+1)
	for i := range m.entries {
		e := &m.entries[i]
		if e.msg != nil {
			d := day(e.msg.Time)
			if (last == "" && d != today) || (last != "" && d != last) {
				parts = append(parts, m.st.dim.Render("—— "+d+" ——"))
			}
			last = d
		}
		if e.lines == "" {
			e.lines = m.draw(*e, m.width)
		}
		parts = append(parts, e.lines)
	}
	switch {
	case len(parts) == 0:
		parts = append(parts, m.st.dim.Render("no messages yet: type one below"))
	case m.noOlder:
		parts = append([]string{m.st.dim.Render("(start of the chat)")}, parts...)
	}
	m.vp.SetContent(strings.Join(parts, "\n"))
}

// header is the top bar: our name and every address the protocols report.
func (m *model) header() string {
	parts := []string{clean(m.status.id.Name)}
	for _, f := range m.status.id.Fields {
		parts = append(parts, f.Key+" "+clean(f.Value))
	}
	return m.bar(strings.Join(parts, " │ "))
}

// statusBar is the bar above the input: peers per protocol, where the
// reader is in the scrollback, and what is being done.
func (m *model) statusBar() string {
	parts := []string{fmt.Sprintf("peers %d", m.status.peers)}
	type count struct{ up, all int }
	byProto := map[string]*count{}
	var protos []string
	for _, l := range m.status.links {
		c := byProto[l.Protocol]
		if c == nil {
			c = &count{}
			byProto[l.Protocol] = c
			protos = append(protos, l.Protocol)
		}
		c.all++
		if l.Alive {
			c.up++
		}
	}
	sort.Strings(protos)
	for _, p := range protos {
		parts = append(parts, fmt.Sprintf("%s %d/%d up", clean(p), byProto[p].up, byProto[p].all))
	}
	if !m.vp.AtBottom() {
		parts = append(parts, "scrolled back: PgDn for newer")
	}
	if m.busy || len(m.queue) > 0 {
		parts = append(parts, "sending…")
	}
	parts = append(parts, "/help")
	return m.bar(strings.Join(parts, " · "))
}

// bar fills a line of the view with text, cut short if it is longer.
func (m *model) bar(text string) string {
	text = ansi.Truncate(" "+text, m.width, "…")
	return m.st.bar.Render(text + strings.Repeat(" ", m.width-ansi.StringWidth(text)))
}

func (m *model) View() string {
	if m.width == 0 {
		return "starting the chat view…"
	}
	return m.header() + "\n" + m.vp.View() + "\n" + m.statusBar() + "\n" + m.input.View()
}

// cellText is a panel cell as shown: a time column holds Unix seconds.
func cellText(kind, cell string) string {
	if kind != gossiper.ColumnTime {
		return clean(cell)
	}
	if cell == "" {
		return "never"
	}
	sec, err := strconv.ParseInt(cell, 10, 64)
	if err != nil {
		return clean(cell)
	}
	return time.Unix(sec, 0).Local().Format("15:04:05")
}

// table lays rows out under head in columns; a row marked own gets a star,
// as the page marks the row about this node.
func table(head []string, rows [][]string, own []bool) string {
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = ansi.StringWidth(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], ansi.StringWidth(c))
			}
		}
	}
	row := func(mark string, cells []string) string {
		var b strings.Builder
		b.WriteString(mark)
		for i, c := range cells {
			if i >= len(widths) {
				break
			}
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(c)+2))
			}
		}
		return b.String()
	}
	lines := []string{row("  ", head)}
	for i, r := range rows {
		mark := "  "
		if i < len(own) && own[i] {
			mark = "* "
		}
		lines = append(lines, row(mark, r))
	}
	return strings.Join(lines, "\n")
}
