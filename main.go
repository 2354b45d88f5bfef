// Command Peerster is the gossiper daemon: it parses flags and wires the chat
// node, its protocols and stdout together.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/digits"
	"github.com/peerster-chat/Peerster/gossiper/p2p"
	"github.com/peerster-chat/Peerster/gossiper/peerster"
	"github.com/peerster-chat/Peerster/gossiper/web"
	"github.com/peerster-chat/Peerster/gossiper/whisper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

type options struct {
	uiPort      uint16
	gossipAddr  netip.AddrPort
	name        string
	peers       []netip.AddrPort
	simple      bool
	antiEntropy time.Duration
	logLevel    logrus.Level
	// digitAddr is empty when the digit gossip is off.
	digitAddr    string
	digitAddrSet bool
	digit        *uint8
	console      bool
	// guiPort is 0 when the GUI is off.
	guiPort    uint16
	guiPortSet bool
	// whisperAddr is empty when the whispernet is off.
	whisperAddr      string
	whisperPeers     []string
	whisperDiscovery bool
	bridge           bool
	dataDir          string
	// p2pAddr is empty when the p2p-gossip mesh is off.
	p2pAddr         string
	p2pConnect      []string
	p2pPeriod       time.Duration
	p2pKey, p2pCert string
}

// usageError is a bad flag value: exit status 2 and one line on stderr.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errVersion asks for the version line instead of a node.
var errVersion = errors.New("version requested")

// flagGroups orders -h by what each flag belongs to.
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Peerster (UDP rumor mongering; the course's flags)", []string{"UIPort", "gossipAddr", "name", "peers", "simple", "antiEntropy"}},
	{"Digit gossip (TCP, CSV table)", []string{"digitAddr", "digit"}},
	{"Whispernet (JSON over TCP)", []string{"whisperAddr", "whisperPeers", "whisperDiscovery"}},
	{"p2p-gossip (TLS mesh)", []string{"p2pAddr", "p2pConnect", "p2pPeriod", "p2pKey", "p2pCert"}},
	{"The node", []string{"GUIPort", "console", "bridge", "dataDir", "logLevel", "version"}},
}

