package gossiper

import (
	"bufio"
	"fmt"
	"io"

	"github.com/sirupsen/logrus"
)

// WriteLines writes the protocol lines of every EventLines event to w until
// the channel is closed. After a write error (a reader that went away) it
// logs once and keeps draining the channel, so that publishers never block on
// a dead stdout. It is the only writer of stdout, so lines of
// concurrent exchanges never interleave mid-line; the buffer is flushed
// whenever no event is waiting, so a reader (the course scripts grep files
// right after killing the node) sees lines without delay.
func WriteLines(events <-chan Event, w io.Writer, log logrus.FieldLogger) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	logged := false
	for ev := range events {
		if ev.Kind == EventLines && err == nil {
			for _, line := range ev.Lines {
				if _, err = bw.WriteString(line); err == nil {
					err = bw.WriteByte('\n')
				}
			}
		}
		// Flush whenever nothing waits, whatever this event was: lines
		// followed by an event of another kind must not sit in the buffer.
		if len(events) == 0 && err == nil && bw.Buffered() > 0 {
			err = bw.Flush()
		}
		if err != nil && !logged {
			log.WithError(err).Error("stdout failed; protocol lines are dropped from now on")
			logged = true
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write protocol lines: %w", err)
	}
	return nil
}
