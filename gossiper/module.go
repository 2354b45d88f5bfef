package gossiper

import (
	"flag"

	"github.com/sirupsen/logrus"
)

// Module is a protocol as the daemon starts it: its flags, whether they
// turn it on, and how it starts. main.go lists the modules, so a new
// protocol is a package with a Module and one line there.
type Module interface {
	// Name is the protocol's name: in the chat, the metrics and the store.
	Name() string
	// Title heads the module's flags in -h.
	Title() string
	// Flags defines the module's flags on fs.
	Flags(fs *flag.FlagSet)
	// Configure checks the parsed flags and reports whether they turn the
	// module on. Its errors are usage errors: exit status 2, one line.
	Configure(s Settings) (bool, error)
	// Start creates the protocol of an enabled module. A nil Protocol
	// with a nil error leaves the module off (a default port was taken).
	Start(env Env) (Protocol, error)
}

// Settings are the node-wide flags a module may depend on.
type Settings struct {
	// Name is the node's name (-name).
	Name string
	// DataDir is -dataDir, empty when state is not kept.
	DataDir string
	// Flag reads another flag's value by name: the digit gossip listens
	// on the -gossipAddr address unless told otherwise.
	Flag func(name string) string
}

// Env is what a module starts with.
type Env struct {
	Node *Node
	Log  *logrus.Logger
	// Store is the node's store, nil without -dataDir.
	Store   *Store
	DataDir string
	Name    string
}

// Namespace is the module's store namespace, nil without a store.
func (e Env) Namespace(module string) *Namespace {
	if e.Store == nil {
		return nil
	}
	return e.Store.Namespace(module)
}
