package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"
)

// lineTopology is a chain: each node is told of its neighbours both ways.
func lineTopology(n int) topology {
	t := topology{Names: nodeNames(n), Peers: make([][]int, n)}
	for i := range n {
		if i > 0 {
			t.Peers[i] = append(t.Peers[i], i-1)
		}
		if i+1 < n {
			t.Peers[i] = append(t.Peers[i], i+1)
		}
	}
	return t
}

// intakeText is the k-th message of one intake run. Every text has the same
// length, so that a client datagram captured for one text is a template for
// all (see datagramTemplate).
func intakeText(run, step, k int) string {
	return fmt.Sprintf("i%02d_%02d_%06d", run%100, step%100, k%1000000)
}

// datagramTemplate rewrites the datagram an implementation's own client sent
// for one text into the datagram for another text of the same length: the
// bytes around the text stay as they are. It lets the harness send at rates no
// client process could, in each implementation's own client encoding.
type datagramTemplate struct {
	prefix, suffix []byte
	n              int
}

func newTemplate(datagram []byte, text string) (datagramTemplate, error) {
	i := bytes.Index(datagram, []byte(text))
	if i < 0 || bytes.Contains(datagram[i+len(text):], []byte(text)) {
		return datagramTemplate{}, fmt.Errorf("the client's datagram (%x) does not hold the text %q exactly once", datagram, text)
	}
	return datagramTemplate{prefix: bytes.Clone(datagram[:i]), suffix: bytes.Clone(datagram[i+len(text):]), n: len(text)}, nil
}

func (t datagramTemplate) datagram(text string) ([]byte, error) {
	if len(text) != t.n {
		return nil, fmt.Errorf("text %q: the template holds %d bytes", text, t.n)
	}
	b := make([]byte, 0, len(t.prefix)+len(text)+len(t.suffix))
	b = append(b, t.prefix...)
	b = append(b, text...)
	return append(b, t.suffix...), nil
}

// clientStart times an implementation's client from fork/exec to its datagram
// arriving on a UDP socket the harness holds as the UIPort, n times. The first
// datagram, sent for text, is returned for use as a template.
func clientStart(ctx context.Context, client string, n int, text string) (times []float64, first []byte, err error) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	buf := make([]byte, 64<<10)
	for i := range n {
		msg := text
		if i > 0 {
			msg = "start_" + strconv.Itoa(i)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cmd := exec.CommandContext(cctx, client, "-UIPort="+strconv.Itoa(port), "-msg="+msg)
		cmd.SysProcAttr = childAttr()
		cmd.WaitDelay = time.Second
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			cancel()
			return times, first, err
		}
		pc.SetReadDeadline(t0.Add(5 * time.Second))
		nb, _, rerr := pc.ReadFrom(buf)
		at := time.Now()
		werr := cmd.Wait()
		cancel()
		if rerr != nil {
			return times, first, fmt.Errorf("client -msg=%q: no datagram: %v (exit: %v) %s", msg, rerr, werr, bytes.TrimSpace(out.Bytes()))
		}
		if i == 0 {
			first = bytes.Clone(buf[:nb])
		}
		times = append(times, ms(at.Sub(t0)))
	}
	return times, first, nil
}

// intakeResult is one rate step of the intake test.
type intakeResult struct {
	Rate      int     `json:"rate_per_s"`
	Sent      int     `json:"sent"`
	Delivered int     `json:"delivered_at_far_end"`
	InOrder   int     `json:"delivered_in_order"`
	SendMs    float64 `json:"send_ms"`
	Err       string  `json:"error,omitempty"`
}

// runIntake sends rate client datagrams a second into the first node of a
// fresh 3-node line for cfg.intakeFor, and counts what the far end prints,
// waiting up to cfg.intakeWait after the last one.
func runIntake(ctx context.Context, cfg config, tg target, tpl datagramTemplate, run, step, rate int) (res intakeResult, err error) {
	res.Rate = rate
	topo := lineTopology(3)
	ports, err := pickPorts(0, len(topo.Names))
	if err != nil {
		return res, err
	}
	c, stop, err := startSettled(ctx, cfg, tg, topo, ports)
	defer stop()
	if err != nil {
		return res, err
	}
	total := int(float64(rate) * cfg.intakeFor.Seconds())
	keys := make([]string, total)
	for k := range keys {
		keys[k] = rumorKey(topo.Names[0], intakeText(run, step, k))
	}
	far := c.nodes[len(c.nodes)-1]
	far.out.setWant(keys, nil)

	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ports.ui[0]})
	if err != nil {
		return res, err
	}
	defer conn.Close()
	t0 := time.Now()
	sendErr := pace(ctx, rate, total, func(k int) error {
		b, err := tpl.datagram(intakeText(run, step, k))
		if err == nil {
			_, err = conn.Write(b)
		}
		if err == nil {
			res.Sent++
		}
		return err
	})
	res.SendMs = ms(time.Since(t0))
	if sendErr != nil && ctx.Err() == nil {
		// A node that died refuses the datagrams: say so, with what
		// arrived before.
		err = sendErr
		if nd, ok := exitedNode(c); ok {
			err = c.exitErr(nd)
		}
	} else {
		_, _, err = c.waitComplete(ctx, time.Now().Add(cfg.intakeWait))
	}
	found, _, _, _ := far.out.progress()
	res.Delivered = found
	res.InOrder = far.out.inOrder()
	return res, err
}

func exitedNode(c *cluster) (*node, bool) {
	for _, nd := range c.nodes {
		if nd.exited() {
			return nd, true
		}
	}
	return nil, false
}

// pace calls send for 0..total-1 at rate a second, catching up in a burst
// when the sender fell behind (sleeps are at least a millisecond), so the
// average rate holds over the whole run.
func pace(ctx context.Context, rate, total int, send func(k int) error) error {
	if rate <= 0 {
		return errors.New("rate must be positive")
	}
	t0 := time.Now()
	for k := 0; k < total; {
		due := min(total, int(time.Since(t0).Seconds()*float64(rate))+1)
		for ; k < due; k++ {
			if err := send(k); err != nil {
				return err
			}
		}
		if k < total {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}
