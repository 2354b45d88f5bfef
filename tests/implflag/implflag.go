// Package implflag reads the -impl flag that the benchmark and interop
// tools share: another Peerster implementation given by the paths of its
// gossiper and of the client that drives it.
package implflag

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Impl is another implementation: its gossiper and the client that drives
// it.
type Impl struct {
	Name, Gossiper, Client string
	// Chdir runs the gossiper from its own directory, for those that read
	// files (a GUI) by relative path.
	Chdir bool
}

// Parse reads NAME=GOSSIPER,CLIENT[,cd]. Both paths must be executable files
// and come back absolute, as the tools run nodes from other directories.
func Parse(s string) (Impl, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return Impl{}, fmt.Errorf("-impl %q: want NAME=GOSSIPER[,CLIENT][,cd]", s)
	}
	parts := strings.Split(rest, ",")
	im := Impl{Name: name, Gossiper: parts[0]}
	for _, p := range parts[1:] {
		switch {
		case p == "cd":
			im.Chdir = true
		case im.Client == "" && p != "":
			im.Client = p
		default:
			return Impl{}, fmt.Errorf("-impl %q: unexpected %q", s, p)
		}
	}
	if im.Client == "" {
		return Impl{}, fmt.Errorf("-impl %q: name its client too (NAME=GOSSIPER,CLIENT): each node is driven by its own implementation's client", s)
	}
	for _, p := range []*string{&im.Gossiper, &im.Client} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return Impl{}, err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return Impl{}, fmt.Errorf("-impl %s: %s is not an executable file", name, abs)
		}
		*p = abs
	}
	return im, nil
}

// List is a repeatable -impl flag; names must differ, since they label the
// results.
type List []Impl

func (l *List) String() string { return fmt.Sprint(len(*l)) }

// Set parses one -impl value.
func (l *List) Set(s string) error {
	im, err := Parse(s)
	if err != nil {
		return err
	}
	for _, x := range *l {
		if x.Name == im.Name {
			return fmt.Errorf("-impl %s given twice", im.Name)
		}
	}
	*l = append(*l, im)
	return nil
}
