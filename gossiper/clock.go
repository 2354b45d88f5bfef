package gossiper

import (
	"context"
	"time"
)

// Clock is a protocol's source of time, injectable so tests can drive
// timeouts and periodic work without sleeping.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call of AfterFunc.
type Timer interface {
	Stop() bool
}

// SystemClock is the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Sleep waits d on clock; false means ctx was done first.
func Sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	done := make(chan struct{})
	t := clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// Every calls f every d on clock until ctx is done. The next period starts
// when f returns, so a slow f delays the next call rather than piling calls
// up.
func Every(ctx context.Context, clock Clock, d time.Duration, f func()) {
	for Sleep(ctx, clock, d) {
		f()
	}
}
