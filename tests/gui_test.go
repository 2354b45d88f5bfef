package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The web GUI, tested the way a user sees it: real daemons, each serving
// its page and JSON API on 127.0.0.1:GUIPort, and a real headless Chromium
// typing into the page. What a user does on one node's page must show on
// another node's page without a reload (server-sent events).

// guiNode is a gossiper with an explicit GUI port and digit address.
type guiNode struct {
	*node
	guiPort   int
	digitAddr string
}

func (g *guiNode) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(g.guiPort) + path
}

// startGUINodes starts one gossiper per name, all peers of each other, each
// on fresh UDP ports plus a free TCP GUI port and a free TCP digit port, and
// waits until each holds all four. A port lost to another process between
// reservation and bind restarts the whole set on new ports.
func startGUINodes(t testing.TB, names ...string) []*guiNode {
	t.Helper()
	return startWithRetries(t, "start GUI nodes",
		func() ([]*guiNode, bool, error) { return tryStartGUINodes(t, names) },
		func(n *guiNode) { discard(n.node) })
}

func tryStartGUINodes(t testing.TB, names []string) (nodes []*guiNode, retry bool, err error) {
	udp := freeUDPPorts(t, 2*len(names))
	tcp := freeTCPPorts(t, 2*len(names))
	for i, name := range names {
		nodes = append(nodes, &guiNode{
			node: &node{
				name:   name,
				gossip: loopback(udp[2*i]),
				uiPort: udp[2*i+1],
				out:    &lineLog{},
				errLog: &lineLog{},
				exited: make(chan struct{}),
			},
			guiPort:   tcp[2*i],
			digitAddr: "127.0.0.1:" + strconv.Itoa(tcp[2*i+1]),
		})
	}
	for i, n := range nodes {
		var peers []string
		for j, p := range nodes {
			if j != i {
				peers = append(peers, p.gossip.String())
			}
		}
		args := []string{
			"-UIPort=" + strconv.Itoa(n.uiPort),
			"-gossipAddr=" + n.gossip.String(),
			"-name=" + n.name,
			"-GUIPort=" + strconv.Itoa(n.guiPort),
			"-digitAddr=" + n.digitAddr,
		}
		if len(peers) > 0 {
			args = append(args, "-peers="+strings.Join(peers, ","))
		}
		if err := n.start(t, args); err != nil {
			// discard skips the nodes not started.
			return nodes, false, err
		}
	}
	for _, n := range nodes {
		_, digitPort, _ := strings.Cut(n.digitAddr, ":")
		dp, _ := strconv.Atoi(digitPort)
		for _, wait := range []func() error{
			n.waitBound,
			func() error {
				return n.waitReady("listen on TCP GUI port "+strconv.Itoa(n.guiPort), func() bool { return tcpListenOwned(n.pid(), n.guiPort) })
			},
			func() error {
				return n.waitReady("listen on TCP "+n.digitAddr, func() bool { return tcpListenOwned(n.pid(), dp) })
			},
		} {
			if err := wait(); err != nil {
				return nodes, strings.Contains(n.errLog.String(), "address already in use"), err
			}
		}
	}
	return nodes, false, nil
}

// findChromium is the browser to drive: $PEERSTER_CHROMIUM, else the first
// of the usual names on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("PEERSTER_CHROMIUM"); p != "" {
		exe, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("PEERSTER_CHROMIUM=%s: %w", p, err)
		}
		return exe, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium, chromium-browser or google-chrome on PATH (install the Debian package chromium, or set PEERSTER_CHROMIUM)")
}

// requireChromium returns the browser's path. In CI (CI=true) a missing
// browser fails the test, since .ci/run installs it; elsewhere it skips.
func requireChromium(t *testing.T) string {
	t.Helper()
	p, err := findChromium()
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the browser test cannot run: %v", err)
	}
	t.Skipf("skipping the browser test: %v", err)
	return ""
}

// browserTab is one page in the shared headless browser.
type browserTab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu         sync.Mutex
	exceptions []string
	dialogs    []string
	console    []string
}

