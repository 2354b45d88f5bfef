//go:build !unix

package whisper

import (
	"errors"
	"syscall"
)

func broadcastControl(network, address string, c syscall.RawConn) error {
	return errors.New("UDP discovery needs a Unix system")
}
