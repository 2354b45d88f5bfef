package digits

import (
	"context"
	"sync"
)

// settleQueue holds the addresses whose entry a third party contradicted at
// the same time. Neither line can win by time, so the owner is pulled as
// soon as possible and its own line settles it (see table.merge). Each
// address is queued once however often it is contradicted, and one
// goroutine pulls them in turn, so a liar naming many addresses gets us to
// open one connection at a time.
type settleQueue struct {
	mu      sync.Mutex
	pending map[string]bool
	order   []string
	// wake has room for one signal: the worker drains the whole queue.
	wake chan struct{}
}

func newSettleQueue() *settleQueue {
	return &settleQueue{pending: make(map[string]bool), wake: make(chan struct{}, 1)}
}

func (q *settleQueue) add(addr string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[addr] {
		return
	}
	q.pending[addr] = true
	q.order = append(q.order, addr)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *settleQueue) take() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return "", false
	}
	addr := q.order[0]
	q.order = q.order[1:]
	delete(q.pending, addr)
	return addr, true
}

// settleConflicts pulls the owners of contradicted entries until ctx is done.
func (d *Digits) settleConflicts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.settle.wake:
		}
		d.settleQueued(ctx)
	}
}

// settleQueued pulls every queued owner we may pull now. One we may not
// (out of scope, backed off, retired) is dropped: the conflict stays as it
// is, and the owner's line settles it whenever the rotation reaches it.
func (d *Digits) settleQueued(ctx context.Context) {
	for ctx.Err() == nil {
		addr, ok := d.settle.take()
		if !ok {
			return
		}
		if d.pullable(addr, d.cfg.Clock.Now()) {
			d.pull(ctx, addr)
		}
	}
}
