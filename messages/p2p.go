package messages

// Codec of bragov4ik/p2p-gossip (seeds/003): serde's bincode 1 with its
// default options, as the real program calls bincode::serialize. Integers are
// little endian and fixed width, an enum variant is a u32 index, a String or
// Vec is a u64 count followed by its elements, and a SocketAddr is a variant
// (0 V4, 1 V6) followed by 4 or 16 octets and a u16 port. The program puts no
// framing around messages, so the stream decoder here finds their ends from
// their contents, and it must bound what a peer can make it buffer before a
// length is known to be honest.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"unicode/utf8"
)

// P2PKind is the variant index of a p2p-gossip message.
type P2PKind uint32

// The variants, in the order of the real program's Message enum.
const (
	P2PGossip P2PKind = iota
	P2PHeartbeat
	P2PListPeersRequest
	P2PListPeersResponse
	P2PPair
	P2PError
)

func (k P2PKind) String() string {
	switch k {
	case P2PGossip:
		return "Gossip"
	case P2PHeartbeat:
		return "Heartbeat"
	case P2PListPeersRequest:
		return "ListPeersRequest"
	case P2PListPeersResponse:
		return "ListPeersResponse"
	case P2PPair:
		return "Pair"
	case P2PError:
		return "Error"
	}
	return fmt.Sprintf("P2PKind(%d)", uint32(k))
}

// P2PPeer is one entry of a peer list: a node's identity and the address it
// listens on.
type P2PPeer struct {
	Identity uint64
	Addr     netip.AddrPort
}

// P2PMessage is one p2p-gossip message; Kind says which fields count.
type P2PMessage struct {
	Kind P2PKind
	// Text is the string of Gossip and Error.
	Text string
	// Peers is the list of ListPeersResponse.
	Peers []P2PPeer
	// Identity and ListenPort are the fields of Pair.
	Identity   uint64
	ListenPort uint16
}

const (
	// P2PPairLen is the size of an encoded Pair, which both sides of a
	// connection exchange in plaintext before TLS.
	P2PPairLen = 14
	// MaxP2PMessageLen caps one message, both ways. The real program reads
	// into an 8 KiB buffer and never sends more; our own nodes get room to
	// spare, but a peer cannot make us buffer more than this.
	MaxP2PMessageLen = 64 << 10
)

// Kinds of rejection, for errors.Is.
var (
	ErrP2PTooLarge  = fmt.Errorf("p2p message exceeds the %d-byte limit", MaxP2PMessageLen)
	ErrP2PMalformed = errors.New("malformed p2p message")
)

// p2pError keeps the message free of the sentinel's text while still
// unwrapping to it.
type p2pError struct {
	msg  string
	kind error
}

func (e *p2pError) Error() string { return e.msg }
func (e *p2pError) Unwrap() error { return e.kind }

func p2pMalformedf(format string, args ...any) error {
	return &p2pError{msg: fmt.Sprintf(format, args...), kind: ErrP2PMalformed}
}

func p2pTooLargef(format string, args ...any) error {
	return &p2pError{msg: fmt.Sprintf(format, args...), kind: ErrP2PTooLarge}
}

// Sizes of the fixed parts, for bounds checked before anything is allocated.
const (
	p2pTagLen       = 4
	p2pCountLen     = 8
	p2pMinPeerLen   = 8 + 4 + 4 + 2 // identity, V4 tag, octets, port
	p2pExtraV6Len   = 16 - 4
	p2pPeerHeadLen  = 8 + 4 // identity, SocketAddr variant
	p2pQuoteMaxText = 64
)

// AppendP2P appends the encoding of m to b. It refuses what the real program
// could not decode (text that is not UTF-8, a missing address, an unknown
// variant) and what we would refuse ourselves (more than MaxP2PMessageLen
// bytes): such a message is a bug on our side that must not reach the wire.
func AppendP2P(b []byte, m P2PMessage) ([]byte, error) {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.Kind))
	switch m.Kind {
	case P2PGossip, P2PError:
		if !utf8.ValidString(m.Text) {
			return b[:start], fmt.Errorf("encode p2p %s: text is not UTF-8: %s", m.Kind, quoteP2PText(m.Text))
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(len(m.Text)))
		b = append(b, m.Text...)
	case P2PHeartbeat, P2PListPeersRequest:
	case P2PListPeersResponse:
		b = binary.LittleEndian.AppendUint64(b, uint64(len(m.Peers)))
		for i, p := range m.Peers {
			if !p.Addr.IsValid() {
				return b[:start], fmt.Errorf("encode p2p %s: peer %d (identity %d) has no address", m.Kind, i, p.Identity)
			}
			b = binary.LittleEndian.AppendUint64(b, p.Identity)
			// SocketAddrV6's flow info and scope id are not part of its
			// serde form, so a zone is dropped as the real program would.
			if a := p.Addr.Addr(); a.Is4() {
				b = binary.LittleEndian.AppendUint32(b, 0)
				o := a.As4()
				b = append(b, o[:]...)
			} else {
				b = binary.LittleEndian.AppendUint32(b, 1)
				o := a.As16()
				b = append(b, o[:]...)
			}
			b = binary.LittleEndian.AppendUint16(b, p.Addr.Port())
			if len(b)-start > MaxP2PMessageLen {
				break
			}
		}
	case P2PPair:
		b = binary.LittleEndian.AppendUint64(b, m.Identity)
		b = binary.LittleEndian.AppendUint16(b, m.ListenPort)
	default:
		return b[:start], fmt.Errorf("encode p2p message: unknown variant %d", uint32(m.Kind))
	}
	if n := len(b) - start; n > MaxP2PMessageLen {
		return b[:start], p2pTooLargef("encode p2p %s of %d bytes or more: exceeds the %d-byte limit", m.Kind, n, MaxP2PMessageLen)
	}
	return b, nil
}

