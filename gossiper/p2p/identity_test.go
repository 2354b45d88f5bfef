package p2p

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSipHash13Vectors checks every vector of siphash13_vectors.tsv, the
// three certificates included: those identities are the ones real nodes
// announced and accepted.
func TestSipHash13Vectors(t *testing.T) {
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, "siphash13_vectors.tsv")))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("vector line %q: %d columns", line, len(f))
		}
		var in []byte
		switch {
		case f[1] == "-":
		case f[1] == "(file)":
			in = readFixture(t, strings.TrimPrefix(f[0], "file "))
		case strings.HasPrefix(f[1], "(000102"):
			for i := 0; i < 256; i++ {
				in = append(in, byte(i))
			}
		default:
			var err error
			if in, err = hex.DecodeString(f[1]); err != nil {
				t.Fatalf("%s: %v", f[0], err)
			}
		}
		if strconv.Itoa(len(in)) != f[2] {
			t.Fatalf("%s: %d bytes, table says %s", f[0], len(in), f[2])
		}
		want, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := IdentityOf(in); got != want {
			t.Errorf("%s: SipHash-1-3 %d (%016x), want %d (%s)", f[0], got, got, want, f[4])
		}
		n++
	}
	if n != 9 {
		t.Fatalf("%d vectors checked, the table has 9", n)
	}
}

// Every input length mod 8 takes its own path through the last block; the
// length byte there must make zero bytes count, or inputs that differ only
// by trailing zeros would share an identity.
func TestSipHash13TrailingZerosCount(t *testing.T) {
	seen := map[uint64]int{}
	b := make([]byte, 0, 40)
	for i := 0; i <= 40; i++ {
		h := siphash13(b)
		if j, dup := seen[h]; dup {
			t.Fatalf("lengths %d and %d hash alike", j, i)
		}
		seen[h] = i
		b = append(b, 0)
	}
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func selfSign(t *testing.T, pub, priv any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "test node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestLoadCertificateKeyKinds loads what users have: the RSA PKCS#1 key the
// real program's --key reads, PKCS#8, and SEC 1 EC keys. The identity is
// the hash of the certificate file's DER, the same on every load.
func TestLoadCertificateKeyKinds(t *testing.T) {
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER := selfSign(t, &rsaKey.PublicKey, rsaKey)
	ecDER := selfSign(t, &ecKey.PublicKey, ecKey)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := writePEM(t, dir, "rsa.crt", "CERTIFICATE", rsaDER)
	ecCert := writePEM(t, dir, "ec.crt", "CERTIFICATE", ecDER)
	cases := []struct {
		name, cert, key string
		der             []byte
	}{
		{"RSA PKCS#1", rsaCert, writePEM(t, dir, "rsa1.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaDER},
		{"RSA PKCS#8", rsaCert, writePEM(t, dir, "rsa8.key", "PRIVATE KEY", pkcs8), rsaDER},
		{"EC SEC 1", ecCert, writePEM(t, dir, "ec.key", "EC PRIVATE KEY", sec1), ecDER},
	}
	for _, c := range cases {
		for range 2 {
			cert, err := LoadCertificate(c.cert, c.key)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := IdentityOf(cert.Certificate[0]); got != IdentityOf(c.der) {
				t.Fatalf("%s: identity %d, want %d", c.name, got, IdentityOf(c.der))
			}
		}
	}

	bad := []struct {
		name, cert, key, has string
	}{
		{"key of another certificate", rsaCert, cases[2].key, "rsa.crt with key"},
		{"missing certificate", filepath.Join(dir, "none.crt"), cases[0].key, "none.crt"},
		{"missing key", rsaCert, filepath.Join(dir, "none.key"), "none.key"},
		{"garbage key", rsaCert, writePEM(t, dir, "junk.key", "JUNK", []byte("junk")), "junk.key"},
	}
	for _, c := range bad {
		if _, err := LoadCertificate(c.cert, c.key); err == nil || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.has)
		}
	}
}

// The generated certificate is shaped like rcgen's, and each run has its
// own identity.
func TestGenerateCertificate(t *testing.T) {
	a, b := newCert(t), newCert(t)
	leaf, err := x509.ParseCertificate(a.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.Subject.CommonName != "rcgen self signed cert" || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "localhost" {
		t.Fatalf("subject %q, SANs %q", leaf.Subject.CommonName, leaf.DNSNames)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if IdentityOf(a.Certificate[0]) == IdentityOf(b.Certificate[0]) {
		t.Fatal("two generated certificates share an identity")
	}
}
