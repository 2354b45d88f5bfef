package peerster

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// Module is Peerster as the daemon starts it, with the course's flags.
func Module() gossiper.Module { return &module{} }

type module struct {
	gossipAddr, peerList *string
	simple               *bool
	antiEntropy          *int

	addr  netip.AddrPort
	peers []netip.AddrPort
	every time.Duration
}

func (m *module) Name() string  { return ProtocolName }
func (m *module) Title() string { return "Peerster (UDP rumor mongering; the course's flags)" }

func (m *module) Flags(fs *flag.FlagSet) {
	m.gossipAddr = fs.String("gossipAddr", "127.0.0.1:5000", "ip:port of the gossiper")
	m.peerList = fs.String("peers", "", "comma separated list of peers of the form ip:port")
	m.simple = fs.Bool("simple", false, "run the gossiper in simple broadcast mode")
	m.antiEntropy = fs.Int("antiEntropy", 1, "anti-entropy period in seconds; 0 disables it")
}

func (m *module) Configure(gossiper.Settings) (bool, error) {
	var err error
	if m.addr, err = messages.ParsePeerAddr(*m.gossipAddr); err != nil {
		return false, errors.New("bad -gossipAddr: " + err.Error())
	}
	if strings.TrimSpace(*m.peerList) != "" {
		for _, p := range strings.Split(*m.peerList, ",") {
			ap, err := messages.ParsePeerAddr(strings.TrimSpace(p))
			if err != nil {
				return false, errors.New("bad -peers: " + err.Error())
			}
			m.peers = append(m.peers, ap)
		}
	}
	if *m.antiEntropy < 0 {
		return false, fmt.Errorf("bad -antiEntropy %d: want seconds >= 0", *m.antiEntropy)
	}
	m.every = time.Duration(*m.antiEntropy) * time.Second
	return true, nil
}

func (m *module) Start(env gossiper.Env) (gossiper.Protocol, error) {
	tr, err := ListenUDP(m.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the gossip address: %w", err)
	}
	g, err := New(Config{
		Name: env.Name, Peers: m.peers, Simple: *m.simple, AntiEntropy: m.every,
		Log: env.Log, Store: env.Namespace(ProtocolName),
	}, tr, env.Node)
	if err != nil {
		tr.Close()
		return nil, err
	}
	return g, nil
}
