package peerster

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// The course's test_2_ring.sh on a ring that mixes ours (A, C, E, G, I)
// with stand-ins for other implementations (B, D, F, H, J), each stand-in
// with one quirk of a published Peerster, on the in-memory network, with
// every period a fifth of the course's. Every message must reach every
// node, and every check of the course's script must pass at our nodes.
func TestMixedRingWithQuirkyNeighbours(t *testing.T) {
	for _, c := range []struct {
		name string
		q    quirks
	}{
		{"numbering from 0", quirks{zeroBased: true}},
		{"two fields per packet", quirks{staleFields: true}},
		{"few statuses", quirks{quiet: true}},
		{"all three", quirks{zeroBased: true, staleFields: true, quiet: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runMixedRing(t, c.q)
		})
	}
}

const ringScale = 5 // the course's periods divided by this

func runMixedRing(t *testing.T, q quirks) {
	const n = 10
	period := time.Second / ringScale
	net := NewMemNetwork(1)
	// The coins are the handout's, fair and random: what is tested is that
	// our nodes flip towards both neighbours whatever they come up, not
	// that one sequence happens to.
	seed := time.Now().UnixNano()
	t.Logf("coin seed %d", seed)
	addrOf := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", 5000+(i+n)%n) }
	ours := map[int]*recorder{}
	gossipers := map[int]*Gossiper{}
	theirs := map[int]*handoutNode{}
	for i := range n {
		name := string(rune('A' + i))
		if i%2 == 0 {
			g, rec := startGossiper(t, net, addrOf(i), Config{
				Name: name, Peers: []netip.AddrPort{addr(addrOf(i + 1))},
				AckTimeout: period, AntiEntropy: period, FreshFor: 10 * period,
				Rand: rand.New(rand.NewSource(seed + int64(i))),
			})
			ours[i], gossipers[i] = rec, g
		} else {
			theirs[i] = startHandoutNode(t, net, name, addrOf(i), []string{addrOf(i + 1)}, q, period, period, seed+int64(i))
		}
	}
	say := func(i int, text string) {
		if g := gossipers[i]; g != nil {
			if err := g.Say(text); err != nil {
				t.Fatal(err)
			}
			return
		}
		theirs[i].say(text)
	}
	const b, e, gNode = 1, 4, 6
	type msg struct {
		node int
		text string
	}
	sent := []msg{{e, "Weather_is_clear"}, {b, "Winter_is_coming"}, {e, "No_clouds_really"}, {b, "Let's_go_skiing"}, {gNode, "Is_anybody_here?"}}
	say(e, sent[0].text)
	say(b, sent[1].text)
	time.Sleep(2 * period)
	say(e, sent[2].text)
	time.Sleep(period)
	say(b, sent[3].text)
	say(gNode, sent[4].text)

	// Each origin's IDs in its own numbering: B's from 0 when it numbers
	// from 0.
	first := func(node int) uint32 {
		if node%2 == 1 && q.zeroBased {
			return 0
		}
		return 1
	}
	ids := map[string]uint32{}
	type rumorID struct {
		origin string
		id     uint32
		text   string
	}
	var rumors []rumorID
	for _, m := range sent {
		o := string(rune('A' + m.node))
		if _, ok := ids[o]; !ok {
			ids[o] = first(m.node)
		}
		rumors = append(rumors, rumorID{o, ids[o], m.text})
		ids[o]++
	}

	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing = missing[:0]
		for i := range n {
			for _, r := range rumors {
				if r.origin == string(rune('A'+i)) {
					continue
				}
				if h := theirs[i]; h != nil {
					if !h.holds(r.origin, r.id) {
						missing = append(missing, fmt.Sprintf("%c lacks %s/%d", 'A'+i, r.origin, r.id))
					}
					continue
				}
				line := fmt.Sprintf(" ID %d contents %s", r.id, r.text)
				if ours[i].Count(func(l string) bool {
					return strings.HasPrefix(l, "RUMOR origin "+r.origin+" from ") && strings.HasSuffix(l, line)
				}) == 0 {
					missing = append(missing, fmt.Sprintf("%c printed no RUMOR line for %s/%d", 'A'+i, r.origin, r.id))
				}
			}
			if rec := ours[i]; rec != nil {
				missing = append(missing, courseChecks(rec, string(rune('A'+i)), addrOf(i-1), addrOf(i+1), ids)...)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for i, rec := range ours {
				if strings.Contains(strings.Join(missing, "\n"), fmt.Sprintf("%c: ", 'A'+i)) {
					t.Logf("node %c printed:\n  %s", 'A'+i, strings.Join(withoutPeers(rec.Lines()), "\n  "))
				}
			}
			t.Fatalf("after 30 s, %d checks fail:\n  %s", len(missing), strings.Join(missing, "\n  "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// courseChecks are the checks of test_2_ring.sh at one node; next holds
// each origin's NextID once every message is in.
func courseChecks(rec *gossipertest.Host, name, relay, next string, nextIDs map[string]uint32) []string {
	var fail []string
	has := func(sub string) bool {
		return rec.Count(func(l string) bool { return strings.Contains(l, sub) }) > 0
	}
	want := func(subs ...string) {
		for _, s := range subs {
			if has(s) {
				return
			}
		}
		fail = append(fail, fmt.Sprintf("%s: no line contains %q", name, strings.Join(subs, `" or "`)))
	}
	want("MONGERING with "+relay, "MONGERING with "+next)
	for _, p := range []string{relay, next} {
		want("STATUS from " + p)
		want("FLIPPED COIN sending rumor to " + p)
		want("IN SYNC WITH " + p)
	}
	for _, o := range []string{"E", "B", "G"} {
		want(fmt.Sprintf("peer %s nextID %d", o, nextIDs[o]))
	}
	want("PEERS "+relay+","+next, "PEERS "+next+","+relay)
	return fail
}

func withoutPeers(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "PEERS ") {
			out = append(out, l)
		}
	}
	return out
}
