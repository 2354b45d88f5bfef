package digits

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// Module is the digit gossip as the daemon starts it.
func Module() gossiper.Module { return &module{} }

type module struct {
	addrFlag, digitFlag *string

	addr  string
	set   bool // the address was given, not defaulted
	digit *uint8
}

func (m *module) Name() string  { return ProtocolName }
func (m *module) Title() string { return "Digit gossip (TCP, CSV table)" }

func (m *module) Flags(fs *flag.FlagSet) {
	m.addrFlag = fs.String("digitAddr", "", "TCP ip:port of the digit gossip, or off (default: the gossip address)")
	m.digitFlag = fs.String("digit", "", "initial own digit, 0-9 (default: none until one is set)")
}

func (m *module) Configure(s gossiper.Settings) (bool, error) {
	if d := *m.digitFlag; d != "" {
		if len(d) != 1 || d[0] < '0' || d[0] > '9' {
			return false, fmt.Errorf("bad -digit %q: want one digit 0-9", d)
		}
		v := d[0] - '0'
		m.digit = &v
	}
	var err error
	switch *m.addrFlag {
	case "off":
		return false, nil
	case "":
		// The gossip address, as the seed's nodes use one address for all.
		if m.addr, err = messages.ParseDigitAddr(s.Flag("gossipAddr")); err != nil {
			return false, errors.New("bad -gossipAddr for the digit gossip: " + err.Error())
		}
	default:
		if m.addr, err = messages.ParseDigitAddr(*m.addrFlag); err != nil {
			return false, errors.New("bad -digitAddr: " + err.Error())
		}
		m.set = true
	}
	return true, nil
}

func (m *module) Start(env gossiper.Env) (gossiper.Protocol, error) {
	ln, err := net.Listen("tcp4", m.addr)
	switch {
	case err != nil && m.set:
		return nil, fmt.Errorf("listen on the digit address: %w", err)
	case err != nil:
		env.Log.WithError(err).Error("digit gossip off: cannot listen on its default address")
		return nil, nil
	}
	d, err := New(Config{Self: m.addr, Digit: m.digit, Log: env.Log, Report: os.Stderr, Store: env.Namespace(ProtocolName)}, ln, env.Node)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return d, nil
}