// EncodeP2P returns the encoding of m; see AppendP2P.
func EncodeP2P(m P2PMessage) ([]byte, error) { return AppendP2P(nil, m) }

// DecodeP2P decodes the message at the start of b and returns it with the
// number of bytes it took; the bytes after it are left alone, as the stream
// has no framing. A message cut short wraps io.ErrUnexpectedEOF.
func DecodeP2P(b []byte) (P2PMessage, int, error) {
	m, n, _, err := parseP2P(b)
	if errors.Is(err, errP2PShort) {
		return P2PMessage{}, 0, fmt.Errorf("decode p2p message from %d bytes: %w", len(b), io.ErrUnexpectedEOF)
	}
	return m, n, err
}

// errP2PShort says that b holds the start of a message but not all of it.
var errP2PShort = errors.New("p2p message incomplete")

// parseP2P decodes one message from the start of b. When b is too short it
// returns errP2PShort and the least total length the message can have given
// what b already says, so that a stream reader does not parse again before
// that many bytes are in. Every length and count is checked against
// MaxP2PMessageLen before anything is allocated or waited for.
func parseP2P(b []byte) (m P2PMessage, n int, need int, err error) {
	if len(b) < p2pTagLen {
		return m, 0, p2pTagLen, errP2PShort
	}
	m.Kind = P2PKind(binary.LittleEndian.Uint32(b))
	off := p2pTagLen
	switch m.Kind {
	case P2PHeartbeat, P2PListPeersRequest:
		return m, off, 0, nil
	case P2PPair:
		if len(b) < P2PPairLen {
			return P2PMessage{}, 0, P2PPairLen, errP2PShort
		}
		m.Identity = binary.LittleEndian.Uint64(b[off:])
		m.ListenPort = binary.LittleEndian.Uint16(b[off+8:])
		return m, P2PPairLen, 0, nil
	case P2PGossip, P2PError:
		if len(b) < off+p2pCountLen {
			return P2PMessage{}, 0, off + p2pCountLen, errP2PShort
		}
		l := binary.LittleEndian.Uint64(b[off:])
		off += p2pCountLen
		if l > uint64(MaxP2PMessageLen-off) {
			return P2PMessage{}, 0, 0, p2pTooLargef("p2p %s announces %d bytes of text: exceeds the %d-byte message limit", m.Kind, l, MaxP2PMessageLen)
		}
		end := off + int(l)
		if len(b) < end {
			return P2PMessage{}, 0, end, errP2PShort
		}
		text := b[off:end]
		if !utf8.Valid(text) {
			return P2PMessage{}, 0, 0, p2pMalformedf("p2p %s text is not UTF-8: %s", m.Kind, quoteP2PText(string(text)))
		}
		m.Text = string(text)
		return m, end, 0, nil
	case P2PListPeersResponse:
		return parseP2PPeers(b, m)
	}
	return P2PMessage{}, 0, 0, p2pMalformedf("unknown p2p message variant %d (bytes % x)", uint32(m.Kind), b[:p2pTagLen])
}

