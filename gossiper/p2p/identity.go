package p2p

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"os"
	"time"
)

// IdentityOf is the identity of a node with the given certificate: what the
// real program computes with Rust's DefaultHasher (SipHash-1-3, both keys
// zero) fed every byte of the DER. The README says "hashed public key"; the
// program hashes the whole certificate, and peers check exactly that.
func IdentityOf(certDER []byte) uint64 { return siphash13(certDER) }

// siphash13 is SipHash-1-3 with k0 = k1 = 0: one compression round per
// 8-byte block, three finalisation rounds.
func siphash13(b []byte) uint64 {
	// The initial state is the constants xor the keys, which are zero.
	v0, v1, v2, v3 := uint64(0x736f6d6570736575), uint64(0x646f72616e646f6d),
		uint64(0x6c7967656e657261), uint64(0x7465646279746573)
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(b)
	for ; len(b) >= 8; b = b[8:] {
		m := binary.LittleEndian.Uint64(b)
		v3 ^= m
		round()
		v0 ^= m
	}
	// The last block holds the remaining bytes and the length mod 256.
	last := uint64(n) << 56
	for i, c := range b {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// fingerprint is what trust on first use remembers of a peer's certificate.
// The identity alone cannot be trusted for that: SipHash with public keys is
// no cryptographic hash, and a second certificate with a chosen identity is
// within reach of anyone who wants to impersonate a peer.
func fingerprint(certDER []byte) [32]byte { return sha256.Sum256(certDER) }

// LoadCertificate reads a PEM certificate and its PEM private key: RSA in
// PKCS#1 (what the real program's --key takes), or PKCS#8, or an EC key.
// The identity is that of the first certificate in certFile, which is the
// one a peer hashes.
func LoadCertificate(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: private key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// GenerateCertificate makes a self-signed ECDSA P-256 certificate shaped
// like the one the real program makes with rcgen: CN "rcgen self signed
// cert", SAN DNS localhost, valid from 1975 to 4096.
func GenerateCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: generate serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "rcgen self signed cert"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(4096, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: self-sign certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("p2p: parse our own certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// errNoCertificate is a peer's TLS handshake without a certificate; the
// server requires one and so does the identity check.
var errNoCertificate = errors.New("no certificate")
