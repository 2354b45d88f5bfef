package main

import (
	"bufio"
	"regexp"
	"strings"
)

// Failure is one failed expectation of a ring script: the check it belongs
// to, the node it was about (-1 when the script names none), and the
// script's own words.
type Failure struct {
	Check  string
	Node   int
	Detail string
}

// Result is what one run of a ring script showed.
type Result struct {
	Passed bool
	// Checks is how many checks ran; 0 when the script stopped before the
	// first one (a node that never listened, a client that failed).
	Checks   int
	Failed   []string // names of the failed checks, in order
	Failures []Failure
	// Setup is the script's error when it stopped before checking.
	Setup string
	// OutDir is where the nodes' outputs were kept, if they were.
	OutDir string
}

var (
	ansi      = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	nodeLabel = regexp.MustCompile(`^node ([A-J]) \(127\.0\.0\.1:\d+\)`)
)

// ParseResult reads the output of test_1_ring.sh or test_2_ring.sh (both use
// tests/ring/lib.sh): "###CHECK name", one indented line per failed
// expectation, then ***PASSED*** or ***FAILED***, and a summary line.
func ParseResult(output string, exitCode int) Result {
	var r Result
	check := ""
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := ansi.ReplaceAllString(sc.Text(), "")
		switch {
		case strings.HasPrefix(line, "###CHECK "):
			check = strings.TrimPrefix(line, "###CHECK ")
			r.Checks++
		case line == "***FAILED***":
			r.Failed = append(r.Failed, check)
			check = ""
		case line == "***PASSED***":
			check = ""
		case check != "" && strings.HasPrefix(line, "  "):
			detail := strings.TrimSpace(line)
			node := -1
			if m := nodeLabel.FindStringSubmatch(detail); m != nil {
				node = int(m[1][0] - 'A')
			}
			r.Failures = append(r.Failures, Failure{Check: check, Node: node, Detail: detail})
		case strings.HasPrefix(line, "ERROR: ") && r.Setup == "":
			r.Setup = strings.TrimPrefix(line, "ERROR: ")
		case strings.HasPrefix(line, "node outputs kept in "):
			r.OutDir = strings.TrimPrefix(line, "node outputs kept in ")
		}
	}
	r.Passed = exitCode == 0 && r.Checks > 0 && len(r.Failed) == 0
	if !r.Passed && r.Checks == 0 && r.Setup == "" {
		r.Setup = "the script stopped before its first check"
	}
	return r
}

// Side says whose implementation ran node i in a ring of the given mode:
// in a mixed ring the odd nodes B, D, F, H, J run the other one.
func Side(mode Mode, node int) string {
	switch {
	case node < 0:
		return "ring"
	case mode == ModeOurs:
		return "ours"
	case mode == ModeAlone:
		return "theirs"
	case node%2 == 1:
		return "theirs"
	default:
		return "ours"
	}
}
