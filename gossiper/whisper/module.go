package whisper

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// Module is the whispernet as the daemon starts it.
func Module() gossiper.Module { return &module{} }

type module struct {
	addrFlag, peersFlag *string
	discovery           *bool

	addr  string
	peers []string
}

func (m *module) Name() string  { return ProtocolName }
func (m *module) Title() string { return "Whispernet (JSON over TCP)" }

func (m *module) Flags(fs *flag.FlagSet) {
	m.addrFlag = fs.String("whisperAddr", "", "TCP ip:port to accept whispernet peers on; empty disables the whispernet")
	m.peersFlag = fs.String("whisperPeers", "", "comma separated whispernet peers (ip:port) to dial")
	m.discovery = fs.Bool("whisperDiscovery", false, "announce and find whispernet peers by UDP broadcast on port 5555")
}

func (m *module) Configure(gossiper.Settings) (bool, error) {
	if *m.addrFlag != "" {
		ap, err := messages.ParseWhisperAddr(*m.addrFlag)
		if err != nil {
			return false, errors.New("bad -whisperAddr: " + err.Error())
		}
		m.addr = ap.String()
	}
	if strings.TrimSpace(*m.peersFlag) != "" {
		for _, p := range strings.Split(*m.peersFlag, ",") {
			ap, err := messages.ParseWhisperAddr(strings.TrimSpace(p))
			if err != nil {
				return false, errors.New("bad -whisperPeers: " + err.Error())
			}
			m.peers = append(m.peers, ap.String())
		}
	}
	if m.addr == "" && (m.peers != nil || *m.discovery) {
		return false, errors.New("-whisperPeers and -whisperDiscovery need -whisperAddr, the address our messages carry")
	}
	return m.addr != "", nil
}

func (m *module) Start(env gossiper.Env) (gossiper.Protocol, error) {
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the whisper address: %w", err)
	}
	cfg := Config{Addr: m.addr, Peers: m.peers, Nick: env.Name, Discovery: *m.discovery, Log: env.Log, Store: env.Namespace(ProtocolName)}
	if env.DataDir != "" {
		cfg.DownloadDir = filepath.Join(env.DataDir, "downloads")
	}
	w, err := New(cfg, ln, env.Node)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return w, nil
}
