// Command Peerster is the gossiper daemon: it parses flags and starts the
// chat node and the protocols of the modules list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/chatview"
	"github.com/peerster-chat/Peerster/gossiper/digits"
	"github.com/peerster-chat/Peerster/gossiper/p2p"
	"github.com/peerster-chat/Peerster/gossiper/peerster"
	"github.com/peerster-chat/Peerster/gossiper/web"
	"github.com/peerster-chat/Peerster/gossiper/whisper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// modules are the protocols the daemon speaks, in the order they start:
// Peerster first, as the course's scripts send to it the moment the nodes
// are launched, and the digit gossip defaults to its address.
func modules() []gossiper.Module {
	return []gossiper.Module{peerster.Module(), digits.Module(), whisper.Module(), p2p.Module()}
}

type options struct {
	uiPort   uint16
	name     string
	logLevel logrus.Level
	console  bool
	// trace is where the protocol lines and logs go while the chat view
	// is on; empty: nowhere.
	trace string
	// guiPort is 0 when the GUI is off.
	guiPort    uint16
	guiPortSet bool
	bridge     bool
	dataDir    string
	// enabled are the modules the flags turned on, in start order.
	enabled []gossiper.Module
}

// usageError is a bad flag value: exit status 2 and one line on stderr.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errVersion asks for the version line instead of a node.
var errVersion = errors.New("version requested")

// flagGroup is one heading of -h.
type flagGroup struct {
	title string
	flags []string
}

// nodeFlags are the flags of the node itself, in the order -h lists them.
var nodeFlags = []string{"UIPort", "name", "GUIPort", "console", "trace", "bridge", "dataDir", "logLevel", "version"}

// usage prints the synopsis, the flags by group and two examples.
func usage(w io.Writer, fs *flag.FlagSet, prog string, groups []flagGroup) {
	fmt.Fprintf(w, "%s: a multi-protocol peer-to-peer chat node (Peerster, digit gossip, whispernet, p2p-gossip)\n\n", prog)
	fmt.Fprintf(w, "Usage: %s [flags]\n", prog)
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.flags {
			f := fs.Lookup(name)
			kind, help := flag.UnquoteUsage(f)
			line := "  -" + f.Name
			if kind != "" {
				line += " " + kind
			}
			if f.DefValue != "" && f.DefValue != "false" {
				help += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "%s\n    \t%s\n", line, help)
		}
	}
	fmt.Fprintf(w, `
Examples:
  # A node with a web GUI on http://127.0.0.1:8080 that keeps its history:
  %[1]s -name=alice -gossipAddr=127.0.0.1:5000 -UIPort=8080 -dataDir="$HOME/.peerster"

  # A second node on the same machine, told of the first, chatting from the terminal:
  %[1]s -name=bob -gossipAddr=127.0.0.1:5001 -UIPort=8081 -peers=127.0.0.1:5000 -console
`, prog)
}

// versionLine names the build: the module version and the commit it was
// built from, from the build information Go records in the binary.
func versionLine(prog string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return prog + " (no build information)"
	}
	v := prog + " " + info.Main.Version
	var rev, when, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + " " + when + dirty
	}
	return v + " " + info.GoVersion
}