// watch records uncaught exceptions, console errors and warnings, and
// JavaScript dialogs of the tab; a dialog is dismissed at once, or the page
// would hang every later action. The listener runs on chromedp's
// goroutine, so it only records; checkClean reports.
func (b *browserTab) watch() {
	chromedp.ListenTarget(b.ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, msg)
			b.mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				var parts []string
				for _, a := range e.Args {
					if a.Value != nil {
						parts = append(parts, string(a.Value))
					} else {
						parts = append(parts, a.Description)
					}
				}
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
				b.mu.Unlock()
			}
		case *page.EventJavascriptDialogOpening:
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(e.Type)+": "+e.Message)
			b.mu.Unlock()
			go func() {
				_ = chromedp.Run(b.ctx, page.HandleJavaScriptDialog(false))
			}()
		}
	})
}

// open makes the tab (and, for the first, starts the browser). It runs on
// the tab's own context: cancelling the context of a tab's first Run closes
// the tab, so no timeout may be derived for it.
func (b *browserTab) open() {
	b.t.Helper()
	done := make(chan error, 1)
	go func() { done <- chromedp.Run(b.ctx, chromedp.EmulateViewport(1200, 800)) }()
	select {
	case err := <-done:
		if err != nil {
			b.t.Fatalf("tab %s: open: %v", b.name, err)
		}
	case <-time.After(startTimeout + waitTimeout):
		b.t.Fatalf("tab %s: the browser did not open a tab within %v", b.name, startTimeout+waitTimeout)
	}
}

func (b *browserTab) run(actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("tab %s: %v", b.name, err)
	}
}

// eval evaluates a JavaScript expression in the page into out.
func (b *browserTab) eval(js string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(js, out))
}

// chatItem is one li.msg of #chat as the user sees it.
type chatItem struct {
	Origin   string `json:"origin"`
	Protocol string `json:"protocol"`
	Time     string `json:"time"`
	Text     string `json:"text"`
}

const chatJS = `Array.from(document.querySelectorAll('#chat li.msg')).map(li => {
	const f = s => { const e = li.querySelector(s); return e === null ? null : e.textContent; };
	return {origin: f('.origin'), protocol: f('.protocol'), time: f('.time'), text: f('.text')};
})`

func (b *browserTab) chat() []chatItem {
	b.t.Helper()
	var items []chatItem
	b.eval(chatJS, &items)
	return items
}

func (b *browserTab) texts(sel string) []string {
	b.t.Helper()
	var out []string
	b.eval(`Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).map(e => e.textContent.trim())`, &out)
	return out
}

func (b *browserTab) text(sel string) string {
	b.t.Helper()
	var out string
	b.eval(`(e => e === null ? '' : e.textContent.trim())(document.querySelector(`+strconv.Quote(sel)+`))`, &out)
	return out
}

// digitRows is the digit table, one []string of cell texts per row.
func (b *browserTab) digitRows() [][]string {
	b.t.Helper()
	var out [][]string
	b.eval(`Array.from(document.querySelectorAll('#digits tr')).map(tr => Array.from(tr.cells).map(c => c.textContent.trim()))`, &out)
	return out
}

