package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// BenchmarkChatPages is issue 13's chat benchmark with real processes: a
// node holding 100,000 messages, five open pages, 1,000 new client messages
// a second for 5 s. It reports the daemon's CPU over the feed and how long
// after the last message every page shows it, for the page as it reads the
// chat now (a page of 200, then what each event carries) and, side by side,
// as it did before (the whole log again after each event, at most one
// request in flight per page). Run it with -benchtime 1x.
func BenchmarkChatPages(b *testing.B) {
	const (
		history = 100000
		pages   = 5
		rate    = 1000
		feedFor = 5 * time.Second
	)
	builder := startLine(b, []string{"Pages"}, 0)[0]
	dir := dataDirOf(b, builder)
	took := feedRumors(b, builder, "Far", history)
	halt(b, builder, syscall.SIGTERM)
	b.Logf("store of %d messages filled in %v", history, took.Round(time.Millisecond))

	for range b.N {
		for _, whole := range []bool{false, true} {
			mode := "paged"
			if whole {
				mode = "whole-log"
			}
			n := startChatNodes(b, []chatSpec{{name: "Pages", args: []string{"-dataDir=" + dir}}})[0]
			ctx, cancel := context.WithCancel(context.Background())
			last := fmt.Sprintf("feed_%s_%d", mode, rate*int(feedFor/time.Second)-1)
			var wg sync.WaitGroup
			seen := make(chan time.Time, pages)
			for range pages {
				c := &pageClient{gui: fmt.Sprintf("http://127.0.0.1:%d", n.guiPort), whole: whole, target: last, seen: seen}
				if err := c.open(ctx); err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() { defer wg.Done(); c.follow(ctx) }()
			}
			cpu0 := cpuSeconds(b, n.pid())
			sender := newClientSender(b, n.uiPort)
			start := time.Now()
			for i := range rate * int(feedFor/time.Second) {
				// Paced in 10 ms steps: 10 messages each at 1,000 a second.
				if i%10 == 0 {
					if wait := time.Until(start.Add(time.Duration(i) * time.Millisecond)); wait > 0 {
						time.Sleep(wait)
					}
				}
				if err := sender.send(fmt.Sprintf("feed_%s_%d", mode, i)); err != nil {
					b.Fatal(err)
				}
			}
			sentAt := time.Now()
			var slowest time.Duration
			caughtUp := 0
			deadline := time.After(60 * time.Second)
		wait:
			for caughtUp < pages {
				select {
				case at := <-seen:
					caughtUp++
					slowest = max(slowest, at.Sub(sentAt))
				case <-deadline:
					break wait
				}
			}
			cpu := cpuSeconds(b, n.pid()) - cpu0
			cancel()
			wg.Wait()
			n.stop(b)
			b.ReportMetric(cpu, mode+"-daemon-CPU-s")
			b.ReportMetric(float64(slowest.Milliseconds()), mode+"-ms-to-last")
			b.Logf("%s: %d of %d pages showed the last message, the slowest %v after it was sent; daemon CPU %.2f s over %v of feed and catch-up",
				mode, caughtUp, pages, slowest.Round(time.Millisecond), cpu, time.Since(start).Round(time.Millisecond))
		}
		b.ReportMetric(0, "ns/op")
	}
}

// pageClient reads the chat as the page does: whole marks the old page,
// which fetched the whole log again after each event.
type pageClient struct {
	gui    string
	whole  bool
	target string
	seen   chan<- time.Time
	events *bufio.Reader
	body   func() error
	last   uint64
	found  bool
}

func (c *pageClient) open(ctx context.Context) error {
	if !c.whole {
		if err := c.fetch(ctx, "/message?limit=200"); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.gui+"/events", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	c.events, c.body = bufio.NewReader(resp.Body), resp.Body.Close
	return nil
}

// follow reads events until ctx ends, fetching as the page would.
func (c *pageClient) follow(ctx context.Context) {
	defer c.body()
	var mu sync.Mutex
	busy, again := false, false
	var fetchers sync.WaitGroup
	defer fetchers.Wait()
	refetch := func() {
		mu.Lock()
		if busy {
			again = true
			mu.Unlock()
			return
		}
		busy = true
		mu.Unlock()
		fetchers.Add(1)
		go func() {
			defer fetchers.Done()
			for {
				c.fetch(ctx, "/message")
				mu.Lock()
				if !again || ctx.Err() != nil {
					busy = false
					mu.Unlock()
					return
				}
				again = false
				mu.Unlock()
			}
		}()
	}
	event := ""
	for {
		line, err := c.events.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "message":
			if c.whole {
				refetch()
				continue
			}
			var m gossiper.ChatMessage
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m) != nil {
				continue
			}
			if m.Cursor == c.last+1 {
				c.show([]gossiper.ChatMessage{m})
				continue
			}
			for ctx.Err() == nil {
				before := c.last
				c.fetch(ctx, "/message?limit=200&after="+strconv.FormatUint(c.last, 10))
				if c.last == before || c.last >= m.Cursor {
					break
				}
			}
		}
	}
}

func (c *pageClient) fetch(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.gui+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var msgs []gossiper.ChatMessage
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		return err
	}
	c.show(msgs)
	return nil
}

// show is what rendering costs this client: a look at each message.
func (c *pageClient) show(msgs []gossiper.ChatMessage) {
	for _, m := range msgs {
		if !c.whole {
			c.last = max(c.last, m.Cursor)
		}
		if m.Text == c.target && !c.found {
			c.found = true
			c.seen <- time.Now()
		}
	}
}

// cpuSeconds is the user and system CPU time of process pid so far.
func cpuSeconds(tb testing.TB, pid int) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime and stime are the 12th and 13th of them.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	// USER_HZ is 100 on Linux.
	return (utime + stime) / 100
}
