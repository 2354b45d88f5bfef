package p2p

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
)

// storeFile is the file in the data directory that keeps the peers we have
// authenticated: the seed's "possible further improvement", and what makes
// trust on first use survive a restart.
const storeFile = "p2p-peers.json"

// knownPeer is a peer worth remembering: it proved its identity once.
type knownPeer struct {
	id   uint64
	addr netip.AddrPort // invalid when it never told us a dialable one
	fp   [32]byte
}

type storedPeers struct {
	Peers []storedPeer `json:"peers"`
}

// storedPeer spells the identity as a decimal string, as peers print it
// and as JSON readers that hold numbers in doubles cannot round.
type storedPeer struct {
	Identity uint64 `json:"identity,string"`
	Addr     string `json:"addr,omitempty"`
	SHA256   string `json:"sha256"`
}

// loadPeers reads the known peers; a missing file is an empty list. A file
// that is there but unreadable is an error, not an empty list: starting
// afresh would quietly forget whom to refuse.
func loadPeers(path string) ([]knownPeer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s storedPeers
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]knownPeer, 0, len(s.Peers))
	for i, sp := range s.Peers {
		k := knownPeer{id: sp.Identity}
		if sp.Addr != "" {
			if k.addr, err = netip.ParseAddrPort(sp.Addr); err != nil {
				return nil, fmt.Errorf("%s: peer %d (identity %d): address: %w", path, i, sp.Identity, err)
			}
		}
		fp, err := hex.DecodeString(sp.SHA256)
		if err != nil || len(fp) != len(k.fp) {
			return nil, fmt.Errorf("%s: peer %d (identity %d): sha256 %q: want 64 hex digits", path, i, sp.Identity, sp.SHA256)
		}
		copy(k.fp[:], fp)
		out = append(out, k)
	}
	return out, nil
}

// savePeers replaces the file at path with peers, atomically: a crash
// leaves the old file or the new one, never half of one.
func savePeers(path string, peers []knownPeer) error {
	s := storedPeers{Peers: make([]storedPeer, len(peers))}
	for i, k := range peers {
		s.Peers[i] = storedPeer{Identity: k.id, SHA256: hex.EncodeToString(k.fp[:])}
		if k.addr.IsValid() {
			s.Peers[i].Addr = k.addr.String()
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode known peers: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+storeFile+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