// waitFor polls the page until cond holds, at most timeout, and says how
// long that took; it fails the test with what was last seen otherwise.
func (b *browserTab) waitFor(what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	b.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("tab %s: %s not seen within %v; last seen: %s", b.name, what, timeout, seen)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitChat waits until #chat holds an item matching origin and text, and
// returns it and when it was first seen.
func (b *browserTab) waitChat(origin, text string, timeout time.Duration) (chatItem, time.Time) {
	b.t.Helper()
	var found chatItem
	var at time.Time
	b.waitFor(fmt.Sprintf("message %q from %q in #chat", text, origin), timeout, func() (bool, string) {
		items := b.chat()
		for _, it := range items {
			if strings.TrimSpace(it.Origin) == origin && it.Text == text {
				found, at = it, time.Now()
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", items)
	})
	return found, at
}

// checkClean fails the test for what the page should never do, and logs
// what it said on the console.
func (b *browserTab) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.console {
		b.t.Logf("tab %s: %s", b.name, c)
	}
	for _, e := range b.exceptions {
		b.t.Errorf("tab %s: uncaught JavaScript exception: %s", b.name, e)
	}
	for _, d := range b.dialogs {
		b.t.Errorf("tab %s: the page opened a dialog (script ran?): %s", b.name, d)
	}
}

// newBrowser starts one headless Chromium for the test, with options that
// work as root and offline: no sandbox, no GPU, nothing fetched in the
// background, a fresh profile.
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profileDir(t)),
		chromedp.WindowSize(1200, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	return allocCtx
}

// profileDir is a fresh, empty browser profile. Unlike t.TempDir, its
// removal tolerates the browser's helper processes still writing into it
// for a moment after the browser was told to quit.
// openPage opens a tab of a new headless Chromium on the page at url, as
// the named node's user, and waits for the chat input; the page must stay
// clean (checkClean) until the test ends.
func openPage(t *testing.T, exe, name, url string) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(newBrowser(t, exe), chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	tab := &browserTab{t: t, name: name, ctx: ctx}
	tab.open()
	tab.watch()
	t.Cleanup(tab.checkClean)
	tab.run(chromedp.Navigate(url), chromedp.WaitVisible("#chat-input", chromedp.ByQuery))
	return tab
}

func profileDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "peerster-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if i == 50 {
				t.Logf("remove the browser profile: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

func TestGUIInChromium(t *testing.T) {
	exe := requireChromium(t)
	testStart := time.Now()
	nodes := startGUINodes(t, "A", "B")
	a, b := nodes[0], nodes[1]
	t.Logf("nodes up after %v: A gossip %s GUI %d digit %s; B gossip %s GUI %d digit %s",
		time.Since(testStart).Round(time.Millisecond), a.gossip, a.guiPort, a.digitAddr, b.gossip, b.guiPort, b.digitAddr)

	allocCtx := newBrowser(t, exe)
	// The first context starts the browser; the second, made from the
	// first, is a second tab of the same browser.
	ctxA, cancelA := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelA)
	tabA := &browserTab{t: t, name: "A", ctx: ctxA}
	browserStart := time.Now()
	tabA.open()
	t.Logf("browser up after %v", time.Since(browserStart).Round(time.Millisecond))
	ctxB, cancelB := chromedp.NewContext(ctxA)
	t.Cleanup(cancelB)
	tabB := &browserTab{t: t, name: "B", ctx: ctxB}
	tabB.open()
	for _, tab := range []*browserTab{tabA, tabB} {
		tab.watch()
		t.Cleanup(tab.checkClean)
	}

	last := time.Now()
	step := func(what string) {
		t.Logf("step %s took %v", what, time.Since(last).Round(time.Millisecond))
		last = time.Now()
	}

	// Both pages load and show their node's identity and peers.
	for _, p := range []struct {
		tab  *browserTab
		n    *guiNode
		peer *guiNode
	}{{tabA, a, b}, {tabB, b, a}} {
		p.tab.run(
			chromedp.Navigate(p.n.url("/")),
			chromedp.WaitVisible("#chat-input", chromedp.ByQuery),
		)
		p.tab.waitFor("the ID box filled in", waitTimeout, func() (bool, string) {
			got := [3]string{p.tab.text("#id-name"), p.tab.text("#id-gossipAddr"), p.tab.text("#id-digitAddr")}
			return got == [3]string{p.n.name, p.n.gossip.String(), p.n.digitAddr}, fmt.Sprintf("%q", got)
		})
		p.tab.waitFor("the peer in #nodes", waitTimeout, func() (bool, string) {
			got := p.tab.texts("#nodes li")
			return reflect.DeepEqual(got, []string{p.peer.gossip.String()}), fmt.Sprintf("%q", got)
		})
	}
	step("pages loaded")

	// A message typed on A's page and sent with Enter shows on both pages,
	// B's without a reload.
	msg1 := "hello from A's page"
	sent := time.Now()
	tabA.run(chromedp.SendKeys("#chat-input", msg1+"\r", chromedp.ByQuery))
	typed := time.Now()
	item, onB := tabB.waitChat("A", msg1, 10*time.Second)
	_, onA := tabA.waitChat("A", msg1, 10*time.Second)
	logLatency(t, b, "typed and Enter on A", sent, typed, onB, regexp.MustCompile(`^RUMOR origin A from \S+ ID 1 contents `+regexp.QuoteMeta(msg1)+`$`))
	t.Logf("latency: on A's own page at most %v after Enter (checked after B's)", onA.Sub(typed).Round(time.Millisecond))
	if item.Protocol == "" || item.Time == "" {
		t.Errorf("B's page shows %+v: .protocol and .time should not be empty", item)
	}
	if v := tabA.inputValue("#chat-input"); v != "" {
		t.Errorf("A's #chat-input still holds %q after sending", v)
	}
	step("first message")

	// Markup in a message is text, never HTML: sent with the Send button.
	xss := `<img src=x onerror=alert(1)>`
	sent = time.Now()
	tabA.run(
		chromedp.SetValue("#chat-input", xss, chromedp.ByQuery),
		chromedp.Click("#send", chromedp.ByQuery),
	)
	clicked := time.Now()
	_, onB = tabB.waitChat("A", xss, 10*time.Second)
	logLatency(t, b, "Send on A", sent, clicked, onB, regexp.MustCompile(`^RUMOR origin A from \S+ ID 2 contents `+regexp.QuoteMeta(xss)+`$`))
	for _, tab := range []*browserTab{tabA, tabB} {
		tab.waitChat("A", xss, 10*time.Second)
		var imgs int
		tab.eval(`document.querySelectorAll('#chat img, #chat script, #chat iframe').length`, &imgs)
		if imgs != 0 {
			t.Errorf("tab %s: %d elements made from message text inside #chat", tab.name, imgs)
		}
	}
	step("markup message")

	// Adding a node on A's page shows it in A's node list, after B.
	extra := loopback(freeUDPPorts(t, 1)[0]).String()
	tabA.run(
		chromedp.SetValue("#node-input", extra, chromedp.ByQuery),
		chromedp.Click("#add-node", chromedp.ByQuery),
	)
	tabA.waitFor("the added node in #nodes", waitTimeout, func() (bool, string) {
		got := tabA.texts("#nodes li")
		return reflect.DeepEqual(got, []string{b.gossip.String(), extra}), fmt.Sprintf("%q", got)
	})
	step("add node")

	// A bad address is refused with feedback in #status, and nothing changes.
	tabA.eval(`document.getElementById('status').textContent = ''`, nil)
	tabA.run(
		chromedp.SetValue("#node-input", "nonsense", chromedp.ByQuery),
		chromedp.Click("#add-node", chromedp.ByQuery),
	)
	tabA.waitFor("feedback in #status for a bad address", waitTimeout, func() (bool, string) {
		got := tabA.text("#status")
		return got != "", strconv.Quote(got)
	})
	t.Logf("A's #status after adding %q: %q", "nonsense", tabA.text("#status"))
	var peersA []string
	getJSON(t, a.url("/node"), &peersA)
	if got := tabA.texts("#nodes li"); !reflect.DeepEqual(got, []string{b.gossip.String(), extra}) || !reflect.DeepEqual(peersA, got) {
		t.Errorf("after a refused address: A's page lists %q, GET /node %q; want %q", got, peersA, []string{b.gossip.String(), extra})
	}
	step("bad address")

	// A new name shows in A's ID box, and B sees A's next message under it.
	tabA.run(
		chromedp.SetValue("#name-input", "Alice", chromedp.ByQuery),
		chromedp.Click("#change-name", chromedp.ByQuery),
	)
	tabA.waitFor("the new name in #id-name", waitTimeout, func() (bool, string) {
		got := tabA.text("#id-name")
		return got == "Alice", strconv.Quote(got)
	})
	msg3 := "now I am Alice"
	sent = time.Now()
	tabA.run(
		chromedp.SetValue("#chat-input", msg3, chromedp.ByQuery),
		chromedp.Click("#send", chromedp.ByQuery),
	)
	clicked = time.Now()
	_, onB = tabB.waitChat("Alice", msg3, 10*time.Second)
	// A now has two peers, one of them silent: the rumor may go there first
	// and reach B only by anti-entropy, about a second later.
	logLatency(t, b, "Send on A (renamed)", sent, clicked, onB, regexp.MustCompile(`^RUMOR origin Alice from \S+ ID 1 contents `+regexp.QuoteMeta(msg3)+`$`))
	// What was said before the rename keeps its origin.
	tabB.waitChat("A", msg1, time.Second)
	step("rename and message")

	// A's dissemination panel, drawn from /panels as every module's is,
	// shows B holding Alice's message once B's ack arrived.
	tabA.waitFor("Alice #1 held by B in #spread", waitTimeout, func() (bool, string) {
		var rows [][]string
		tabA.eval(`Array.from(document.querySelectorAll('#spread tr')).map(tr => Array.from(tr.cells).map(c => c.textContent.trim()))`, &rows)
		for _, r := range rows {
			if len(r) == 4 && strings.HasPrefix(r[0], "Alice #1") && strings.HasPrefix(r[2], "1 of ") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%q", rows)
	})
	step("dissemination panel")

	// Setting the own digit shows it in A's digit table under A's address.
	tabA.run(
		chromedp.SetValue("#digits-input", "7", chromedp.ByQuery),
		chromedp.Click("#digits-submit", chromedp.ByQuery),
	)
	tabA.waitFor("A's digit 7 in #digits", waitTimeout, func() (bool, string) {
		rows := tabA.digitRows()
		for _, r := range rows {
			// The page may mark its own row after the address.
			if f := strings.Fields(strings.Join(r, " ")); len(r) >= 2 && len(f) > 0 && f[0] == a.digitAddr && r[1] == "7" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%q", rows)
	})
	waitLine(t, a.node, digitLine(a.digitAddr, 7), waitTimeout)
	step("digit")

	// The pages agree with the API they are built from.
	var api []struct {
		Origin, Text string
	}
	getJSON(t, a.url("/message"), &api)
	if len(api) != 3 {
		t.Errorf("A's GET /message has %d messages, want 3: %+v", len(api), api)
	}
	if got := tabA.chat(); len(got) != 3 {
		t.Errorf("A's page shows %d messages, want 3: %+v", len(got), got)
	}
	if got := tabB.chat(); len(got) != 3 {
		t.Errorf("B's page shows %d messages, want 3: %+v", len(got), got)
	}
	step("API check")

	// The screenshot for the README.
	// The refused address stays in its box for the user to fix; not in the
	// picture.
	tabA.eval(`document.getElementById('node-input').value = ''`, nil)
	// Tab B, opened last, is in front: a background tab renders no frames,
	// and its screenshot waits seconds for one.
	var png []byte
	tabA.run(page.BringToFront(), chromedp.FullScreenshot(&png, 100))
	step("screenshot")
	out := os.Getenv("PEERSTER_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "gui.png")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot of A's page (%d bytes) in %s; whole test %v", len(png), out, time.Since(testStart).Round(time.Millisecond))
}

// logLatency logs how long a message took from the start of the user's
// action on A to B's page, and when on the way B printed its RUMOR line:
// the gap between the two is the event stream and the page's update.
func logLatency(t *testing.T, b *guiNode, what string, start, acted, onPage time.Time, rumor *regexp.Regexp) {
	t.Helper()
	rumorAt, ok := firstLineAt(b.node, 0, rumor, time.Second)
	if !ok {
		t.Errorf("%s: B's page shows the message but B printed no line matching %v", what, rumor)
		return
	}
	t.Logf("latency: %s -> B's page %v after the action began (the action took %v; B printed the RUMOR line at %v)",
		what, onPage.Sub(start).Round(time.Millisecond), acted.Sub(start).Round(time.Millisecond), rumorAt.Sub(start).Round(time.Millisecond))
}

func (b *browserTab) inputValue(sel string) string {
	b.t.Helper()
	var v string
	b.run(chromedp.Value(sel, &v, chromedp.ByQuery))
	return v
}

// httpResult is one API answer.
type httpResult struct {
	code int
	ct   string
	body []byte
}

var guiHTTP = &http.Client{Timeout: waitTimeout}

func doHTTP(t testing.TB, method, url, contentType, body string, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := guiHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return httpResult{code: resp.StatusCode, ct: resp.Header.Get("Content-Type"), body: b}
}

func getJSON(t testing.TB, url string, out any) {
	t.Helper()
	r := doHTTP(t, "GET", url, "", "", nil)
	if r.code != 200 {
		t.Fatalf("GET %s: %d %q", url, r.code, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, r.body)
	}
}

// guiState is everything the API shows, to check that a refused request
// changed nothing.
type guiState struct {
	id, messages, nodes, digits string
}

func snapshot(t testing.TB, n *guiNode) guiState {
	t.Helper()
	get := func(path string) string {
		r := doHTTP(t, "GET", n.url(path), "", "", nil)
		if r.code != 200 {
			t.Fatalf("GET %s: %d %q", path, r.code, r.body)
		}
		// Compare JSON values, not spacing.
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("GET %s: %v in %q", path, err, r.body)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return guiState{get("/id"), get("/message"), get("/node"), get("/digits")}
}

func TestGUICrossOriginRefused(t *testing.T) {
	n := startGUINodes(t, "X")[0]
	before := snapshot(t, n)
	lines := len(n.out.all())
	self := "http://127.0.0.1:" + strconv.Itoa(n.guiPort)
	const evil = "http://evil.example"

	// Another site's page may make the browser POST to the node; the node
	// must refuse, whatever the body's encoding (a plain form is sent
	// cross-site without a preflight).
	cross := []struct{ path, ct, body string }{
		{"/message", "application/json", `{"text":"from evil"}`},
		{"/message", "application/x-www-form-urlencoded", `text=from+evil`},
		{"/message", "text/plain", `{"text":"from evil"}`},
		{"/id", "application/json", `{"name":"Mallory"}`},
		{"/node", "application/x-www-form-urlencoded", `addr=127.0.0.1:9`},
		{"/digits", "application/json", `{"digit":3}`},
	}
	for _, c := range cross {
		r := doHTTP(t, "POST", n.url(c.path), c.ct, c.body, map[string]string{"Origin": evil})
		if r.code != http.StatusForbidden && r.code != http.StatusBadRequest {
			t.Errorf("POST %s (%s) with Origin %s: %d %q, want 403 or 400", c.path, c.ct, evil, r.code, r.body)
		}
	}

	// Bad input: 400 with {"error": "..."}.
	bad := []struct{ path, ct, body string }{
		{"/message", "application/json", `{"text":""}`},
		{"/message", "application/json", `{"text":`},
		{"/message", "application/json", `not json`},
		{"/digits", "application/json", `{"digit":10}`},
		{"/digits", "application/json", `{"digit":-1}`},
		{"/node", "application/json", `{"addr":"nonsense"}`},
		{"/id", "application/json", `{"name":""}`},
	}
	for _, c := range bad {
		r := doHTTP(t, "POST", n.url(c.path), c.ct, c.body, map[string]string{"Origin": self})
		var e struct {
			Error *string `json:"error"`
		}
		if r.code != http.StatusBadRequest {
			t.Errorf("POST %s %s: %d %q, want 400", c.path, c.body, r.code, r.body)
			continue
		}
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil || *e.Error == "" {
			t.Errorf("POST %s %s: 400 with body %q (Content-Type %q), want {\"error\":\"...\"}", c.path, c.body, r.body, r.ct)
		}
	}

	// Give anything wrongly accepted time to show, then compare.
	time.Sleep(300 * time.Millisecond)
	if after := snapshot(t, n); after != before {
		t.Errorf("refused requests changed the node:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, ln := range n.out.since(lines) {
		t.Errorf("refused requests printed on stdout: %q", ln.text)
	}

	// The same request from the node's own page, and from a non-browser
	// client (no Origin), is accepted.
	for i, h := range []map[string]string{{"Origin": self}, nil} {
		text := "accepted " + strconv.Itoa(i)
		r := doHTTP(t, "POST", n.url("/message"), "application/json", `{"text":"`+text+`"}`, h)
		if r.code != http.StatusOK {
			t.Errorf("POST /message with header %v: %d %q, want 200", h, r.code, r.body)
			continue
		}
		waitLine(t, n.node, exactLine("CLIENT MESSAGE "+text), waitTimeout)
	}
	var msgs []struct{ Origin, Text string }
	getJSON(t, n.url("/message"), &msgs)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if want := []string{"accepted 0", "accepted 1"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("GET /message texts %q, want %q", texts, want)
	}
}

// TestGUIEventsAndShutdown reads /events as a browser's EventSource would:
// a message posted to the API arrives on the open stream, and the daemon
// still exits promptly and cleanly on SIGTERM while the stream is open.
func TestGUIEventsAndShutdown(t *testing.T) {
	// Registered before the node starts, so this runs after the node's
	// stop: the stream is still open when the node gets SIGTERM.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := startGUINodes(t, "E")[0]

	req, err := http.NewRequestWithContext(ctx, "GET", n.url("/events"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /events: %d, Content-Type %q; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	text := "through the event stream"
	sent := time.Now()
	if r := doHTTP(t, "POST", n.url("/message"), "application/json", `{"text":"`+text+`"}`, nil); r.code != 200 {
		t.Fatalf("POST /message: %d %q", r.code, r.body)
	}
	deadline := time.After(10 * time.Second)
	var seen []string
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("/events ended before the message arrived; saw %q", seen)
			}
			seen = append(seen, l)
			found = strings.HasPrefix(l, "data:") && strings.Contains(l, text)
		case <-deadline:
			t.Fatalf("message not on /events within 10s; saw %q", seen)
		}
	}
	t.Logf("POST /message -> event on /events in %v", time.Since(sent).Round(time.Millisecond))

	stopped := time.Now()
	n.stop(t)
	t.Logf("SIGTERM with /events open: exited in %v", time.Since(stopped).Round(time.Millisecond))
	closed := time.After(stopTimeout)
	for open := true; open; {
		select {
		case _, open = <-lines:
		case <-closed:
			t.Fatalf("/events stream still open %v after the node exited", stopTimeout)
		}
	}
}

// TestGUIShowsWhisperAndMeshPeers: the page of a node in a whispernet and a
// p2p-gossip mesh shows their messages with their protocol, its whisper
// address, and its links, alive, then down when a peer goes away.
func TestGUIShowsWhisperAndMeshPeers(t *testing.T) {
	exe := requireChromium(t)
	nodes := startChatNodes(t, []chatSpec{
		{name: "Home", p2p: true},
		{name: "Away", p2p: true, p2pConnect: []int{0}, whisperPeers: []int{0}},
	})
	home, away := nodes[0], nodes[1]
	waitFor(t, "mesh up", convergeTimeout, func() bool { return aliveLinks(t, home) == 1 })

	tab := openPage(t, exe, "Home", fmt.Sprintf("http://127.0.0.1:%d/", home.guiPort))
	homeID := home.identity(t)
	tab.waitFor("the whisper and mesh addresses and the mesh identity", waitTimeout, func() (bool, string) {
		got := [3]string{tab.text("#id-whisperAddr"), tab.text("#id-p2pAddr"), tab.text("#id-p2pIdentity")}
		return got == [3]string{home.whisperAddr, home.p2pAddr, homeID} && homeID != "", fmt.Sprintf("%q", got)
	})

	sendClient(t, away.node, "to_both_networks")
	item, _ := tab.waitChat("Away", "to_both_networks", waitTimeout)
	if strings.TrimSpace(item.Protocol) != "whisper" {
		t.Errorf("whisper message shown with protocol %q", item.Protocol)
	}
	mesh, _ := tab.waitChat(away.identity(t), "to_both_networks", waitTimeout)
	if strings.TrimSpace(mesh.Protocol) != "p2p" {
		t.Errorf("mesh message shown with protocol %q", mesh.Protocol)
	}

	rows := func() [][]string {
		var out [][]string
		tab.eval(`Array.from(document.querySelectorAll('#links tr')).map(tr => Array.from(tr.cells).map(c => c.textContent.trim()))`, &out)
		return out
	}
	has := func(want ...string) (bool, string) {
		rs := rows()
		for _, r := range rs {
			if strings.Join(r, "|") == strings.Join(want, "|") {
				return true, ""
			}
		}
		return false, fmt.Sprint(rs)
	}
	tab.waitFor("Away's mesh link alive", waitTimeout, func() (bool, string) {
		return has("p2p", away.identity(t), away.p2pAddr, "alive")
	})
	tab.waitFor("Away's whisper link alive", waitTimeout, func() (bool, string) {
		return has("whisper", away.whisperAddr, away.whisperAddr, "alive")
	})
	id := away.identity(t)
	away.stop(t)
	tab.waitFor("Away's mesh link down", waitTimeout, func() (bool, string) {
		return has("p2p", id, away.p2pAddr, "down")
	})
}

// TestGUIMarksMessagesSpeakingAsUs: a rumor that carries the node's own name
// with an ID it never issued is shown on its page, and in GET /message, as
// not sent by it; its own messages are not.
func TestGUIMarksMessagesSpeakingAsUs(t *testing.T) {
	exe := requireChromium(t)
	home := startGUINodes(t, "Home")[0]
	sendClient(t, home.node, "mine")
	waitFor(t, "Home's own message in its chat", waitTimeout, func() bool {
		var msgs []map[string]any
		getJSON(t, home.url("/message"), &msgs)
		return len(msgs) == 1
	})

	forger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	if _, err := forger.WriteToUDPAddrPort(encode(t, rumor("Home", 2, "forged")), home.gossip); err != nil {
		t.Fatal(err)
	}
	var suspect map[string]any
	waitFor(t, "the forgery in GET /message", waitTimeout, func() bool {
		var msgs []map[string]any
		getJSON(t, home.url("/message"), &msgs)
		for _, m := range msgs {
			if m["text"] == "forged" {
				suspect = m
				return true
			}
		}
		return false
	})
	if suspect["suspect"] != true {
		t.Fatalf("forgery served as %v, want \"suspect\": true", suspect)
	}

	tab := openPage(t, exe, "Home", home.url("/"))
	tab.waitChat("Home", "forged", waitTimeout)
	var marks []string
	tab.eval(`Array.from(document.querySelectorAll('#chat li.msg')).map(li =>
		li.querySelector('.text').textContent + '|' + li.classList.contains('suspect') + '|' +
		((e => e === null ? '' : e.textContent)(li.querySelector('.suspect-tag'))))`, &marks)
	want := []string{"mine|false|", "forged|true|not sent by this node"}
	if strings.Join(marks, "\n") != strings.Join(want, "\n") {
		t.Fatalf("page shows %q, want %q", marks, want)
	}
}

// A long history is read a page at a time: the newest 200 messages first,
// older pages as the reader scrolls up, new ones appended as they come; the
// page never asks for the whole history.
func TestGUIPagesALongHistory(t *testing.T) {
	exe := requireChromium(t)
	home := startGUINodes(t, "Pager")[0]
	const total = 450
	for i := 1; i <= total; i++ {
		if r := doHTTP(t, "POST", home.url("/message"), "application/json", fmt.Sprintf(`{"text":"m%d"}`, i), nil); r.code != 200 {
			t.Fatalf("POST message %d: %d %s", i, r.code, r.body)
		}
	}
	tab := openPage(t, exe, "Pager", home.url("/"))
	tab.waitChat("Pager", fmt.Sprint("m", total), waitTimeout)
	count := func() int {
		var n int
		tab.eval(`document.querySelectorAll('#chat li.msg').length`, &n)
		return n
	}
	if n := count(); n != 200 {
		t.Fatalf("first load shows %d messages, want the newest 200", n)
	}
	scrollUp := func(want int, oldest string) {
		t.Helper()
		before := count()
		tab.eval(`(c => { c.scrollTop = 0; c.dispatchEvent(new Event('scroll')); return true; })(document.getElementById('chat'))`, nil)
		tab.waitFor(fmt.Sprintf("an older page after scrolling up from %d messages", before), waitTimeout, func() (bool, string) {
			n := count()
			return n > before, fmt.Sprintf("%d shown", n)
		})
		if n := count(); n != want {
			t.Fatalf("%d shown after one scroll up, want %d", n, want)
		}
		var first string
		tab.eval(`document.querySelector('#chat li.msg .text').textContent`, &first)
		if first != oldest {
			t.Fatalf("oldest shown %q, want %q", first, oldest)
		}
	}
	scrollUp(400, "m51")
	scrollUp(450, "m1")

	sendClient(t, home.node, "newest")
	tab.waitChat("Pager", "newest", waitTimeout)
	if n := count(); n != total+1 {
		t.Fatalf("%d shown after a new message, want %d", n, total+1)
	}
	var whole int
	tab.eval(`performance.getEntriesByType('resource').filter(e => /\/message$/.test(e.name)).length`, &whole)
	if whole != 0 {
		t.Fatalf("the page fetched the whole history %d times", whole)
	}
}
