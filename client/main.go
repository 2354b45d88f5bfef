// Command client sends one request to a local gossiper's UIPort.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/peerster-chat/Peerster/messages"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// usageError is a bad invocation: exit status 2 and one line on stderr.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stderr io.Writer) int {
	port, m, err := parse(args, stderr)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "client:", ue.msg)
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	b, err := messages.EncodeClient(m)
	if err != nil {
		if errors.Is(err, messages.ErrTooLarge) {
			fmt.Fprintf(stderr, "client: message too large for one datagram (%d bytes at most)\n", messages.MaxDatagram)
			return 2
		}
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		fmt.Fprintln(stderr, "client: cannot reach the gossiper:", err)
		return 1
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		fmt.Fprintln(stderr, "client: send to the gossiper:", err)
		return 1
	}
	return 0
}

func parse(args []string, stderr io.Writer) (int, *messages.Message, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	// Errors are reported in one line by the caller; the full usage only
	// on -h.
	fs.SetOutput(io.Discard)
	uiPort := fs.String("UIPort", "8080", "UDP port of the gossiper's client interface")
	msg := fs.String("msg", "", "chat message to send")
	node := fs.String("node", "", "ip:port of a peer to add to the gossiper")
	name := fs.String("name", "", "new origin name of the gossiper")
	digit := fs.String("digit", "", "set the gossiper's own digit, 0-9")
	pull := fs.String("pull", "", "ip:port of a digit node for the gossiper to pull now")
	file := fs.String("file", "", "path of a file to send to the whispernet")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return 0, nil, err
		}
		return 0, nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return 0, nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	port, err := strconv.ParseUint(*uiPort, 10, 16)
	if err != nil || port == 0 {
		return 0, nil, usageError{fmt.Sprintf("bad -UIPort %q: want a port number from 1 to 65535", *uiPort)}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	actions := 0
	for _, a := range []string{"msg", "node", "name", "digit", "pull", "file"} {
		if set[a] {
			actions++
		}
	}
	switch {
	case actions == 0:
		return 0, nil, usageError{"nothing to do: give one of -msg, -node, -name, -digit, -pull, -file"}
	case actions > 1:
		return 0, nil, usageError{"one action per call: give only one of -msg, -node, -name, -digit, -pull, -file"}
	}
	m := &messages.Message{}
	switch {
	case set["msg"]:
		if *msg == "" {
			return 0, nil, usageError{"empty message: -msg needs some text"}
		}
		m.Text = *msg
	case set["node"]:
		ap, err := messages.ParsePeerAddr(*node)
		if err != nil {
			return 0, nil, usageError{"bad -node: " + err.Error()}
		}
		s := ap.String()
		m.Node = &s
	case set["name"]:
		if err := messages.CheckName(*name); err != nil {
			return 0, nil, usageError{"bad -name: " + err.Error()}
		}
		m.Name = name
	case set["digit"]:
		if len(*digit) != 1 || (*digit)[0] < '0' || (*digit)[0] > '9' {
			return 0, nil, usageError{fmt.Sprintf("bad -digit %q: want one digit 0-9", *digit)}
		}
		d := uint32((*digit)[0] - '0')
		m.Digit = &d
	case set["pull"]:
		addr, err := messages.ParseDigitAddr(*pull)
		if err != nil {
			return 0, nil, usageError{"bad -pull: " + err.Error()}
		}
		m.Pull = &addr
	case set["file"]:
		path, err := checkFile(*file)
		if err != nil {
			return 0, nil, usageError{"bad -file: " + err.Error()}
		}
		m.File = &path
	}
	return int(port), m, nil
}

// checkFile makes path absolute, since the gossiper runs in another
// directory, and refuses what the gossiper would refuse: the file travels
// in one whisper message, base64 encoded.
func checkFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > messages.MaxWhisperFile {
		return "", fmt.Errorf("%s has %d bytes, at most %d can be sent", path, st.Size(), messages.MaxWhisperFile)
	}
	return abs, nil
}
