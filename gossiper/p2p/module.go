package p2p

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// Module is the p2p-gossip mesh as the daemon starts it.
func Module() gossiper.Module { return &module{} }

type module struct {
	addrFlag, connectFlag, keyFlag, certFlag *string
	periodFlag                               *int

	addr    string
	connect []string
	cert    tls.Certificate
}

func (m *module) Name() string  { return ProtocolName }
func (m *module) Title() string { return "p2p-gossip (TLS mesh)" }

func (m *module) Flags(fs *flag.FlagSet) {
	m.addrFlag = fs.String("p2pAddr", "", "TCP ip:port of the p2p-gossip TLS node; empty disables it")
	m.connectFlag = fs.String("p2pConnect", "", "comma separated ip:port of p2p-gossip nodes to join through")
	m.periodFlag = fs.Int("p2pPeriod", 5, "seconds between p2p-gossip catch-up rounds")
	m.keyFlag = fs.String("p2pKey", "", "PEM private key (RSA PKCS#1, PKCS#8 or EC) for a stable p2p-gossip identity")
	m.certFlag = fs.String("p2pCert", "", "PEM certificate that goes with -p2pKey")
}

func (m *module) Configure(gossiper.Settings) (bool, error) {
	if *m.addrFlag != "" {
		ap, err := netip.ParseAddrPort(*m.addrFlag)
		if err != nil || ap.Port() == 0 {
			return false, fmt.Errorf("bad -p2pAddr %q: want ip:port with a port from 1 to 65535", *m.addrFlag)
		}
		m.addr = ap.String()
	}
	if strings.TrimSpace(*m.connectFlag) != "" {
		for _, p := range strings.Split(*m.connectFlag, ",") {
			ap, err := netip.ParseAddrPort(strings.TrimSpace(p))
			if err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
				return false, fmt.Errorf("bad -p2pConnect %q: want ip:port of a node to dial", strings.TrimSpace(p))
			}
			m.connect = append(m.connect, ap.String())
		}
	}
	if *m.periodFlag < 1 {
		return false, fmt.Errorf("bad -p2pPeriod %d: want seconds >= 1", *m.periodFlag)
	}
	if (*m.keyFlag == "") != (*m.certFlag == "") {
		return false, errors.New("-p2pKey and -p2pCert go together")
	}
	if m.addr == "" {
		if m.connect != nil || *m.keyFlag != "" {
			return false, errors.New("-p2pConnect, -p2pKey and -p2pCert need -p2pAddr")
		}
		return false, nil
	}
	if *m.keyFlag != "" {
		var err error
		if m.cert, err = LoadCertificate(*m.certFlag, *m.keyFlag); err != nil {
			return false, fmt.Errorf("bad -p2pCert/-p2pKey: %w", err)
		}
	}
	return true, nil
}

func (m *module) Start(env gossiper.Env) (gossiper.Protocol, error) {
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the p2p address: %w", err)
	}
	cfg := Config{Connect: m.connect, Certificate: m.cert, Period: time.Duration(*m.periodFlag) * time.Second, Log: env.Log,
		Store: env.Namespace(ProtocolName), DataDir: env.DataDir}
	p, err := New(cfg, ln, env.Node)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return p, nil
}
