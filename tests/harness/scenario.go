package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

type scenario struct {
	Name     string
	Topo     topology
	Origin   int
	Messages int
	Desc     string
}

func buildScenarios(which string, seed uint64) ([]scenario, error) {
	ring := ringTopology(10)
	graph, err := randomRegular(50, 3, seed)
	if err != nil {
		return nil, err
	}
	// A separate stream from the graph's, so the origin is the same node for
	// a seed however many draws the graph needed.
	origin := rand.New(rand.NewPCG(seed, 1)).IntN(len(graph.Names))
	graph100, err := randomRegular(100, 3, seed)
	if err != nil {
		return nil, err
	}
	origin100 := rand.New(rand.NewPCG(seed, 1)).IntN(len(graph100.Names))
	all := []scenario{
		{Name: "ring10", Topo: ring, Origin: 4, Messages: 1,
			Desc: fmt.Sprintf("10 nodes A..J, each told only its successor (diameter %d two-way); 1 message into E", ring.diameter())},
		{Name: "graph50", Topo: graph, Origin: origin, Messages: 1,
			Desc: fmt.Sprintf("50 nodes, random 3-regular, seed %d, diameter %d; 1 message into %s", seed, graph.diameter(), graph.Names[origin])},
		{Name: "burst100", Topo: graph, Origin: origin, Messages: 100,
			Desc: fmt.Sprintf("the graph50 graph; 100 messages into %s, clients run back to back", graph.Names[origin])},
		{Name: "graph100", Topo: graph100, Origin: origin100, Messages: 1,
			Desc: fmt.Sprintf("100 nodes, random 3-regular, seed %d, diameter %d; 1 message into %s", seed, graph100.diameter(), graph100.Names[origin100])},
	}
	if which == "all" {
		// graph100 is part of the side-by-side table only, so that "all"
		// stays what it was.
		return all[:3], nil
	}
	for _, s := range all {
		if s.Name == which {
			return []scenario{s}, nil
		}
	}
	return nil, fmt.Errorf("unknown -scenario %q (want ring10, graph50, burst100, graph100, all or table)", which)
}

func (s scenario) texts(run int) []string {
	if s.Messages == 1 {
		return []string{fmt.Sprintf("%s_%d", s.Name, run)}
	}
	out := make([]string, s.Messages)
	for k := range out {
		out[k] = fmt.Sprintf("burst_%d_%d", run, k)
	}
	return out
}

type nodeStats struct {
	Name string `json:"name"`
	// Idle is the node's memory after the idle window, before the first
	// message.
	Idle        memSample `json:"idle_mem_kib"`
	IdleCPU     float64   `json:"idle_cpu_pct"`
	BusyCPU     float64   `json:"busy_cpu_pct"`
	RSSMB       float64   `json:"rss_mb"`
	Lines       int       `json:"stdout_lines"`
	LinesPerSec float64   `json:"stdout_lines_per_sec"`
	DoneMs      *float64  `json:"done_ms"` // when this node had every message; null if never
	Missing     int       `json:"missing"`
	// Receptions are the RUMOR lines of the run's messages at this node
	// (not counted at the origin), duplicates included, until -tail after
	// the run; Flips the FLIPPED COIN lines over the same span.
	Receptions int `json:"receptions"`
	Flips      int `json:"flipped_coin_lines"`
}

