package gossiper

import (
	"bufio"
	"fmt"
	"io"
)

// WriteLines writes the protocol lines of every EventLines event to w until
// the channel is closed. It is the only writer of stdout, so lines of
// concurrent exchanges never interleave mid-line; the buffer is flushed
// whenever no event is waiting, so a reader (the course scripts grep files
// right after killing the node) sees lines without delay.
func WriteLines(events <-chan Event, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	for ev := range events {
		if ev.Kind != EventLines || err != nil {
			continue
		}
		for _, line := range ev.Lines {
			if _, err = bw.WriteString(line); err == nil {
				err = bw.WriteByte('\n')
			}
		}
		if len(events) == 0 && err == nil {
			err = bw.Flush()
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
