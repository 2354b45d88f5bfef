package messages

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"go.dedis.ch/protobuf"
)

// Message is what a client sends to the gossiper's UIPort. Fields 1–6 are the
// 2019 course's Message, so a plain `-msg` datagram (Text only) is
// byte-identical to what common 2018 clients sent. Fields from 7 on are our
// own actions; other implementations skip them as unknown fields.
type Message struct {
	Text        string
	Destination *string
	File        *string
	Request     *[]byte
	Keywords    *string
	Budget      *uint64
	// Node asks the gossiper to add a peer (ip:port).
	Node *string
	// Name asks the gossiper to change its origin name.
	Name *string
	// Digit sets the node's own digit in the digit gossip (0–9).
	Digit *uint32
	// Pull asks the digit gossip to pull ip:port now.
	Pull *string
}

// ErrNoAction is returned for a client datagram that asks for nothing.
var ErrNoAction = errors.New("client message carries no text and no action")

// HasAction reports whether the message asks the gossiper to do anything.
func (m *Message) HasAction() bool {
	return m.Text != "" || m.File != nil || m.Node != nil || m.Name != nil || m.Digit != nil || m.Pull != nil
}

// EncodeClient encodes a client request and checks it fits one datagram.
func EncodeClient(m *Message) ([]byte, error) {
	if !m.HasAction() {
		return nil, ErrNoAction
	}
	b, err := protobuf.Encode(m)
	if err != nil {
		return nil, fmt.Errorf("encode client message: %w", err)
	}
	if len(b) > MaxDatagram {
		return nil, fmt.Errorf("client message of %d bytes: %w", len(b), ErrTooLarge)
	}
	return b, nil
}

// romainPacket is the client format of RomainGehrig/Peerster: field 2 (Post)
// wrapping field 2 (Message) wrapping field 1 (Text). Field 1 of each level is
// never sent; it exists only to give the wrapped field number 2.
type romainPacket struct {
	Unused *romainUnused
	Post   *romainPost
}

type romainPost struct {
	Unused  *romainUnused
	Message *romainMessage
}

type romainMessage struct {
	Text        string
	Destination string
}

type romainUnused struct{}

// DecodeClient reads a client datagram in any format a 2018 or 2019 client
// is known to send, tried in this order:
//
//   - our Message (also the 2019 handout's Message{Text}, and the plain Text
//     datagram of most 2018 clients);
//   - GossipPacket{Simple{Contents}}, mvidigueira/Peerster's client (2018);
//   - RomainGehrig's nested Post;
//   - raw text, pablo11/Peerster's client (2018), only when the datagram is
//     printable: valid UTF-8 without control bytes.
//
// Every string taken must be printable, so that one format's bytes are
// never read as another's text: a status sent to the UIPort reads as a
// File field of Message, and a GossipPacket{Simple} as a Text of
// `\n\x00\x12\x00\x1a...`; both are refused here. Anything else is an error.
func DecodeClient(b []byte) (*Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode client datagram: %w", ErrNoAction)
	}
	m := &Message{}
	if err := protobuf.Decode(b, m); err == nil && m.HasAction() && m.printable() && m.Destination == nil {
		return m, nil
	}
	if text, ok := decodeSimpleClient(b); ok {
		return &Message{Text: text}, nil
	}
	r := &romainPacket{}
	if err := protobuf.Decode(b, r); err == nil && r.Post != nil && r.Post.Message != nil &&
		r.Post.Message.Text != "" && isChatText(r.Post.Message.Text) {
		return &Message{Text: r.Post.Message.Text}, nil
	}
	if isPlainText(b) {
		return &Message{Text: string(b)}, nil
	}
	if err := protobuf.Decode(b, &Message{}); err != nil {
		return nil, fmt.Errorf("decode client datagram of %d bytes: %w", len(b), err)
	}
	return nil, fmt.Errorf("decode client datagram of %d bytes: %w", len(b), ErrNoAction)
}

// simpleClientPacket is the shape of mvidigueira's client datagram: a
// GossipPacket with only Simple set, its names empty (written out, 0a 00
// 12 00).
type simpleClientPacket struct {
	Simple *SimpleMessage
	Rumor  *struct{}
	Status *struct{}
}

func decodeSimpleClient(b []byte) (string, bool) {
	p := &simpleClientPacket{}
	if err := protobuf.Decode(b, p); err != nil || p.Simple == nil || p.Rumor != nil || p.Status != nil {
		return "", false
	}
	s := p.Simple
	// A client does not name an origin or a relay; a node's packet sent to
	// the UIPort by mistake does, and is not taken as a client's text.
	if s.Contents == "" || !isChatText(s.Contents) || s.OriginalName != "" || s.RelayPeerAddr != "" {
		return "", false
	}
	return s.Contents, true
}

// printable reports whether every string the message carries is one a
// person or our client could have typed.
func (m *Message) printable() bool {
	if !isChatText(m.Text) {
		return false
	}
	for _, p := range []*string{m.File, m.Node, m.Name, m.Pull} {
		if p != nil && (*p == "" || !isPlainText([]byte(*p))) {
			return false
		}
	}
	return true
}

// isChatText accepts a chat message's text: valid UTF-8 whose only control
// characters are tab and line breaks.
func isChatText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// isPlainText accepts a raw text datagram only when it could not be mistaken
// for a protobuf: valid UTF-8 without control characters.
func isPlainText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' {
			return false
		}
	}
	return true
}