type runResult struct {
	Run          int         `json:"run"`
	Complete     bool        `json:"complete"`
	TimeMs       *float64    `json:"time_to_all_ms"` // null when incomplete
	Missing      int         `json:"missing_pairs"`
	Pairs        int         `json:"pairs"`
	SendMs       float64     `json:"client_send_ms"`
	AfterSendMs  *float64    `json:"after_send_ms"` // time_to_all minus client_send; null when incomplete
	IdleWindowMs float64     `json:"idle_window_ms"`
	BusyWindowMs float64     `json:"busy_window_ms"`
	BusyWindow   string      `json:"busy_window"` // until-complete, fixed-1s or until-timeout
	Nodes        []nodeStats `json:"nodes,omitempty"`
	Err          string      `json:"error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// minBusy stretches the busy CPU window: a fast run is over in a few ms, far
// below the 10 ms tick the kernel counts CPU in.
const minBusy = time.Second

// runOnce starts fresh processes, so no run inherits another's state, and
// stops them on every way out.
func runOnce(ctx context.Context, cfg config, tg target, sc scenario, run int) (res runResult, err error) {
	res = runResult{Run: run}
	n := len(sc.Topo.Names)
	ports, err := pickPorts(cfg.portBase, n)
	if err != nil {
		return res, err
	}
	c, stop, err := startSettled(ctx, cfg, tg, sc.Topo, ports)
	defer stop()
	if err != nil {
		return res, err
	}

	idle0, err := c.cpuSnapshot()
	if err != nil {
		return res, err
	}
	if err := c.sleep(ctx, cfg.idle); err != nil {
		return res, err
	}
	idle1, err := c.cpuSnapshot()
	if err != nil {
		return res, err
	}
	idleMem := make([]memSample, n)
	for i, nd := range c.nodes {
		if idleMem[i], err = readMem(nd.cmd.Process.Pid); err != nil {
			return res, fmt.Errorf("node %s: %w", nd.name, err)
		}
	}

	texts := sc.texts(run)
	originName := sc.Topo.Names[sc.Origin]
	clientKeys := make([]string, len(texts))
	rumorKeys := make([]string, len(texts))
	for k, t := range texts {
		clientKeys[k] = clientKey(t)
		rumorKeys[k] = rumorKey(originName, t)
	}
	for i, nd := range c.nodes {
		if i == sc.Origin {
			nd.out.setWant(clientKeys, nil)
		} else {
			nd.out.setWant(rumorKeys, rumorKeys)
		}
	}
	res.Pairs = n * len(texts)

	busy0, err := c.cpuSnapshot()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := sendAll(ctx, cfg, tg.Client, ports.ui[sc.Origin], texts); err != nil {
		return res, err
	}
	res.SendMs = ms(time.Since(t0))

	deadline := t0.Add(cfg.timeout)
	last, missing, err := c.waitComplete(ctx, deadline)
	if err != nil {
		return res, err
	}
	busyEnd := time.Now()
	res.Missing = missing
	res.Complete = missing == 0
	switch {
	case !res.Complete:
		res.BusyWindow = "until-timeout"
	case busyEnd.Sub(t0) < minBusy:
		res.BusyWindow = "fixed-1s"
		busyEnd = t0.Add(minBusy)
		if err := c.sleep(ctx, time.Until(busyEnd)); err != nil {
			return res, err
		}
	default:
		res.BusyWindow = "until-complete"
	}
	if res.Complete {
		v := ms(last.Sub(t0))
		res.TimeMs = &v
		after := v - res.SendMs
		res.AfterSendMs = &after
	}
	busy1, err := c.cpuSnapshot()
	if err != nil {
		return res, err
	}
	res.IdleWindowMs = ms(idle1[0].at.Sub(idle0[0].at))
	res.BusyWindowMs = ms(busy1[0].at.Sub(t0))
	// Copies still in flight when the last node completed are receptions
	// too.
	if err := c.sleep(ctx, cfg.tail); err != nil {
		return res, err
	}

	end := time.Now()
	for i, nd := range c.nodes {
		rss, err := readRSSMB(nd.cmd.Process.Pid)
		if err != nil {
			return res, fmt.Errorf("node %s: %w", nd.name, err)
		}
		found, total, l, lines := nd.out.progress()
		recv, flips := nd.out.tallies()
		ns := nodeStats{
			Name:        nd.name,
			Idle:        idleMem[i],
			Receptions:  recv,
			Flips:       flips,
			IdleCPU:     cpuPercent(idle0[i], idle1[i], cfg.hz),
			BusyCPU:     cpuPercent(busy0[i], busy1[i], cfg.hz),
			RSSMB:       rss,
			Lines:       lines,
			LinesPerSec: float64(lines) / end.Sub(nd.started).Seconds(),
			Missing:     total - found,
		}
		if found == total {
			v := ms(l.Sub(t0))
			ns.DoneMs = &v
		}
		res.Nodes = append(res.Nodes, ns)
	}
	return res, nil
}
