package digits

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/httpjson"
)

// digitUpdate names the update event of a changed entry; the page's digit
// panel is read again after it.
const digitUpdate = "digit"

// Routes implements gossiper.Router: GET /digits is the table, POST /digits
// {"digit":7} sets ours (interface.md).
func (d *Digits) Routes() []gossiper.Route {
	return []gossiper.Route{
		{Pattern: "GET /digits", Handler: http.HandlerFunc(d.getTable)},
		{Pattern: "POST /digits", Handler: http.HandlerFunc(d.postDigit)},
	}
}

func (d *Digits) getTable(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, httpjson.NonNil(d.Entries()))
}

func (d *Digits) postDigit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Digit json.Number `json:"digit"`
	}
	if err := httpjson.Decode(w, r, &body, "digit"); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	digit, err := strconv.Atoi(body.Digit.String())
	if err != nil || digit < 0 || digit > 9 {
		httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("digit %q: want an integer 0-9", body.Digit.String()))
		return
	}
	d.setDigit(uint8(digit))
	httpjson.Write(w, http.StatusOK, struct{}{})
}

// Panels implements gossiper.Paneler: the table, our own row marked, and a
// form that sets our digit.
func (d *Digits) Panels() []gossiper.Panel {
	entries := d.Entries()
	rows := make([]gossiper.PanelRow, len(entries))
	for i, e := range entries {
		when := ""
		if e.Time > 0 {
			when = strconv.FormatInt(e.Time, 10)
		}
		rows[i] = gossiper.PanelRow{
			Cells: []string{e.Addr, strconv.Itoa(int(e.Digit)), when},
			Own:   e.Addr == d.cfg.Self,
		}
	}
	lowest, highest := 0, 9
	return []gossiper.Panel{{
		ID:    "digits",
		Title: "Digits",
		Columns: []gossiper.PanelColumn{
			{Title: "Address", Kind: gossiper.ColumnText},
			{Title: "Digit", Kind: gossiper.ColumnText},
			{Title: "Time", Kind: gossiper.ColumnTime},
		},
		Rows:    rows,
		Empty:   "No digits yet.",
		Refresh: []string{digitUpdate},
		Form: &gossiper.PanelForm{
			Action:      "/digits",
			Field:       "digit",
			Label:       "Own digit (0 to 9)",
			Placeholder: "0–9",
			Button:      "Set digit",
			Min:         &lowest,
			Max:         &highest,
			Done:        "Digit set to {value}.",
		},
	}}
}
