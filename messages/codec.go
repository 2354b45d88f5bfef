package messages

import (
	"bytes"
	"errors"
	"fmt"

	"go.dedis.ch/protobuf"
)

// Errors of EncodePacket and DecodePacket; callers log and drop such
// datagrams.
var (
	ErrEmptyPacket = errors.New("packet has no known field set")
	// ErrAmbiguousPacket is only ever returned by EncodePacket: we send one
	// field per packet, as the handout says, though we accept several.
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

// Fields is the number of fields set. Some 2019 nodes send two or three:
// Ledz96/Peerster decodes every packet into one reused struct, so fields of
// earlier packets stay set and go out again with the next.
func (p *GossipPacket) Fields() int {
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

// Parts splits a packet into one packet per field set, in the order Simple,
// Rumor, Status: the order in which a receiver handles them.
func (p *GossipPacket) Parts() []*GossipPacket {
	parts := make([]*GossipPacket, 0, 3)
	if p.Simple != nil {
		parts = append(parts, &GossipPacket{Simple: p.Simple})
	}
	if p.Rumor != nil {
		parts = append(parts, &GossipPacket{Rumor: p.Rumor})
	}
	if p.Status != nil {
		parts = append(parts, &GossipPacket{Status: p.Status})
	}
	return parts
}

// EncodePacket encodes a packet that must have exactly one field set and fit
// in one datagram; anything else is a bug on our side that must not reach the
// wire.
func EncodePacket(p *GossipPacket) ([]byte, error) {
	switch p.Fields() {
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

// decodePadded decodes a packet followed by zero bytes. Pairs of zero bytes
// read as empty fields, but after an odd number the last is a key without
// its value, and the library fails: nt1m/Peerster forwards its whole
// 4,096-byte read buffer, and a packet of odd length came out of it
// undecodable. A packet itself ends with at most one zero byte (a zero
// length or value, after its key, which is never zero), so the packet is
// what remains without the zeros, with one of them given back or not.
func decodePadded(b []byte) *GossipPacket {
	trimmed := bytes.TrimRight(b, "\x00")
	if len(trimmed) == len(b) || len(trimmed) == 0 {
		return nil
	}
	for _, cand := range [][]byte{b[:len(trimmed)+1], trimmed} {
		p := &GossipPacket{}
		if protobuf.Decode(cand, p) == nil {
			return p
		}
	}
	return nil
}

// DecodePacket decodes one datagram into a fresh packet. Unknown fields are
// skipped by the library, so a packet of a later course version that carries
// only, say, a Private message comes back as ErrEmptyPacket rather than as
// garbage. So are zero bytes after the packet (each pair reads as field 0):
// nt1m/Peerster forwards its whole 4,096-byte read buffer. A packet may have
// several fields set; the receiver handles each as if it had come alone.
func DecodePacket(b []byte) (*GossipPacket, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode packet: %w", ErrEmptyPacket)
	}
	p := &GossipPacket{}
	if err := protobuf.Decode(b, p); err != nil {
		if p = decodePadded(b); p == nil {
			return nil, fmt.Errorf("decode packet of %d bytes: %w", len(b), err)
		}
	}
	if p.Fields() == 0 {
		return nil, fmt.Errorf("decode packet of %d bytes: %w", len(b), ErrEmptyPacket)
	}
	return p, nil
}
