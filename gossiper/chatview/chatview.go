// Package chatview is the terminal chat: a full-screen view of the node's one
// chat, with an input line for messages and commands and a status bar. It is
// what -console becomes when a person sits at a terminal; scripts, which read
// stdout, get the line console instead.
package chatview

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/peerster-chat/Peerster/gossiper"
)

// Node is what the view needs from the node; *gossiper.Node has it all.
type Node interface {
	Chat() *gossiper.ChatLog
	Events() *gossiper.Bus
	Identity() gossiper.Identity
	Peers() []string
	Links() []gossiper.Link
	Panels() []gossiper.Panel
	// Command carries out a protocol's console command, or sends the line
	// as a chat message.
	Command(line string) error
	// ProtocolCommand carries out a protocol's console command only, and
	// reports whether one took it.
	ProtocolCommand(line string) (bool, error)
	CommandHelp() []gossiper.CommandHelp
	Rename(name string) error
	AddPeer(addr string) error
	SendFile(path string) error
}

var _ Node = (*gossiper.Node)(nil)

// Options are the settings of one view.
type Options struct {
	// Home is the protocol whose messages carry no protocol label: the
	// one most of the chat comes from.
	Home string
	// Trace receives what the process writes to stderr (logs, a protocol's
	// reports) while the view is on, so that nothing but the view writes
	// on the screen; nil discards it.
	Trace *os.File
}

// Result says how the view ended.
type Result int

const (
	// Quit: the user asked to stop the daemon (/quit, Ctrl-C).
	Quit Result = iota
	// Closed: the user ended the input (Ctrl-D on an empty line), which
	// stops only the view, as the end of stdin stops the line console.
	Closed
	// Stopped: the node stopped (a signal, a failed protocol).
	Stopped
)

// IsTerminal reports whether both files are terminals: only then is there a
// person to show the view to.
func IsTerminal(in, out *os.File) bool {
	return term.IsTerminal(in.Fd()) && term.IsTerminal(out.Fd())
}

// Run shows the chat view on the process's terminal (stdin and stdout) until
// the user quits or closes it or ctx is cancelled. While it runs, stderr
// goes to opts.Trace.
func Run(ctx context.Context, node Node, opts Options) (Result, error) {
	sub := node.Events().Subscribe(eventBuffer, false)
	// Lossy, so Cancel never waits for a publisher.
	defer sub.Cancel()

	restore, err := redirectStderr(opts.Trace)
	if err != nil {
		return Closed, err
	}
	m := newModel(node, sub, opts, newStyles(lipgloss.NewRenderer(os.Stdout)))
	// Signals stay with the daemon: ctx ends the view on SIGINT and
	// SIGTERM. In the view, Ctrl-C is a key press (the terminal is raw).
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithoutSignalHandler())
	var wg sync.WaitGroup
	viewDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			p.Quit()
		case <-viewDone:
		}
	}()
	final, runErr := p.Run()
	close(viewDone)
	wg.Wait()
	// The terminal is restored; stderr may reach it again.
	if err := restore(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil {
		return Closed, fmt.Errorf("chat view: %w", runErr)
	}
	if ctx.Err() != nil {
		return Stopped, nil
	}
	return final.(*model).result, nil
}
