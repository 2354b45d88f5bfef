package gossiper

import (
	"math/rand"
	"reflect"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMaxAndResets(t *testing.T) {
	b := NewBackoff(100*time.Millisecond, time.Second)
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	b.Reset()
	if d := b.Next(); d != 100*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}
}

func TestBackoffAfterCountsFailures(t *testing.T) {
	for failures, want := range map[int]time.Duration{1: 3 * time.Second, 2: 6 * time.Second, 3: 10 * time.Second, 50: 10 * time.Second} {
		if got := BackoffAfter(3*time.Second, 10*time.Second, failures); got != want {
			t.Errorf("after %d failures: %v, want %v", failures, got, want)
		}
	}
}

func TestJitterStaysInItsRange(t *testing.T) {
	j := NewJitter(rand.New(rand.NewSource(1)))
	for range 1000 {
		if d := j.Spread(time.Second, 0.5); d < 750*time.Millisecond || d >= 1250*time.Millisecond {
			t.Fatalf("Spread(1s, 0.5) = %v", d)
		}
		if d := j.Less(time.Second, 0.5); d <= 500*time.Millisecond || d > time.Second {
			t.Fatalf("Less(1s, 0.5) = %v", d)
		}
	}
}
