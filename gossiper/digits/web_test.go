package digits

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/peerster-chat/Peerster/messages"
)

// serve answers one request through the routes the node mounts.
func serve(t *testing.T, d *Digits, method, path, ctype, body string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range d.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

func TestDigitRoutesTakeJSONAndFormBodies(t *testing.T) {
	d, _, _ := newTestNode(t, &fakeDialer{}, Config{})
	if w := serve(t, d, "GET", "/digits", "", ""); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("GET /digits of an empty table: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct{ ctype, body string }{
		{"application/json", `{"digit":7}`},
		{"application/x-www-form-urlencoded", "digit=3"},
	} {
		if w := serve(t, d, "POST", "/digits", c.ctype, c.body); w.Code != 200 {
			t.Fatalf("POST /digits %s: %d %s", c.body, w.Code, w.Body)
		}
	}
	w := serve(t, d, "GET", "/digits", "", "")
	var got []messages.DigitEntry
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].Addr != self || got[0].Digit != 3 {
		t.Fatalf("GET /digits after setting 7 then 3: %s (%v)", w.Body, err)
	}
}

func TestBadDigitIs400AndChangesNothing(t *testing.T) {
	d, rec, _ := newTestNode(t, &fakeDialer{}, Config{})
	for _, c := range []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", `{"digit":1}`},
		{"application/json", `{"digit":10}`},
		{"application/json", `{"digit":-1}`},
		{"application/json", `{"digit":"x"}`},
		{"application/json", `{"digit":2.5}`},
		{"application/json", `{}`},
		{"application/json", `{"digit":`},
		{"application/x-www-form-urlencoded", "digit=12"},
		{"application/x-www-form-urlencoded", "digit="},
	} {
		w := serve(t, d, "POST", "/digits", c.ctype, c.body)
		var e struct {
			Error string `json:"error"`
		}
		if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("POST /digits %s: %d %s, want 400 with an error", c.body, w.Code, w.Body)
		}
	}
	if len(d.Entries()) != 0 || len(rec.all()) != 0 {
		t.Fatalf("bad input changed the table: %v, printed %q", d.Entries(), rec.all())
	}
}

func TestPanelShowsTheTableWithOurRowMarked(t *testing.T) {
	d, _, _ := newTestNode(t, &fakeDialer{}, Config{})
	d.table.merge([]messages.DigitEntry{{Addr: "127.0.0.1:7001", Time: 1700000000, Digit: 4}})
	d.setDigit(8)
	panels := d.Panels()
	if len(panels) != 1 || panels[0].Form == nil || panels[0].Form.Action != "/digits" || panels[0].Form.Field != "digit" {
		t.Fatalf("panels %+v", panels)
	}
	var rows [][]string
	var own []bool
	for _, r := range panels[0].Rows {
		rows = append(rows, r.Cells)
		own = append(own, r.Own)
	}
	want := [][]string{{"127.0.0.1:7001", "4", "1700000000"}, {self, "8", "1795238500"}}
	if !reflect.DeepEqual(rows, want) || !reflect.DeepEqual(own, []bool{false, true}) {
		t.Fatalf("rows %q own %v, want %q with ours marked", rows, own, want)
	}
}

// Every command the help names is one Command takes.
func TestEveryDescribedCommandIsTaken(t *testing.T) {
	d, _, _ := newTestNode(t, &fakeDialer{}, Config{})
	for _, c := range d.CommandHelp() {
		line := c.Usage
		switch line {
		case "+ip:port":
			line = "+127.0.0.1:7200"
		case "0-9":
			line = "5"
		}
		if handled, err := d.Command(line); !handled || err != nil {
			t.Errorf("%q (described as %q): handled %v, %v", line, c.Usage, handled, err)
		}
	}
}
