package chatview

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// redirectStderr points file descriptor 2 at trace, or at /dev/null when
// trace is nil, and returns what points it back. The descriptor is
// redirected, not os.Stderr or the logger: everything that writes to
// stderr (logrus, a protocol's reports to os.Stderr, a panic's trace) would
// otherwise draw over the view, and it all goes through the descriptor.
func redirectStderr(trace *os.File) (restore func() error, err error) {
	to := trace
	if to == nil {
		if to, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		defer to.Close()
	}
	saved, err := unix.Dup(int(os.Stderr.Fd()))
	if err != nil {
		return nil, fmt.Errorf("keep stderr: %w", err)
	}
	if err := unix.Dup2(int(to.Fd()), int(os.Stderr.Fd())); err != nil {
		unix.Close(saved)
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	return func() error {
		defer unix.Close(saved)
		if err := unix.Dup2(saved, int(os.Stderr.Fd())); err != nil {
			return fmt.Errorf("restore stderr: %w", err)
		}
		return nil
	}, nil
}
