package p2p

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peerster-chat/Peerster/gossiper/gossipertest"
)

func TestStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", storeFile)
	if got, err := loadPeers(path); err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v", got, err)
	}
	peers := []knownPeer{
		{id: 12859790071228880681, addr: netip.MustParseAddrPort("127.0.0.1:18500"), fp: fingerprint([]byte("a"))},
		{id: 1, fp: fingerprint([]byte("b"))},
		{id: 2, addr: netip.MustParseAddrPort("[::1]:9"), fp: fingerprint([]byte("c"))},
	}
	if err := savePeers(path, peers); err != nil {
		t.Fatal(err)
	}
	got, err := loadPeers(path)
	if err != nil || !reflect.DeepEqual(got, peers) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	b, _ := os.ReadFile(path)
	// Identities are decimal strings, as peers print them.
	if !strings.Contains(string(b), `"identity": "12859790071228880681"`) {
		t.Fatalf("file:\n%s", b)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files", len(entries))
	}
}

// A damaged file stops the node: starting afresh would forget whom to
// refuse.
func TestStoreDamagedFileIsAnError(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":    "{",
		"bad address": `{"peers":[{"identity":"1","addr":"nowhere","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		"short hash":  `{"peers":[{"identity":"1","sha256":"00"}]}`,
		"number id":   `{"peers":[{"identity":1,"sha256":"` + strings.Repeat("0", 64) + `"}]}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, storeFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := fast()
		cfg.DataDir = dir
		ln := listen(t)
		_, err := New(cfg, ln, gossipertest.NewHost(ProtocolName))
		ln.Close()
		if err == nil || !strings.Contains(err.Error(), storeFile) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

// TestRestartRedialsKnownPeers: B learned A once; restarted with the same
// data directory, at another port and told nothing, it finds A again.
func TestRestartRedialsKnownPeers(t *testing.T) {
	a := start(t, fast(), "")
	dir := t.TempDir()
	cfg := fast()
	cfg.DataDir = dir
	cfg.Certificate = newCert(t)
	cfg.Connect = []string{a.addr}
	b := start(t, cfg, "")
	waitFor(t, "a and b connected", func() bool { return a.sees(b) && b.sees(a) })
	b.stop()
	known, err := loadPeers(filepath.Join(dir, storeFile))
	if err != nil || len(known) != 1 || known[0].id != a.p.Identity() || known[0].addr.String() != a.addr {
		t.Fatalf("b saved %+v, %v", known, err)
	}

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
