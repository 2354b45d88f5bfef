package peerster

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/vclock"
)

// What the dissemination panel keeps: the newest messages only, and per
// message the moments its count of holders grew, so a burst or a network
// of thousands costs a bounded amount per status.
const (
	spreadMessages = 8
	spreadPoints   = 24
	spreadHolders  = 4096
	// spreadEvery spaces the page's refreshes during a burst of statuses.
	spreadEvery = time.Second
	spreadEvent = "spread"
)

// spread is this node's view of how its newest messages disseminate: for
// each, which peers are known to hold it (their statuses said so, or they
// sent it to us) and when each one became known. Owned by the Run
// goroutine.
type spread struct {
	tracked []*spreadMessage // oldest first
	// lastPublished and timer throttle the update events.
	lastPublished time.Time
	timer         gossiper.Timer
}

type spreadMessage struct {
	msg     vclock.Message
	seen    time.Time
	holders map[netip.AddrPort]struct{}
	points  []spreadPoint
}

// spreadPoint: after this long, this many peers were known to hold it.
type spreadPoint struct {
	after   time.Duration
	holders int
}

// track starts following a message that is new to us.
func (s *spread) track(msg vclock.Message, now time.Time) {
	if len(s.tracked) == spreadMessages {
		s.tracked = append(s.tracked[:0], s.tracked[1:]...)
	}
	s.tracked = append(s.tracked, &spreadMessage{msg: msg, seen: now, holders: map[netip.AddrPort]struct{}{}})
}

// observe counts peer as a holder of every tracked message has reports;
// it says whether a count grew.
func (s *spread) observe(peer netip.AddrPort, has func(vclock.Message) bool, now time.Time) bool {
	grew := false
	for _, m := range s.tracked {
		if _, ok := m.holders[peer]; ok || len(m.holders) >= spreadHolders || !has(m.msg) {
			continue
		}
		m.holders[peer] = struct{}{}
		grew = true
		p := spreadPoint{after: now.Sub(m.seen), holders: len(m.holders)}
		if len(m.points) == spreadPoints {
			// Keep the first moments and the newest one.
			m.points = m.points[:spreadPoints-1]
		}
		m.points = append(m.points, p)
	}
	return grew
}

// spreadChanged tells the page, at most once per spreadEvery; a change
// inside that time is told when it ends.
func (g *Gossiper) spreadChanged() {
	s := &g.spread
	if s.timer != nil {
		return
	}
	now := g.cfg.Clock.Now()
	if wait := spreadEvery - now.Sub(s.lastPublished); wait > 0 {
		s.timer = g.cfg.Clock.AfterFunc(wait, func() {
			g.post(func() {
				s.timer = nil
				g.publishSpread()
			})
		})
		return
	}
	g.publishSpread()
}

func (g *Gossiper) publishSpread() {
	g.spread.lastPublished = g.cfg.Clock.Now()
	g.host.Publish(gossiper.Event{Kind: gossiper.EventUpdate, Protocol: ProtocolName, Update: spreadEvent})
}

// noteHolder records that peer holds what has says it has.
func (g *Gossiper) noteHolder(peer netip.AddrPort, has func(vclock.Message) bool) {
	if g.spread.observe(peer, has, g.cfg.Clock.Now()) {
		g.spreadChanged()
	}
}

// Panels implements gossiper.Paneler: the newest messages, how many peers
// are known to hold each, and when each count was reached.
func (g *Gossiper) Panels() []gossiper.Panel {
	var rows []gossiper.PanelRow
	if err := g.call(func() error {
		peers := g.peers.len()
		for i := len(g.spread.tracked) - 1; i >= 0; i-- {
			m := g.spread.tracked[i]
			rows = append(rows, gossiper.PanelRow{
				Cells: []string{
					gossiper.Printable(m.msg.Origin) + " #" + strconv.FormatUint(uint64(m.msg.ID), 10),
					strconv.FormatInt(m.seen.Unix(), 10),
					fmt.Sprintf("%d of %d", len(m.holders), peers),
					timeline(m.points),
				},
				Own: g.isOurs(m.msg.Origin),
			})
		}
		return nil
	}); err != nil {
		return nil
	}
	return []gossiper.Panel{{
		ID:    "spread",
		Title: "Dissemination",
		Columns: []gossiper.PanelColumn{
			{Title: "Message", Kind: gossiper.ColumnText},
			{Title: "First seen", Kind: gossiper.ColumnTime},
			{Title: "Peers known to hold it", Kind: gossiper.ColumnText},
			{Title: "Holders over time", Kind: gossiper.ColumnText},
		},
		Rows:    rows,
		Empty:   "No rumors yet: each new one shows here as its peers' statuses reveal who holds it.",
		Refresh: []string{spreadEvent},
	}}
}

// timeline reads "1 at +0.0s, 3 at +0.4s": holders counted and how long
// after we first held the message.
func timeline(points []spreadPoint) string {
	if len(points) == 0 {
		return "none yet"
	}
	parts := make([]string, len(points))
	for i, p := range points {
		parts[i] = fmt.Sprintf("%d at +%.1fs", p.holders, p.after.Seconds())
	}
	return strings.Join(parts, ", ")
}
