package exp

import (
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/peerster"
)

// runMemory runs p on the real protocol code in virtual time. A run ends
// once every node holds every message, or when nothing is left to happen
// (mongering died out with anti-entropy off: the residue is what is
// missing then), or at the horizon. Traffic after the last node was
// reached is not counted: the daemon goes on flipping for in-sync statuses
// while a rumor is fresh (10 s), an artefact of the course's tests that
// would swamp the cost of the dissemination itself.
func runMemory(p Params, run int, seed uint64) Result {
	res := Result{Params: p, Run: run, Seed: seed, Pairs: p.N * p.Msgs}
	wall := time.Now()
	peers, err := Topology(p, seed)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	stop, err := p.StopProbability()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	v := peerster.NewVirtualNet(int64(seed))
	v.DefaultLink = peerster.Link{Loss: p.Loss, Duplicate: p.Dup, Latency: p.Latency, Jitter: p.Jitter}
	counting := false
	var t0 time.Duration
	v.OnSend = func(_, _ int, kind string, size int) {
		if !counting {
			return
		}
		res.Datagrams++
		res.Bytes += int64(size)
		switch kind {
		case "rumor":
			res.Rumors++
		case "status":
			res.Statuses++
		}
	}
	v.OnStore = func(int, string, uint32, time.Time) {
		res.Times = append(res.Times, (v.Elapsed() - t0).Seconds())
	}
	// Nodes start at random instants within the first anti-entropy
	// period, as real ones do: started together, their anti-entropy
	// rounds would all fall at the same instants and the last nodes would
	// be reached in lockstep.
	startAt := make([]time.Duration, p.N)
	phases := randv2.New(randv2.NewPCG(seed, 2))
	for i := range startAt {
		if window := min(p.AE, p.Settle); window > 0 {
			startAt[i] = time.Duration(phases.Int64N(int64(window)))
		}
	}
	order := make([]int, p.N)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(startAt[a] - startAt[b]) })
	// The network numbers nodes as they are added: node i of the graph
	// is the network's node pos[i].
	pos := make([]int, p.N)
	for j, i := range order {
		pos[i] = j
	}
	for _, i := range order {
		v.AdvanceTo(startAt[i])
		addrs := make([]netip.AddrPort, len(peers[i]))
		for j, q := range peers[i] {
			addrs[j] = peerster.VirtualAddr(pos[q])
		}
		cfg := peerster.Config{
			Name:        fmt.Sprintf("N%05d", i),
			Peers:       addrs,
			AntiEntropy: p.AE,
			AckTimeout:  p.Ack,
			Rand:        rand.New(rand.NewSource(int64(seed)*1_000_003 + int64(i))),
		}
		if p.Coin != "fair" {
			cfg.Heads = func(r *rand.Rand) bool { return r.Float64() >= stop }
		}
		if _, err := v.Add(cfg); err != nil {
			res.Err = err.Error()
			return res
		}
	}
	v.AdvanceTo(p.Settle)
	t0, counting = v.Elapsed(), true
	origins := randv2.New(randv2.NewPCG(seed, 1))
	for m := range p.Msgs {
		if err := v.Say(pos[p.OriginOf(m, origins)], fmt.Sprintf("lab message %d", m+1)); err != nil {
			res.Err = err.Error()
			return res
		}
	}
	v.Run(t0+p.Horizon, func() bool { return len(res.Times) == res.Pairs })
	res.End = (v.Elapsed() - t0).Seconds()
	slices.Sort(res.Times)
	res.Wall = time.Since(wall).Seconds()
	return res
}