// usage prints the synopsis, the flags by group and two examples.
func usage(w io.Writer, fs *flag.FlagSet, prog string) {
	fmt.Fprintf(w, "%s: a multi-protocol peer-to-peer chat node (Peerster, digit gossip, whispernet, p2p-gossip)\n\n", prog)
	fmt.Fprintf(w, "Usage: %s [flags]\n", prog)
	for _, g := range flagGroups {
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

func parseFlags(args []string, stderr io.Writer) (options, error) {
	prog := filepath.Base(os.Args[0])
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	// Errors are reported in one line by the caller; the full usage only
	// on -h.
	fs.SetOutput(io.Discard)
	uiPort := fs.String("UIPort", "8080", "UDP port on 127.0.0.1 for the client")
	gossipAddr := fs.String("gossipAddr", "127.0.0.1:5000", "ip:port of the gossiper")
	name := fs.String("name", "", "origin name (default: a random uuid)")
	peers := fs.String("peers", "", "comma separated list of peers of the form ip:port")
	simple := fs.Bool("simple", false, "run the gossiper in simple broadcast mode")
	antiEntropy := fs.Int("antiEntropy", 1, "anti-entropy period in seconds; 0 disables it")
	logLevel := fs.String("logLevel", "info", "stderr log level: debug, info, warn, error")
	digitAddr := fs.String("digitAddr", "", "TCP ip:port of the digit gossip, or off (default: the gossip address)")
	digit := fs.String("digit", "", "initial own digit, 0-9 (default: none until one is set)")
	console := fs.Bool("console", false, "read commands from stdin: +ip:port, a digit, ?, !, a, or a chat message")
	guiPort := fs.String("GUIPort", "", "TCP port of the web GUI on 127.0.0.1; 0 disables it (default: the -UIPort number)")
	whisperAddr := fs.String("whisperAddr", "", "TCP ip:port to accept whispernet peers on; empty disables the whispernet")
	whisperPeers := fs.String("whisperPeers", "", "comma separated whispernet peers (ip:port) to dial")
	whisperDiscovery := fs.Bool("whisperDiscovery", false, "announce and find whispernet peers by UDP broadcast on port 5555")
	bridge := fs.Bool("bridge", false, "relay chat between the enabled protocols")
	p2pAddr := fs.String("p2pAddr", "", "TCP ip:port of the p2p-gossip TLS node; empty disables it")
	p2pConnect := fs.String("p2pConnect", "", "comma separated ip:port of p2p-gossip nodes to join through")
	p2pPeriod := fs.Int("p2pPeriod", 5, "seconds between p2p-gossip catch-up rounds")
	p2pKey := fs.String("p2pKey", "", "PEM private key (RSA PKCS#1, PKCS#8 or EC) for a stable p2p-gossip identity")
	p2pCert := fs.String("p2pCert", "", "PEM certificate that goes with -p2pKey")
	dataDir := fs.String("dataDir", "", "directory for state that survives a restart and received files (default: none)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr, fs, prog)
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
	if o.gossipAddr, err = messages.ParsePeerAddr(*gossipAddr); err != nil {
		return o, usageError{"bad -gossipAddr: " + err.Error()}
	}
	o.name = *name
	if o.name == "" {
		o.name = uuid.NewString()
	}
	if err := messages.CheckName(o.name); err != nil {
		return o, usageError{"bad -name: " + err.Error()}
	}
	if strings.TrimSpace(*peers) != "" {
		for _, p := range strings.Split(*peers, ",") {
			ap, err := messages.ParsePeerAddr(strings.TrimSpace(p))
			if err != nil {
				return o, usageError{"bad -peers: " + err.Error()}
			}
			o.peers = append(o.peers, ap)
		}
	}
	o.simple = *simple
	if *antiEntropy < 0 {
		return o, usageError{fmt.Sprintf("bad -antiEntropy %d: want seconds >= 0", *antiEntropy)}
	}
	o.antiEntropy = time.Duration(*antiEntropy) * time.Second
	if o.logLevel, err = logrus.ParseLevel(*logLevel); err != nil {
		return o, usageError{fmt.Sprintf("bad -logLevel %q: want debug, info, warn or error", *logLevel)}
	}
	switch *digitAddr {
	case "off":
	case "":
		o.digitAddr = o.gossipAddr.String()
	default:
		if o.digitAddr, err = messages.ParseDigitAddr(*digitAddr); err != nil {
			return o, usageError{"bad -digitAddr: " + err.Error()}
		}
		o.digitAddrSet = true
	}
	if *digit != "" {
		if len(*digit) != 1 || (*digit)[0] < '0' || (*digit)[0] > '9' {
			return o, usageError{fmt.Sprintf("bad -digit %q: want one digit 0-9", *digit)}
		}
		d := (*digit)[0] - '0'
		o.digit = &d
	}
	o.console = *console
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
	if *whisperAddr != "" {
		ap, err := messages.ParseWhisperAddr(*whisperAddr)
		if err != nil {
			return o, usageError{"bad -whisperAddr: " + err.Error()}
		}
		o.whisperAddr = ap.String()
	}
	if strings.TrimSpace(*whisperPeers) != "" {
		for _, p := range strings.Split(*whisperPeers, ",") {
			ap, err := messages.ParseWhisperAddr(strings.TrimSpace(p))
			if err != nil {
				return o, usageError{"bad -whisperPeers: " + err.Error()}
			}
			o.whisperPeers = append(o.whisperPeers, ap.String())
		}
	}
	o.whisperDiscovery = *whisperDiscovery
	if o.whisperAddr == "" && (o.whisperPeers != nil || o.whisperDiscovery) {
		return o, usageError{"-whisperPeers and -whisperDiscovery need -whisperAddr, the address our messages carry"}
	}
	o.bridge = *bridge
	o.dataDir = *dataDir
	if *p2pAddr != "" {
		ap, err := netip.ParseAddrPort(*p2pAddr)
		if err != nil || ap.Port() == 0 {
			return o, usageError{fmt.Sprintf("bad -p2pAddr %q: want ip:port with a port from 1 to 65535", *p2pAddr)}
		}
		o.p2pAddr = ap.String()
	}
	if strings.TrimSpace(*p2pConnect) != "" {
		for _, p := range strings.Split(*p2pConnect, ",") {
			ap, err := netip.ParseAddrPort(strings.TrimSpace(p))
			if err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
				return o, usageError{fmt.Sprintf("bad -p2pConnect %q: want ip:port of a node to dial", strings.TrimSpace(p))}
			}
			o.p2pConnect = append(o.p2pConnect, ap.String())
		}
	}
	if *p2pPeriod < 1 {
		return o, usageError{fmt.Sprintf("bad -p2pPeriod %d: want seconds >= 1", *p2pPeriod)}
	}
	o.p2pPeriod = time.Duration(*p2pPeriod) * time.Second
	if (*p2pKey == "") != (*p2pCert == "") {
		return o, usageError{"-p2pKey and -p2pCert go together"}
	}
	o.p2pKey, o.p2pCert = *p2pKey, *p2pCert
	if o.p2pAddr == "" && (o.p2pConnect != nil || o.p2pKey != "") {
		return o, usageError{"-p2pConnect, -p2pKey and -p2pCert need -p2pAddr"}
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	opts, err := parseFlags(args, os.Stderr)
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A reader of stdout that goes away (./Peerster | head) must not kill
	// the node: the write fails, is reported at exit, and gossip goes on.
	signal.Ignore(syscall.SIGPIPE)

	// The client port first: the course scripts send client messages the
	// moment the last node is launched.
	ui, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(opts.uiPort))))
	if err != nil {
		log.WithError(err).Error("cannot listen on the client port")
		return 1
	}
	tr, err := peerster.ListenUDP(opts.gossipAddr)
	if err != nil {
		ui.Close()
		log.WithError(err).Error("cannot listen on the gossip address")
		return 1
	}

	node := gossiper.NewNode(log)
	var store *gossiper.Store
	if opts.dataDir != "" {
		if store, err = gossiper.OpenStore(opts.dataDir, log); err != nil {
			fmt.Fprintln(os.Stderr, "gossiper:", err)
			ui.Close()
			tr.Close()
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
	go func() { printed <- gossiper.WriteLines(stdout.Events(), os.Stdout, log) }()

	pcfg := peerster.Config{
		Name:        opts.name,
		Peers:       opts.peers,
		Simple:      opts.simple,
		AntiEntropy: opts.antiEntropy,
		Log:         log,
	}
	if store != nil {
		pcfg.Store = store.Namespace("peerster")
	}
	g, err := peerster.New(pcfg, tr, node)
	if err != nil {
		log.WithError(err).Error("cannot start the gossiper")
		return 1
	}
	node.Register(g)

	if opts.digitAddr != "" {
		ln, err := net.Listen("tcp4", opts.digitAddr)
		switch {
		case err == nil:
			cfg := digits.Config{Self: opts.digitAddr, Digit: opts.digit, Log: log, Report: os.Stderr}
			if store != nil {
				cfg.Store = store.Namespace(digits.ProtocolName)
			}
			d, err := digits.New(cfg, ln, node)
			if err != nil {
				log.WithError(err).Error("cannot start the digit gossip")
				return 1
			}
			node.Register(d)
		case opts.digitAddrSet:
			log.WithError(err).Error("cannot listen on the digit address")
			return 1
		default:
			log.WithError(err).Error("digit gossip off: cannot listen on its default address")
		}
	}

	if opts.whisperAddr != "" {
		ln, err := net.Listen("tcp", opts.whisperAddr)
		if err != nil {
			log.WithError(err).Error("cannot listen on the whisper address")
			return 1
		}
		cfg := whisper.Config{
			Addr: opts.whisperAddr, Peers: opts.whisperPeers, Nick: opts.name,
			Discovery: opts.whisperDiscovery, Log: log,
		}
		if store != nil {
			cfg.DownloadDir = filepath.Join(opts.dataDir, "downloads")
			cfg.Store = store.Namespace(whisper.ProtocolName)
		}
		w, err := whisper.New(cfg, ln, node)
		if err != nil {
			ln.Close()
			log.WithError(err).Error("cannot start the whispernet")
			return 1
		}
		node.Register(w)
	}
	if opts.p2pAddr != "" {
		var cert tls.Certificate
		if opts.p2pKey != "" {
			if cert, err = p2p.LoadCertificate(opts.p2pCert, opts.p2pKey); err != nil {
				fmt.Fprintln(os.Stderr, "gossiper: bad -p2pCert/-p2pKey:", err)
				return 2
			}
		}
		ln, err := net.Listen("tcp", opts.p2pAddr)
		if err != nil {
			log.WithError(err).Error("cannot listen on the p2p address")
			return 1
		}
		cfg := p2p.Config{Connect: opts.p2pConnect, Certificate: cert, Period: opts.p2pPeriod, Log: log}
		if store != nil {
			cfg.Store, cfg.DataDir = store.Namespace(p2p.ProtocolName), opts.dataDir
		}
		m, err := p2p.New(cfg, ln, node)
		if err != nil {
			ln.Close()
			log.WithError(err).Error("cannot start the p2p-gossip node")
			return 1
		}
		node.Register(m)
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
			gln, err := gossiper.LimitListener(ln, gossiper.ListenerLimits{}, log.WithField("listener", "gui"))
			if err != nil {
				ln.Close()
				log.WithError(err).Error("cannot serve the GUI")
				return 1
			}
			gui := &http.Server{Handler: web.Handler(node, log), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
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
	if opts.console {
		// The prompt goes to stderr, and only for a person at a terminal:
		// stdout carries protocol lines alone.
		var prompt io.Writer
		if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			prompt = os.Stderr
		}
		go node.RunConsole(ctx, os.Stdin, prompt)
	}
	log.WithField("name", opts.name).WithField("gossipAddr", tr.LocalAddr()).
		WithField("UIPort", opts.uiPort).Info("gossiper started")

	status := 0
	if err := node.Run(ctx); err != nil {
		log.WithError(err).Error("gossiper failed")
		status = 1
	}
	stop()
	<-served
	if err := <-printed; err != nil {
		status = 1
	}
	return status
}
