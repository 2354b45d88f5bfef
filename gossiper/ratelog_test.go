package gossiper

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

type steppedClock struct{ now time.Time }

func (c *steppedClock) Now() time.Time                        { return c.now }
func (c *steppedClock) AfterFunc(time.Duration, func()) Timer { panic("not used") }

func TestRateLogBoundsEachKindAndCountsTheRest(t *testing.T) {
	var out bytes.Buffer
	log := logrus.New()
	log.SetOutput(&out)
	log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	clock := &steppedClock{now: time.Unix(1_800_000_000, 0)}
	rl := NewRateLog(clock)

	for range 10_000 {
		rl.Warn(log.WithField("peer", "10.0.0.1:1"), "dropped datagram")
	}
	rl.Warn(log, "send failed") // another kind has its own bucket
	if got := strings.Count(out.String(), "dropped datagram"); got != RateLogBurst {
		t.Fatalf("%d lines of a flood of 10000 in one instant, want the burst of %d:\n%s", got, RateLogBurst, out.String())
	}
	if !strings.Contains(out.String(), "send failed") {
		t.Fatalf("a quiet kind was suppressed with a loud one:\n%s", out.String())
	}

	out.Reset()
	clock.now = clock.now.Add(time.Second)
	rl.Warn(log, "dropped datagram")
	want := "suppressed=" + strconv.Itoa(10_000-RateLogBurst)
	if !strings.Contains(out.String(), want) {
		t.Fatalf("line after the flood %q lacks %q", out.String(), want)
	}
	out.Reset()
	rl.Warn(log, "dropped datagram")
	if strings.Contains(out.String(), "suppressed") {
		t.Fatalf("the count was reported twice: %q", out.String())
	}
}
