package p2p

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/sirupsen/logrus"
)

// The namespace holds one key per peer we have authenticated, what makes
// trust on first use survive a restart:
//
//	"peer/" + identity (8 bytes, big endian) → {"identity":"…","addr":"…","sha256":"…"}
//
// addr is absent when the peer never told us a dialable one.
const peerPrefix = "peer/"

// legacyFile is where versions before the store kept the same peers, in
// the data directory.
const legacyFile = "p2p-peers.json"

// knownPeer is a peer worth remembering: it proved its identity once.
type knownPeer struct {
	id   uint64
	addr netip.AddrPort // invalid when it never told us a dialable one
	fp   [32]byte
}

// storedPeer spells the identity as a decimal string, as peers print it
// and as JSON readers that hold numbers in doubles cannot round.
type storedPeer struct {
	Identity uint64 `json:"identity,string"`
	Addr     string `json:"addr,omitempty"`
	SHA256   string `json:"sha256"`
}

func peerKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(peerPrefix), id)
}

func encodePeer(k knownPeer) []byte {
	sp := storedPeer{Identity: k.id, SHA256: hex.EncodeToString(k.fp[:])}
	if k.addr.IsValid() {
		sp.Addr = k.addr.String()
	}
	// A storedPeer always encodes.
	b, _ := json.Marshal(sp)
	return b
}

func (sp storedPeer) known() (knownPeer, error) {
	k := knownPeer{id: sp.Identity}
	if sp.Addr != "" {
		var err error
		if k.addr, err = netip.ParseAddrPort(sp.Addr); err != nil {
			return k, fmt.Errorf("address: %w", err)
		}
	}
	fp, err := hex.DecodeString(sp.SHA256)
	if err != nil || len(fp) != len(k.fp) {
		return k, fmt.Errorf("sha256 %q: want 64 hex digits", sp.SHA256)
	}
	copy(k.fp[:], fp)
	return k, nil
}

// loadPeers reads the known peers from ns. A value that does not decode
// is an error naming its key, not a peer forgotten: starting afresh would
// quietly forget whom to refuse.
func loadPeers(ns *gossiper.Namespace) ([]knownPeer, error) {
	var out []knownPeer
	err := ns.ForEach([]byte(peerPrefix), func(key, v []byte) error {
		var sp storedPeer
		err := json.Unmarshal(v, &sp)
		var k knownPeer
		if err == nil {
			k, err = sp.known()
		}
		if err == nil && !bytes.Equal(key, peerKey(k.id)) {
			err = fmt.Errorf("holds identity %d", k.id)
		}
		if err != nil {
			return fmt.Errorf("p2p: store namespace %q key %q: %w", ProtocolName, key, err)
		}
		out = append(out, k)
		return nil
	})
	return out, err
}

// migrate moves the peers of a legacy file at path into ns, once: the file
// is renamed to path.migrated when they are on disk, and never read again.
// A missing file is nothing to move; a damaged one is an error naming it,
// and it is left as it is.
func migrate(path string, ns *gossiper.Namespace, log logrus.FieldLogger) ([]knownPeer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s struct {
		Peers []storedPeer `json:"peers"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]knownPeer, 0, len(s.Peers))
	for i, sp := range s.Peers {
		k, err := sp.known()
		if err != nil {
			return nil, fmt.Errorf("%s: peer %d (identity %d): %w", path, i, sp.Identity, err)
		}
		out = append(out, k)
	}
	for _, k := range out {
		ns.Put(peerKey(k.id), encodePeer(k))
	}
	// Renamed only once the peers are committed: a crash before leaves
	// the file, and the next start moves it again.
	ns.Barrier(func() {
		if err := os.Rename(path, path+".migrated"); err != nil {
			log.WithError(err).Error("p2p: known peers moved into the store, but the old file stays")
			return
		}
		log.WithField("peers", len(out)).WithField("file", path).Info("p2p: known peers moved into the store")
	})
	return out, nil
}
