// Package messages holds the Peerster wire formats and their codec.
//
// Field order is wire format: go.dedis.ch/protobuf numbers struct fields 1, 2,
// 3… in declaration order, so reordering a field breaks every other
// implementation. Counters are uint32 because an int would be zig-zag encoded
// (ID 1 as 10 02 instead of 10 01) and no 2018 node could read it.
package messages

// MaxDatagram is the largest UDP payload loopback carries; every packet we
// send must fit in it because one datagram carries exactly one packet.
const MaxDatagram = 65507

// GossipPacket is the only thing peers send each other; exactly one field is
// set. Fields 4–10 were taken by later course versions (Private, DataRequest,
// DataReply, SearchRequest, SearchReply, TxPublish, BlockPublish) and must
// never be reused.
type GossipPacket struct {
	Simple *SimpleMessage
	Rumor  *RumorMessage
	Status *StatusPacket
}

// SimpleMessage is the broadcast of the handout's simple mode.
type SimpleMessage struct {
	OriginalName  string
	RelayPeerAddr string
	Contents      string
}

// RumorMessage is one chat message; (Origin, ID) names it network-wide and IDs
// of one origin count from 1 without gaps.
type RumorMessage struct {
	Origin string
	ID     uint32
	Text   string
}

// StatusPacket is a vector clock: for every origin the sender knows, the
// lowest ID it has not seen yet.
type StatusPacket struct {
	Want []PeerStatus
}

// PeerStatus is one entry of a StatusPacket.
type PeerStatus struct {
	Identifier string
	NextID     uint32
}