// parseFlags reads the node's flags and every module's; each module checks
// its own and says whether they turn it on.
func parseFlags(args []string, stderr io.Writer, mods []gossiper.Module) (options, error) {
	prog := filepath.Base(os.Args[0])
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	// Errors are reported in one line by the caller; the full usage only
	// on -h.
	fs.SetOutput(io.Discard)
	uiPort := fs.String("UIPort", "8080", "UDP port on 127.0.0.1 for the client")
	name := fs.String("name", "", "origin name (default: a random uuid)")
	logLevel := fs.String("logLevel", "info", "stderr log level: debug, info, warn, error")
	console := fs.Bool("console", false, "read commands from stdin: +ip:port, a digit, ?, !, a, or a chat message; on a terminal, a full-screen chat")
	trace := fs.String("trace", "", "with the terminal chat on, write the protocol lines and the logs to this file (default: nowhere)")
	guiPort := fs.String("GUIPort", "", "TCP port of the web GUI on 127.0.0.1; 0 disables it (default: the -UIPort number)")
	bridge := fs.Bool("bridge", false, "relay chat between the enabled protocols")
	dataDir := fs.String("dataDir", "", "directory for state that survives a restart and received files (default: none)")
	version := fs.Bool("version", false, "print the version and exit")
	var groups []flagGroup
	for _, m := range mods {
		before := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		m.Flags(fs)
		g := flagGroup{title: m.Title()}
		fs.VisitAll(func(f *flag.Flag) {
			if !before[f.Name] {
				g.flags = append(g.flags, f.Name)
			}
		})
		groups = append(groups, g)
	}
	groups = append(groups, flagGroup{title: "The node", flags: nodeFlags})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr, fs, prog, groups)
			return options{}, err
		}
		return options{}, usageError{err.Error()}
	}
	if *version {
		fmt.Fprintln(stderr, versionLine(prog))
		return options{}, errVersion
	}
	if fs.NArg() > 0 {
		return options{}, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	var o options
	port, err := strconv.ParseUint(*uiPort, 10, 16)
	if err != nil || port == 0 {
		return o, usageError{fmt.Sprintf("bad -UIPort %q: want a port number from 1 to 65535", *uiPort)}
	}
	o.uiPort = uint16(port)
	o.name = *name
	if o.name == "" {
		o.name = uuid.NewString()
	}
	if err := messages.CheckName(o.name); err != nil {
		return o, usageError{"bad -name: " + err.Error()}
	}
	if o.logLevel, err = logrus.ParseLevel(*logLevel); err != nil {
		return o, usageError{fmt.Sprintf("bad -logLevel %q: want debug, info, warn or error", *logLevel)}
	}
	o.console = *console
	o.trace = *trace
	switch *guiPort {
	case "":
		o.guiPort = o.uiPort
	case "0":
	default:
		p, err := strconv.ParseUint(*guiPort, 10, 16)
		if err != nil || p == 0 {
			return o, usageError{fmt.Sprintf("bad -GUIPort %q: want a port number from 0 to 65535", *guiPort)}
		}
		o.guiPort, o.guiPortSet = uint16(p), true
	}
	o.bridge = *bridge
	o.dataDir = *dataDir
	settings := gossiper.Settings{Name: o.name, DataDir: o.dataDir, Flag: func(name string) string { return fs.Lookup(name).Value.String() }}
	for _, m := range mods {
		on, err := m.Configure(settings)
		if err != nil {
			return o, usageError{err.Error()}
		}
		if on {
			o.enabled = append(o.enabled, m)
		}
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], modules()))
}

