package gossiper

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// RunConsole reads commands from r, one per line, until r ends or ctx is
// cancelled: a protocol's own command, or else a chat message. The prompt,
// when wanted (stdin is a terminal), goes to prompt, never to stdout, which
// carries only protocol lines. The end of input stops the console, never the
// node.
func (n *Node) RunConsole(ctx context.Context, r io.Reader, prompt io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for {
		if prompt != nil {
			fmt.Fprint(prompt, ">> ")
		}
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return fmt.Errorf("console: %w", err)
			}
			n.log.Info("console input ended; the node keeps running")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := n.Command(line); err != nil {
			n.log.WithError(err).WithField("command", line).Warn("console command failed")
		}
	}
}
