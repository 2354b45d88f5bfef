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

// DecodeClient reads a client datagram in any format a 2018 client is known
// to send: our Message (also gregunz's), RomainGehrig's nested Post, and
// pablo11's raw text. Anything else is an error.
func DecodeClient(b []byte) (*Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode client datagram: %w", ErrNoAction)
	}
	m := &Message{}
	if err := protobuf.Decode(b, m); err == nil && m.HasAction() && validClientText(m.Text) && m.Destination == nil {
		return m, nil
	}
	r := &romainPacket{}
	if err := protobuf.Decode(b, r); err == nil && r.Post != nil && r.Post.Message != nil &&
		r.Post.Message.Text != "" && validClientText(r.Post.Message.Text) {
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

func validClientText(s string) bool {
	return utf8.ValidString(s)
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