func run(args []string, mods []gossiper.Module) int {
	opts, err := parseFlags(args, os.Stderr, mods)
	switch {
	case errors.Is(err, errVersion):
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "gossiper:", ue.msg)
		}
		return 2
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(opts.logLevel)

	// A person at a terminal gets the chat view, and the protocol lines
	// and logs go to -trace instead of over it; scripts, whose stdout is a
	// pipe or a file, see no change.
	chatView := opts.console && chatview.IsTerminal(os.Stdin, os.Stdout)
	lines := io.Writer(os.Stdout)
	var trace *os.File
	if chatView {
		// Whether the logs go to a file or nowhere, they are not shown on
		// a terminal: no colour codes in the trace.
		log.SetFormatter(&logrus.TextFormatter{DisableColors: true})
		lines = io.Discard
		if opts.trace != "" {
			if trace, err = os.OpenFile(opts.trace, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
				fmt.Fprintln(os.Stderr, "gossiper:", err)
				return 1
			}
			// Deferred first, so closed last: after the last line and log.
			defer trace.Close()
			lines = trace
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A reader of stdout that goes away (./Peerster | head) must not kill
	// the node: the write fails, is reported at exit, and gossip goes on.
	signal.Ignore(syscall.SIGPIPE)

	// The client port first: the course scripts send client messages the
	// moment the last node is launched.
	ui, err := gossiper.ListenUDP(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(opts.uiPort))))
	if err != nil {
		log.WithError(err).Error("cannot listen on the client port")
		return 1
	}

	node := gossiper.NewNode(log)
	var store *gossiper.Store
	if opts.dataDir != "" {
		if store, err = gossiper.OpenStore(opts.dataDir, log); err != nil {
			fmt.Fprintln(os.Stderr, "gossiper:", err)
			ui.Close()
			return 1
		}
		// After the node stops, so that every write it queued is committed.
		defer store.Close()
		if err := node.Chat().Persist(store.Namespace("chat")); err != nil {
			fmt.Fprintln(os.Stderr, "gossiper: read the chat history:", err)
			return 1
		}
	}
	stdout := node.Events().Subscribe(256, true)
	printed := make(chan error, 1)
	go func() { printed <- gossiper.WriteLines(stdout.Events(), lines, log) }()

	env := gossiper.Env{Node: node, Log: log, Store: store, DataDir: opts.dataDir, Name: opts.name}
	started := 0
	for _, m := range opts.enabled {
		p, err := m.Start(env)
		if err != nil {
			// The process exits: what the started ones hold goes with it.
			log.WithError(err).WithField("protocol", m.Name()).Error("cannot start")
			return 1
		}
		if p != nil {
			node.Register(p)
			started++
		}
	}
	if opts.bridge {
		node.EnableBridge()
	}

	node.SetName(opts.name)
	if opts.guiPort != 0 {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(opts.guiPort))))
		switch {
		case err == nil:
			// The caps bound what a local process that opens connections
			// without end can take. There is no read deadline: the server
			// reads in the background of every event stream, and a
			// deadline would cut the stream. A connection that sends no
			// request is closed after ReadHeaderTimeout, one that sends no
			// further request after IdleTimeout.
			handler, err := web.Handler(node, log)
			if err != nil {
				ln.Close()
				log.WithError(err).Error("cannot serve the GUI")
				return 1
			}
			gln, err := gossiper.LimitListener(ln, gossiper.ListenerLimits{}, log.WithField("listener", "gui"))
			if err != nil {
				ln.Close()
				log.WithError(err).Error("cannot serve the GUI")
				return 1
			}
			gui := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
			guiDone := make(chan struct{})
			go func() {
				defer close(guiDone)
				gui.Serve(gln)
			}()
			// Close, not Shutdown: open event streams would hold Shutdown up.
			defer func() {
				gui.Close()
				<-guiDone
			}()
		case opts.guiPortSet:
			log.WithError(err).Error("cannot listen on the GUI port")
			return 1
		default:
			log.WithError(err).Error("GUI off: cannot listen on its default port")
		}
	}

	served := make(chan error, 1)
	go func() { served <- node.ServeClients(ctx, ui) }()
	// viewDone is closed once the chat view has given the terminal back.
	viewDone := make(chan struct{})
	switch {
	case chatView:
		go func() {
			defer close(viewDone)
			res, err := chatview.Run(ctx, node, chatview.Options{Home: peerster.ProtocolName, Trace: trace})
			switch {
			case err != nil:
				log.WithError(err).Error("chat view failed; the node keeps running")
			case res == chatview.Quit:
				// /quit and Ctrl-C stop the daemon as SIGINT does.
				stop()
			case res == chatview.Closed:
				log.Info("chat view closed; the node keeps running until Ctrl-C or SIGTERM")
			}
		}()
	case opts.console:
		close(viewDone)
		// The prompt goes to stderr, and only for a person at a terminal:
		// stdout carries protocol lines alone.
		var prompt io.Writer
		if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			prompt = os.Stderr
		}
		go node.RunConsole(ctx, os.Stdin, prompt)
	default:
		close(viewDone)
	}
	log.WithField("name", opts.name).WithField("UIPort", opts.uiPort).WithField("protocols", started).Info("gossiper started")

	status := 0
	if err := node.Run(ctx); err != nil {
		log.WithError(err).Error("gossiper failed")
		status = 1
	}
	stop()
	<-viewDone
	<-served
	if err := <-printed; err != nil {
		status = 1
	}
	return status
}
