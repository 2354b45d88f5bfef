package p2p

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

// storePeers writes peers to ns and waits until they are on disk.
func storePeers(t *testing.T, ns *gossiper.Namespace, peers ...knownPeer) {
	t.Helper()
	for _, k := range peers {
		ns.Put(peerKey(k.id), encodePeer(k))
	}
	gossipertest.Committed(t, ns)
}

func TestStoreRoundTrip(t *testing.T) {
	s := gossipertest.OpenStore(t, t.TempDir())
	defer s.Close()
	ns := s.Namespace("p2p")
	if got, err := loadPeers(ns); err != nil || len(got) != 0 {
		t.Fatalf("empty namespace: %v, %v", got, err)
	}
	peers := []knownPeer{
		{id: 1, fp: fingerprint([]byte("b"))},
		{id: 2, addr: netip.MustParseAddrPort("[::1]:9"), fp: fingerprint([]byte("c"))},
		{id: 12859790071228880681, addr: netip.MustParseAddrPort("127.0.0.1:18500"), fp: fingerprint([]byte("a"))},
	}
	storePeers(t, ns, peers...)
	got, err := loadPeers(ns)
	if err != nil || !reflect.DeepEqual(got, peers) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	// Identities are decimal strings, as peers print them.
	if v, _ := ns.Get(peerKey(peers[2].id)); !strings.Contains(string(v), `"identity":"12859790071228880681"`) {
		t.Fatalf("value %s", v)
	}
}

// legacyPeers is a p2p-peers.json as the version before the store wrote it.
const legacyPeers = `{
  "peers": [
    {
      "identity": "12859790071228880681",
      "addr": "127.0.0.1:18500",
      "sha256": "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    },
    {
      "identity": "7",
      "sha256": "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
    }
  ]
}
`

// TestLegacyFileIsMovedIntoTheStoreOnce: the first start with a store
// takes the peers of p2p-peers.json and renames the file; later starts
// read the store alone.
func TestLegacyFileIsMovedIntoTheStoreOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, legacyFile)
	if err := os.WriteFile(path, []byte(legacyPeers), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []knownPeer{
		{id: 7, fp: fingerprint([]byte("b"))},
		{id: 12859790071228880681, addr: netip.MustParseAddrPort("127.0.0.1:18500"), fp: fingerprint([]byte("a"))},
	}
	wantMesh := []MeshPeer{{Identity: 7}, {Identity: 12859790071228880681, Addr: "127.0.0.1:18500"}}

	for run := 1; run <= 2; run++ {
		s := gossipertest.OpenStore(t, dir)
		cfg := fast()
		cfg.DataDir, cfg.Store = dir, s.Namespace("p2p")
		ln := listen(t)
		p, err := New(cfg, ln, gossipertest.NewHost(ProtocolName))
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.MeshPeers(); !reflect.DeepEqual(got, wantMesh) {
			t.Fatalf("run %d knows %+v", run, got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("run %d: %s still there (%v)", run, legacyFile, err)
		}
		if b, err := os.ReadFile(path + ".migrated"); err != nil || string(b) != legacyPeers {
			t.Fatalf("run %d: the renamed file holds %q (%v)", run, b, err)
		}
		s = gossipertest.OpenStore(t, dir)
		got, err := loadPeers(s.Namespace("p2p"))
		s.Close()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: the store holds %+v, %v", run, got, err)
		}
	}
}

// A damaged file stops the node and stays as it is: starting afresh would
// forget whom to refuse.
func TestDamagedLegacyFileIsAnError(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":    "{",
		"bad address": `{"peers":[{"identity":"1","addr":"nowhere","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		"short hash":  `{"peers":[{"identity":"1","sha256":"00"}]}`,
		"number id":   `{"peers":[{"identity":1,"sha256":"` + strings.Repeat("0", 64) + `"}]}`,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, legacyFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s := gossipertest.OpenStore(t, dir)
		cfg := fast()
		cfg.DataDir, cfg.Store = dir, s.Namespace("p2p")
		ln := listen(t)
		_, err := New(cfg, ln, gossipertest.NewHost(ProtocolName))
		ln.Close()
		s.Close()
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: the file now holds %q", name, b)
		}
	}
}

// A damaged value in the store stops the node, naming the namespace and
// key.
func TestDamagedStoredPeerIsAnError(t *testing.T) {
	good := string(encodePeer(knownPeer{id: 5, fp: fingerprint([]byte("a"))}))
	for name, value := range map[string]string{
		"garbage":        "garbage",
		"short hash":     `{"identity":"5","sha256":"00"}`,
		"other identity": strings.Replace(good, `"5"`, `"6"`, 1),
	} {
		dir := t.TempDir()
		s := gossipertest.OpenStore(t, dir)
		s.Namespace("p2p").Put(peerKey(5), []byte(value))
		s.Close()
		s = gossipertest.OpenStore(t, dir)
		cfg := fast()
		cfg.Store = s.Namespace("p2p")
		ln := listen(t)
		_, err := New(cfg, ln, gossipertest.NewHost(ProtocolName))
		ln.Close()
		s.Close()
		if want := fmt.Sprintf("namespace %q key %q", "p2p", peerKey(5)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %s", name, err, want)
		}
	}
}

// TestRestartRedialsKnownPeers: B learned A once; restarted with the same
// store, at another port and told nothing, it finds A again.
func TestRestartRedialsKnownPeers(t *testing.T) {
	a := start(t, fast(), "")
	dir := t.TempDir()
	s := gossipertest.OpenStore(t, dir)
	cfg := fast()
	cfg.Store = s.Namespace("p2p")
	cfg.Certificate = newCert(t)
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	b.stop()
	s.Close()

	s = gossipertest.OpenStore(t, dir)
	defer s.Close()
	known, err := loadPeers(s.Namespace("p2p"))
	if err != nil || len(known) != 1 || known[0].id != a.p.Identity() || known[0].addr.String() != a.addr {
		t.Fatalf("b stored %+v, %v", known, err)
	}
	cfg.Store = s.Namespace("p2p")
	cfg.Connect = nil
	b2 := start(t, cfg, "")
	if mp := b2.p.MeshPeers(); len(mp) != 1 || mp[0].Identity != a.p.Identity() {
		t.Fatalf("b2 starts knowing %+v", mp)
	}
	waitFor(t, "b2 redials a", func() bool { return a.sees(b2) && b2.sees(a) })
	a.say("welcome back")
	waitFor(t, "b2 prints a's gossip", func() bool { return b2.host.Count(gossipertest.Equal(gossipLine(a, "welcome back"))) == 1 })
	// A follows B to its new address.
	for _, mp := range a.p.MeshPeers() {
		if mp.Identity == b2.p.Identity() && mp.Addr != b2.addr {
			t.Fatalf("a has b at %s, b listens on %s", mp.Addr, b2.addr)
		}
	}
}
