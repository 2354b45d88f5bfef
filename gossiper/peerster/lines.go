package peerster

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
)

// The stdout lines of the handout, spelled exactly as the course scripts and
// 2018 implementations print them. Every field a peer or client chose goes
// through gossiper.Printable, so that a text with a line break cannot forge protocol
// lines that scripts grep for.

func clientLine(text string) string { return "CLIENT MESSAGE " + gossiper.Printable(text) }

func simpleLine(m *messages.SimpleMessage, relay string) string {
	return "SIMPLE MESSAGE origin " + gossiper.Printable(m.OriginalName) + " from " + relay + " contents " + gossiper.Printable(m.Contents)
}

func rumorLine(r *messages.RumorMessage, from netip.AddrPort) string {
	return "RUMOR origin " + gossiper.Printable(r.Origin) + " from " + from.String() + " ID " +
		strconv.FormatUint(uint64(r.ID), 10) + " contents " + gossiper.Printable(r.Text)
}

func mongeringLine(to netip.AddrPort) string { return "MONGERING with " + to.String() }

// statusLine keeps the peer's entry order. An empty status prints a trailing
// space, as every 2018 implementation did.
func statusLine(from netip.AddrPort, s *messages.StatusPacket) string {
	var b strings.Builder
	b.Grow(16 + 24*len(s.Want))
	b.WriteString("STATUS from ")
	b.WriteString(from.String())
	b.WriteByte(' ')
	for i, ps := range s.Want {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("peer ")
		b.WriteString(gossiper.Printable(ps.Identifier))
		b.WriteString(" nextID ")
		b.WriteString(strconv.FormatUint(uint64(ps.NextID), 10))
	}
	return b.String()
}

func flippedLine(to netip.AddrPort) string { return "FLIPPED COIN sending rumor to " + to.String() }

func inSyncLine(with netip.AddrPort) string { return "IN SYNC WITH " + with.String() }

func peersLine(p *peerList) string { return p.line() }
