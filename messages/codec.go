package messages

import (
	"errors"
	"fmt"

	"go.dedis.ch/protobuf"
)

// Errors returned by DecodePacket; callers log and drop such datagrams.
var (
	ErrEmptyPacket     = errors.New("packet has no known field set")
	ErrAmbiguousPacket = errors.New("packet has more than one field set")
	ErrTooLarge        = fmt.Errorf("packet exceeds the %d-byte datagram limit", MaxDatagram)
)

// Kind names which field of a GossipPacket is set.
func (p *GossipPacket) Kind() string {
	switch {
	case p.Simple != nil:
		return "simple"
	case p.Rumor != nil:
		return "rumor"
	case p.Status != nil:
		return "status"
	}
	return "empty"
}

func (p *GossipPacket) fieldsSet() int {
	n := 0
	if p.Simple != nil {
		n++
	}
	if p.Rumor != nil {
		n++
	}
	if p.Status != nil {
		n++
	}
	return n
}

// EncodePacket encodes a packet that must have exactly one field set and fit
// in one datagram; anything else is a bug on our side that must not reach the
// wire.
func EncodePacket(p *GossipPacket) ([]byte, error) {
	switch p.fieldsSet() {
	case 0:
		return nil, ErrEmptyPacket
	case 1:
	default:
		return nil, ErrAmbiguousPacket
	}
	b, err := protobuf.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s packet: %w", p.Kind(), err)
	}
	if len(b) > MaxDatagram {
		return nil, fmt.Errorf("encode %s packet of %d bytes: %w", p.Kind(), len(b), ErrTooLarge)
	}
	return b, nil
}

// DecodePacket decodes one datagram into a fresh packet. Unknown fields are
// skipped by the library, so a packet of a later course version that carries
// only, say, a Private message comes back as ErrEmptyPacket rather than as
// garbage.
func DecodePacket(b []byte) (*GossipPacket, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode packet: %w", ErrEmptyPacket)
	}
	p := &GossipPacket{}
	if err := protobuf.Decode(b, p); err != nil {
		return nil, fmt.Errorf("decode packet of %d bytes: %w", len(b), err)
	}
	switch p.fieldsSet() {
	case 0:
		return nil, fmt.Errorf("decode packet of %d bytes: %w", len(b), ErrEmptyPacket)
	case 1:
		return p, nil
	default:
		return nil, fmt.Errorf("decode packet of %d bytes (%d fields): %w", len(b), p.fieldsSet(), ErrAmbiguousPacket)
	}
}