func parseP2PPeers(b []byte, m P2PMessage) (P2PMessage, int, int, error) {
	off := p2pTagLen
	if len(b) < off+p2pCountLen {
		return P2PMessage{}, 0, off + p2pCountLen, errP2PShort
	}
	count := binary.LittleEndian.Uint64(b[off:])
	off += p2pCountLen
	if count > uint64((MaxP2PMessageLen-off)/p2pMinPeerLen) {
		return P2PMessage{}, 0, 0, p2pTooLargef("p2p ListPeersResponse announces %d peers: exceeds the %d-byte message limit", count, MaxP2PMessageLen)
	}
	// The whole list must be in before it is allocated: a count that is
	// within the limit can still be a lie about what follows.
	minEnd := off + int(count)*p2pMinPeerLen
	end := off
	for i := 0; i < int(count); i++ {
		// The variant decides the entry's size; it is checked as soon
		// as it is in.
		if end+p2pPeerHeadLen > len(b) {
			return P2PMessage{}, 0, minEnd, errP2PShort
		}
		switch v := binary.LittleEndian.Uint32(b[end+8:]); v {
		case 0:
			end += p2pMinPeerLen
		case 1:
			end += p2pMinPeerLen + p2pExtraV6Len
			minEnd += p2pExtraV6Len
			if minEnd > MaxP2PMessageLen {
				return P2PMessage{}, 0, 0, p2pTooLargef("p2p ListPeersResponse of %d peers, IPv6 up to peer %d: exceeds the %d-byte message limit", count, i, MaxP2PMessageLen)
			}
		default:
			return P2PMessage{}, 0, 0, p2pMalformedf("p2p ListPeersResponse peer %d: unknown SocketAddr variant %d", i, v)
		}
	}
	if len(b) < end {
		return P2PMessage{}, 0, minEnd, errP2PShort
	}
	m.Peers = make([]P2PPeer, count)
	p := off
	for i := range m.Peers {
		id := binary.LittleEndian.Uint64(b[p:])
		var a netip.Addr
		if binary.LittleEndian.Uint32(b[p+8:]) == 0 {
			a = netip.AddrFrom4([4]byte(b[p+12 : p+16]))
			p += 16
		} else {
			a = netip.AddrFrom16([16]byte(b[p+12 : p+28]))
			p += 28
		}
		m.Peers[i] = P2PPeer{Identity: id, Addr: netip.AddrPortFrom(a, binary.LittleEndian.Uint16(b[p:]))}
		p += 2
	}
	return m, end, 0, nil
}

// quoteP2PText quotes at most the first 64 bytes of s for an error message.
func quoteP2PText(s string) string {
	if len(s) <= p2pQuoteMaxText {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:p2pQuoteMaxText], len(s))
}

// p2pMaxEmptyReads mirrors bufio: a reader that keeps returning (0, nil)
// is broken, and looping on it would spin a core.
const p2pMaxEmptyReads = 100

// p2pReadBuf is the decoder's first buffer; it grows towards
// MaxP2PMessageLen only for a message that needs it.
const p2pReadBuf = 4096

// P2PDecoder reads messages from an unframed stream: several messages in one
// read and one message across many reads are both normal. After a decoding
// error the stream cannot be resynchronised, so every later call returns the
// same error.
type P2PDecoder struct {
	r          io.Reader
	buf        []byte
	start, end int // unparsed bytes are buf[start:end]
	need       int // do not parse again before end-start reaches this
	err        error
}

// NewP2PDecoder returns a decoder reading from r.
func NewP2PDecoder(r io.Reader) *P2PDecoder {
	return &P2PDecoder{r: r, buf: make([]byte, p2pReadBuf), need: p2pTagLen}
}

// Decode returns the next message. At a clean end between messages it
// returns io.EOF; inside a message, an error wrapping io.ErrUnexpectedEOF. A
// read error (a deadline, say) is returned wrapped, after the messages that
// arrived before it.
func (d *P2PDecoder) Decode() (P2PMessage, error) {
	empties := 0
	for {
		if d.end-d.start >= d.need {
			m, n, need, err := parseP2P(d.buf[d.start:d.end])
			switch {
			case err == nil:
				d.start += n
				d.need = p2pTagLen
				return m, nil
			case errors.Is(err, errP2PShort):
				d.need = need
			default:
				d.err = err
				d.start, d.end = 0, 0
				return P2PMessage{}, err
			}
		}
		if d.err == io.EOF && d.end > d.start {
			return P2PMessage{}, fmt.Errorf("p2p stream ended inside a message after %d bytes: %w", d.end-d.start, io.ErrUnexpectedEOF)
		}
		if d.err != nil {
			return P2PMessage{}, d.err
		}
		d.makeRoom()
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			n, err = 0, fmt.Errorf("reader returned %d bytes for a %d-byte buffer", n, len(d.buf)-d.end)
		}
		d.end += n
		// Bytes that came with an error are parsed before the error is
		// returned, as io.Reader asks.
		switch {
		case err == io.EOF:
			d.err = io.EOF
		case err != nil:
			d.err = fmt.Errorf("p2p stream: %w", err)
		case n == 0:
			if empties++; empties >= p2pMaxEmptyReads {
				d.err = fmt.Errorf("p2p stream: %w", io.ErrNoProgress)
			}
		default:
			empties = 0
		}
	}
}

// makeRoom makes space after the unparsed bytes for the next read: it moves
// them to the front when the tail is full or too short for the message being
// read, and grows the buffer when the message needs more than it holds
// (parseP2P has already checked need against MaxP2PMessageLen).
func (d *P2PDecoder) makeRoom() {
	if d.end < len(d.buf) && d.start+d.need <= len(d.buf) {
		return
	}
	if d.need > len(d.buf) {
		nb := make([]byte, min(max(d.need, 2*len(d.buf)), MaxP2PMessageLen))
		d.end = copy(nb, d.buf[d.start:d.end])
		d.buf = nb
	} else {
		d.end = copy(d.buf, d.buf[d.start:d.end])
	}
	d.start = 0
}
