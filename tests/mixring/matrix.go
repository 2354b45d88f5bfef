package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Mode is the make-up of a ring.
type Mode string

const (
	ModeOurs  Mode = "ours"  // every node ours
	ModeAlone Mode = "alone" // every node theirs, driven by their client
	ModeMixed Mode = "mixed" // A, C, E, G, I ours; B, D, F, H, J theirs
)

// Run is one run of one script on one ring.
type Run struct {
	Impl   string // "" for the all-ours ring
	Script string // "test_1_ring.sh" or "test_2_ring.sh"
	Mode   Mode
	Result Result
}

// cell gathers the runs of one implementation, script and mode.
type cell struct {
	runs, passed int
	// failures counts, per "check @ side", the runs in which it failed.
	failures map[string]int
	// nodes counts failed expectations per node letter.
	nodes map[string]int
	setup int
}

func (c *cell) add(mode Mode, r Result) {
	c.runs++
	if r.Passed {
		c.passed++
	}
	if r.Setup != "" && r.Checks == 0 {
		c.setup++
	}
	seen := map[string]bool{}
	for _, f := range r.Failures {
		key := fmt.Sprintf("%s @ %s", f.Check, Side(mode, f.Node))
		if !seen[key] {
			seen[key] = true
			c.failures[key]++
		}
		if f.Node >= 0 {
			c.nodes[string(rune('A'+f.Node))]++
		}
	}
	for _, name := range r.Failed {
		// A failed check with no node-level line (the script's own).
		if !seen[name+" @ ours"] && !seen[name+" @ theirs"] && !seen[name+" @ ring"] {
			seen[name+" @ ring"] = true
			c.failures[name+" @ ring"]++
		}
	}
}

func (c *cell) rate() string {
	if c == nil || c.runs == 0 {
		return "–"
	}
	return fmt.Sprintf("%d/%d", c.passed, c.runs)
}

// Matrix is every run, by implementation, script and mode.
type Matrix struct {
	cells map[string]*cell
	impls []string
}

func NewMatrix() *Matrix { return &Matrix{cells: map[string]*cell{}} }

func cellKey(impl, script string, mode Mode) string {
	return impl + "\x00" + script + "\x00" + string(mode)
}

// Add records one run.
func (m *Matrix) Add(r Run) {
	k := cellKey(r.Impl, r.Script, r.Mode)
	c := m.cells[k]
	if c == nil {
		c = &cell{failures: map[string]int{}, nodes: map[string]int{}}
		m.cells[k] = c
		if r.Impl != "" && !contains(m.impls, r.Impl) {
			m.impls = append(m.impls, r.Impl)
		}
	}
	c.add(r.Mode, r.Result)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// OursFailures is how many runs of mixed rings failed a check at one of
// our nodes: the figure the mixed rings are there to keep at zero.
func (m *Matrix) OursFailures() int {
	n := 0
	for k, c := range m.cells {
		if !strings.HasSuffix(k, "\x00"+string(ModeMixed)) {
			continue
		}
		for key, runs := range c.failures {
			if strings.HasSuffix(key, " @ ours") {
				n += runs
			}
		}
	}
	return n
}

// Write prints the matrix as a Markdown table and, under it, where each
// failing check failed.
func (m *Matrix) Write(w io.Writer, scripts []string) {
	short := func(s string) string { return strings.TrimSuffix(s, "_ring.sh") }
	header := []string{"implementation"}
	for _, s := range scripts {
		header = append(header, "alone "+short(s), "mixed "+short(s))
	}
	header = append(header, "failed at our nodes", "failed at their nodes")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	row := func(name, impl string) {
		cols := []string{name}
		var ours, theirs []string
		for _, s := range scripts {
			for _, mode := range []Mode{ModeAlone, ModeMixed} {
				if impl == "" && mode == ModeAlone {
					cols = append(cols, m.cells[cellKey("", s, ModeOurs)].rate())
					continue
				}
				if impl == "" {
					cols = append(cols, "–")
					continue
				}
				c := m.cells[cellKey(impl, s, mode)]
				cols = append(cols, c.rate())
				if c == nil || mode != ModeMixed {
					continue
				}
				for _, key := range sortedKeys(c.failures) {
					entry := fmt.Sprintf("%s: %s ×%d", short(s), strings.SplitN(key, " @ ", 2)[0], c.failures[key])
					switch {
					case strings.HasSuffix(key, " @ ours"):
						ours = append(ours, entry)
					case strings.HasSuffix(key, " @ theirs"):
						theirs = append(theirs, entry)
					}
				}
			}
		}
		cols = append(cols, orNone(ours), orNone(theirs))
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	row("ours (all ten nodes)", "")
	for _, impl := range m.impls {
		row(impl, impl)
	}
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, "; ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
