// Package exp runs gossip experiments on the real Peerster protocol code:
// in memory, in virtual time (peerster.VirtualNet), or as real processes
// on loopback, and records when every node first held every message and
// what it cost in datagrams and bytes.
package exp

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Engines.
const (
	Memory  = "memory"  // the protocol code in virtual time, one process
	Process = "process" // real gossiper processes on loopback UDP
)

// Params is one experimental setting. Every field can be swept by its name
// (Names) with Set.
type Params struct {
	Engine string
	// Topo is ring (each node told both neighbours), course-ring (each
	// told only its successor, as the course's scripts do), regular (a
	// random connected Degree-regular graph) or complete.
	Topo   string
	Degree int
	N      int
	// Link conditions; Dup, Latency and Jitter apply to the memory engine
	// only (loopback has its own latency, and no duplication).
	Loss    float64
	Dup     float64
	Latency time.Duration
	Jitter  time.Duration
	// AE is the anti-entropy period, 0 off; Ack the ack timeout, which
	// the daemon shortens to a few round trips once it has measured them,
	// so Ack is its ceiling and the wait before a first ack.
	AE  time.Duration
	Ack time.Duration
	// Coin is fair (the handout: stop with probability 1/2), always (never
	// stop) or stop=P.
	Coin string
	// Msgs messages are sent at once, from node 0 (Origin one), each
	// from a random node (Origin random), or in turn from K nodes spread
	// evenly over the node numbers (Origin K: "20 messages from 5 nodes").
	Msgs   int
	Origin string
	// Settle is the quiet time after start, before the first message, in
	// which nodes learn their neighbours from anti-entropy. Horizon bounds
	// a run after the first message.
	Settle  time.Duration
	Horizon time.Duration
}

// Defaults is the daemon's behaviour on a random 4-regular graph of 100
// nodes with 1 ms links.
func Defaults() Params {
	return Params{
		Engine: Memory, Topo: "regular", Degree: 4, N: 100,
		Latency: time.Millisecond, Jitter: time.Millisecond,
		AE: time.Second, Ack: time.Second, Coin: "fair",
		Msgs: 1, Origin: "one", Settle: 1500 * time.Millisecond, Horizon: 60 * time.Second,
	}
}

// Names lists the sweepable parameters in the order of CSV columns.
var Names = []string{"engine", "topo", "k", "n", "loss", "dup", "latency", "jitter", "ae", "ack", "coin", "msgs", "origin", "settle", "horizon"}

// Get formats one parameter as Set reads it.
func (p Params) Get(name string) string {
	switch name {
	case "engine":
		return p.Engine
	case "topo":
		return p.Topo
	case "k":
		return strconv.Itoa(p.Degree)
	case "n":
		return strconv.Itoa(p.N)
	case "loss":
		return strconv.FormatFloat(p.Loss, 'g', -1, 64)
	case "dup":
		return strconv.FormatFloat(p.Dup, 'g', -1, 64)
	case "latency":
		return p.Latency.String()
	case "jitter":
		return p.Jitter.String()
	case "ae":
		return p.AE.String()
	case "ack":
		return p.Ack.String()
	case "coin":
		return p.Coin
	case "msgs":
		return strconv.Itoa(p.Msgs)
	case "origin":
		return p.Origin
	case "settle":
		return p.Settle.String()
	case "horizon":
		return p.Horizon.String()
	}
	return ""
}

