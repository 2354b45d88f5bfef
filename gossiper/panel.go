package gossiper

import "net/http"

// Panel is a protocol's box on the page: a table of its state and, when the
// user can change that state, a form. The page draws every panel the same
// way, so it needs to know nothing about the protocol behind it.
type Panel struct {
	// Protocol is filled in by the node.
	Protocol string `json:"protocol"`
	// ID is unique on the page; the panel's element ids derive from it.
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Columns []PanelColumn `json:"columns"`
	Rows    []PanelRow    `json:"rows"`
	// Empty is shown instead of the table when there are no rows.
	Empty string `json:"empty"`
	// Refresh names the EventUpdate updates after which the page reads
	// the panels again.
	Refresh []string   `json:"refresh"`
	Form    *PanelForm `json:"form,omitempty"`
}

// Column kinds: how the page shows a cell.
const (
	ColumnText = "text"
	// ColumnTime cells are Unix seconds, shown in the reader's local time;
	// an empty cell means never.
	ColumnTime = "time"
)

// PanelColumn heads one column of a panel's table.
type PanelColumn struct {
	Title string `json:"title"`
	Kind  string `json:"kind"`
}

// PanelRow is one row; Own marks the row about this node.
type PanelRow struct {
	Cells []string `json:"cells"`
	Own   bool     `json:"own,omitempty"`
}

// PanelForm is a one-field form whose value the page POSTs as
// {Field: value} to Action, one of the protocol's routes.
type PanelForm struct {
	Action      string `json:"action"`
	Field       string `json:"field"`
	Label       string `json:"label"`
	Placeholder string `json:"placeholder,omitempty"`
	Button      string `json:"button"`
	// Min and Max, when set, make the field a whole number in that range,
	// sent as a JSON number.
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
	// Done is the message shown on success; "{value}" stands for what
	// was sent.
	Done string `json:"done"`
}

// Paneler is a protocol with panels on the page. They are read whenever
// the page asks, so they show the protocol's state of that moment.
type Paneler interface {
	Panels() []Panel
}

// Route is an HTTP route a protocol adds to the GUI's API, with a pattern
// as net/http.ServeMux takes it ("GET /digits").
type Route struct {
	Pattern string
	Handler http.Handler
}

// Router is a protocol with routes of its own on the GUI port.
type Router interface {
	Routes() []Route
}

// Panels lists the panels of every protocol, in the order the protocols
// were registered.
func (n *Node) Panels() []Panel {
	out := []Panel{}
	for _, p := range n.protocols {
		if pp, ok := p.(Paneler); ok {
			for _, panel := range pp.Panels() {
				panel.Protocol = p.Name()
				out = append(out, panel)
			}
		}
	}
	return out
}

// Routes lists the routes of every protocol.
func (n *Node) Routes() []Route {
	var out []Route
	for _, p := range n.protocols {
		if r, ok := p.(Router); ok {
			out = append(out, r.Routes()...)
		}
	}
	return out
}
