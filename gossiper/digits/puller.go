package digits

import (
	"context"
	"fmt"
	"time"

	"github.com/peerster-chat/Peerster/messages"
)

// pullRandom pulls a random known node we may pull, as the course's
// programs do every 3 seconds.
func (d *Digits) pullRandom(ctx context.Context) {
	now := d.cfg.Clock.Now()
	var candidates []string
	for _, a := range d.table.others() {
		if d.pullable(a, now) {
			candidates = append(candidates, a)
		}
	}
	if len(candidates) == 0 {
		return
	}
	d.randMu.Lock()
	addr := candidates[d.cfg.Rand.Intn(len(candidates))]
	d.randMu.Unlock()
	d.pull(ctx, addr)
}

// pullable reports whether we may pull addr without the user asking: it is
// not ours, it is in our scope or the user named it, and it is neither
// backed off nor retired.
func (d *Digits) pullable(addr string, now time.Time) bool {
	return addr != d.cfg.Self &&
		(sameScope(d.cfg.Self, addr) || d.records.given(addr)) &&
		!d.records.blocked(addr, now)
}

// pull connects to addr, reads its table and merges it. Only the first 256
// lines count, each line on its own: one bad line never spoils the rest.
func (d *Digits) pull(ctx context.Context, addr string) error {
	log := d.log.WithField("peer", addr)
	entries, err := d.fetch(ctx, addr)
	now := d.cfg.Clock.Now()
	if err != nil && len(entries) == 0 {
		f := d.records.failure(addr, now, err)
		log = log.WithError(err).WithField("until", f.until.UTC().Format(time.RFC3339))
		switch {
		case f.answered:
			d.rl.Warn(log, "digit node failed after answering before; blocklisted")
		case f.retired:
			d.rl.Info(log.WithField("tries", retireAfter), "digit address never answered; out of rotation")
		default:
			log.Debug("digit pull failed")
		}
		return err
	}
	d.records.success(addr, now)
	own, haveOwn := d.table.own()
	changed, results := d.table.mergeFrom(addr, entries)
	for i, r := range results {
		e := entries[i]
		switch r {
		case mergeOwnAddress:
			// Honest peers list our entry back to us unchanged, or an older
			// one they have not replaced yet; only a line that would
			// otherwise compete with ours is worth a warning.
			if haveOwn && e.Time >= own.Time && e != own {
				d.rl.Warn(log.WithField("time", e.Time).WithField("digit", e.Digit),
					"ignored a different line about our own address")
			}
		case mergeFull:
			d.rl.Warn(log.WithField("max", d.cfg.MaxEntries), "digit table full; new address ignored")
		case mergeConflict:
			d.rl.Debug(log.WithField("addr", e.Addr).WithField("time", e.Time).WithField("digit", e.Digit),
				"same time, other digit; asking the owner")
			d.settle.add(e.Addr)
		case mergeUpdated:
			if e.Addr != addr && d.records.vouch(e.Addr) {
				d.rl.Info(log.WithField("addr", e.Addr).WithField("time", e.Time),
					"a peer vouched for a newer time; address back in rotation")
			}
		}
	}
	d.announce(changed)
	return nil
}

// fetch dials addr and reads its reply within the timeout. Lines read
// before a timeout still count; rejected lines are logged.
func (d *Digits) fetch(ctx context.Context, addr string) ([]messages.DigitEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	conn, err := d.cfg.Dial.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	// A pull sends nothing: connecting is the request.
	d.metrics.Out("pull", 0)
	deadline, _ := ctx.Deadline()
	conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	lines, readErr := messages.ReadDigitReply(conn, d.cfg.Clock.Now())
	var entries []messages.DigitEntry
	bad := 0
	for _, l := range lines {
		if l.Err != nil {
			d.metrics.Drop("bad line")
			bad++
			d.log.WithField("peer", addr).WithField("line", l.Line).WithError(l.Err).Debug("rejected digit line")
			continue
		}
		d.metrics.In("line", len(messages.AppendDigitLine(nil, l.Entry)))
		entries = append(entries, l.Entry)
	}
	if bad > 0 {
		d.rl.Info(d.log.WithField("peer", addr).WithField("rejected", bad).WithField("lines", len(lines)), "digit reply had bad lines")
	}
	if readErr != nil {
		return entries, fmt.Errorf("read: %w", readErr)
	}
	// An empty table is an answer too: the node simply has no digit yet.
	return entries, nil
}
