package digits

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
)

// record is what we know of our pulls of one address.
type record struct {
	successes, failures int
	// streak counts failures since the last success; it sets the backoff.
	streak       int
	lastAttempt  time.Time
	lastError    string
	blockedUntil time.Time
	// retired is set once an address that never answered has failed
	// retireAfter times: anyone can list any address, and a made-up one
	// would otherwise be dialled every few seconds for as long as we run.
	retired bool
	// given is set when the user named the address with +ip:port, which
	// puts it in rotation whatever its scope.
	given bool
}

// retireAfter is how many failed pulls, backed off, an address that never
// answered gets before it leaves the rotation.
const retireAfter = 4

// records keeps one record per address we pulled. Every failure backs the
// address off exponentially. A node that answered once is never dropped for
// ever: peers restart, and a permanent ban was one of the mistakes of the
// course's programs. One that never answered leaves the rotation after
// retireAfter tries, and returns when the user pulls it successfully or a
// peer vouches for a newer time of it.
type records struct {
	mu        sync.Mutex
	base, max time.Duration
	byAddr    map[string]*record
}

func newRecords(base, max time.Duration) *records {
	return &records{base: base, max: max, byAddr: make(map[string]*record)}
}

func (r *records) get(addr string) *record {
	rec := r.byAddr[addr]
	if rec == nil {
		rec = &record{}
		r.byAddr[addr] = rec
	}
	return rec
}

// blocked reports whether pulls we start ourselves must skip addr at now.
func (r *records) blocked(addr string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.byAddr[addr]
	return rec != nil && (rec.retired || now.Before(rec.blockedUntil))
}

// give records that the user named addr.
func (r *records) give(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.get(addr).given = true
}

// given reports whether the user named addr.
func (r *records) given(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.byAddr[addr]
	return rec != nil && rec.given
}

// vouch returns a retired addr to the rotation because a peer listed a
// newer time for it, and reports whether it was retired. Its back-off and
// streak stay: it is tried once more when the back-off ends, and one more
// failure retires it again, so a peer that keeps vouching for a dead
// address gets us to dial it ever less often.
func (r *records) vouch(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.byAddr[addr]
	if rec == nil || !rec.retired {
		return false
	}
	rec.retired = false
	return true
}

func (r *records) success(addr string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(addr)
	rec.successes++
	rec.streak = 0
	rec.lastAttempt = now
	rec.lastError = ""
	rec.blockedUntil = time.Time{}
	rec.retired = false
}

// failed is what a failed pull did to the address's record.
type failed struct {
	// until is the end of its back-off.
	until time.Time
	// answered tells whether it ever answered; retired, whether this
	// failure took it out of the rotation.
	answered, retired bool
}

// failure records a failed pull and backs addr off.
func (r *records) failure(addr string, now time.Time, err error) failed {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(addr)
	rec.failures++
	rec.streak++
	rec.lastAttempt = now
	rec.lastError = err.Error()
	rec.blockedUntil = now.Add(gossiper.BackoffAfter(r.base, r.max, rec.streak))
	f := failed{until: rec.blockedUntil, answered: rec.successes > 0}
	if !f.answered && !rec.retired && rec.streak >= retireAfter {
		rec.retired, f.retired = true, true
	}
	return f
}

// lines renders the records for the console's "!", sorted by address.
func (r *records) lines(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	addrs := make([]string, 0, len(r.byAddr))
	for a := range r.byAddr {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		rec := r.byAddr[a]
		var b strings.Builder
		fmt.Fprintf(&b, "%s successes=%d failures=%d last=%s", a, rec.successes, rec.failures,
			rec.lastAttempt.UTC().Format(time.RFC3339))
		switch {
		case rec.retired:
			b.WriteString(" blocklisted=retired")
		case now.Before(rec.blockedUntil):
			fmt.Fprintf(&b, " blocklisted until %s", rec.blockedUntil.UTC().Format(time.RFC3339))
		default:
			b.WriteString(" blocklisted=no")
		}
		if rec.lastError != "" {
			fmt.Fprintf(&b, " error=%q", rec.lastError)
		}
		out = append(out, b.String())
	}
	return out
}