// Set parses one parameter.
func (p *Params) Set(name, v string) error {
	var err error
	dur := func(d *time.Duration) {
		if v == "0" || v == "off" {
			*d = 0
			return
		}
		*d, err = time.ParseDuration(v)
	}
	num := func(i *int) { *i, err = strconv.Atoi(v) }
	frac := func(f *float64) {
		*f, err = strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err == nil && strings.HasSuffix(v, "%") {
			*f /= 100
		}
	}
	switch name {
	case "engine":
		p.Engine = v
	case "topo":
		p.Topo = v
	case "k":
		num(&p.Degree)
	case "n":
		num(&p.N)
	case "loss":
		frac(&p.Loss)
	case "dup":
		frac(&p.Dup)
	case "latency":
		dur(&p.Latency)
	case "jitter":
		dur(&p.Jitter)
	case "ae":
		dur(&p.AE)
	case "ack":
		dur(&p.Ack)
	case "coin":
		p.Coin = v
	case "msgs":
		num(&p.Msgs)
	case "origin":
		p.Origin = v
	case "settle":
		dur(&p.Settle)
	case "horizon":
		dur(&p.Horizon)
	default:
		return fmt.Errorf("unknown parameter %q (one of %s)", name, strings.Join(Names, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s=%s: %w", name, v, err)
	}
	return nil
}

// Check reports settings no engine can run.
func (p Params) Check() error {
	switch {
	case p.Engine != Memory && p.Engine != Process:
		return fmt.Errorf("engine %q: want %s or %s", p.Engine, Memory, Process)
	case !slices.Contains([]string{"ring", "course-ring", "regular", "complete"}, p.Topo):
		return fmt.Errorf("topo %q: want ring, course-ring, regular or complete", p.Topo)
	case p.N < 2 || p.N >= 1<<24:
		return fmt.Errorf("n=%d: want 2 to 16,777,215 nodes", p.N)
	case p.Topo == "complete" && p.N > 1025:
		return fmt.Errorf("complete graph of %d nodes: a node keeps at most 1024 peers", p.N)
	case p.Loss < 0 || p.Loss >= 1 || p.Dup < 0 || p.Dup > 1:
		return fmt.Errorf("loss %g, dup %g: want probabilities, loss below 1", p.Loss, p.Dup)
	case p.Msgs < 1:
		return fmt.Errorf("msgs=%d: want at least 1", p.Msgs)
	case p.Origin != "one" && p.Origin != "random" && p.origins() == 0:
		return fmt.Errorf("origin %q: want one, random or a number of nodes from 1 to n", p.Origin)
	case p.Horizon <= 0:
		return fmt.Errorf("horizon %v: want a positive duration", p.Horizon)
	case p.Latency < 0 || p.Jitter < 0 || p.AE < 0 || p.Ack < 0 || p.Settle < 0:
		return fmt.Errorf("negative duration")
	}
	if _, err := p.StopProbability(); err != nil {
		return err
	}
	return nil
}

// StopProbability is the chance that the coin ends mongering after an
// exchange: 1/k in Demers et al.'s notation.
func (p Params) StopProbability() (float64, error) {
	switch p.Coin {
	case "fair":
		return 0.5, nil
	case "always":
		return 0, nil
	}
	if s, ok := strings.CutPrefix(p.Coin, "stop="); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && f >= 0 && f <= 1 {
			return f, nil
		}
	}
	return 0, fmt.Errorf("coin %q: want fair, always or stop=P with 0 <= P <= 1", p.Coin)
}

// Key names the setting in CSV rows and legends: every parameter, in
// Names order.
func (p Params) Key() string {
	parts := make([]string, len(Names))
	for i, n := range Names {
		parts[i] = n + "=" + p.Get(n)
	}
	return strings.Join(parts, " ")
}

// origins is K of Origin K, 0 when Origin is not a number of nodes from 1
// to N.
func (p Params) origins() int {
	k, err := strconv.Atoi(p.Origin)
	if err != nil || k < 1 || k > p.N {
		return 0
	}
	return k
}

// OriginOf is the node that sends message m (from 0), drawing from r for
// Origin random.
func (p Params) OriginOf(m int, r *rand.Rand) int {
	switch {
	case p.Origin == "random":
		return r.IntN(p.N)
	case p.origins() > 0:
		k := p.origins()
		return m % k * p.N / k
	}
	return 0
}
