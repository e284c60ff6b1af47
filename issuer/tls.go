package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// Local TLS material: a CA the user trusts once, and a server certificate
// it signs. MSAL and azidentity refuse http authorities, so `issuer serve`
// without a certificate of its own needs one.
const (
	tlsSettingName = "tls"
	caLifetime     = 10 * 365 * 24 * time.Hour
	leafLifetime   = 365 * 24 * time.Hour
	// renewBefore re-issues a certificate expiring within 30 days.
	renewBefore = 30 * 24 * time.Hour
)

// defaultTLSHosts are always in the server certificate.
var defaultTLSHosts = []string{"localhost", "127.0.0.1", "::1"}

// tlsMaterial is the "tls" setting: PEM text of the CA and the server
// certificate with their keys.
type tlsMaterial struct {
	CACert string `json:"caCert"`
	CAKey  string `json:"caKey"`
	Cert   string `json:"cert"`
	Key    string `json:"key"`
}

// LocalTLS returns a server certificate for localhost, 127.0.0.1, ::1 and
// hosts (names or IPs; a port is ignored), signed by a local CA, and the CA
// certificate in PEM for clients to trust. The first call creates a 10-year
// ECDSA CA and a 1-year server certificate and stores both under the "tls"
// setting; later calls reuse them, re-issuing the server certificate from
// the same CA when a requested host is missing from it or it expires within
// 30 days, so a CA the user trusted stays valid. A CA itself within 30 days
// of expiry is replaced.
func LocalTLS(ctx context.Context, st SettingStore, hosts []string, now time.Time) (tls.Certificate, []byte, error) {
	var m tlsMaterial
	raw, err := st.Setting(ctx, tlsSettingName)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
	case err != nil:
		return tls.Certificate{}, nil, fmt.Errorf("issuer: reading TLS setting: %w", err)
	default:
		if err := json.Unmarshal(raw, &m); err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("issuer: TLS setting is not valid JSON: %w", err)
		}
	}
	changed := false
	ca, caKey, err := parseCertKey(m.CACert, m.CAKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issuer: local CA in the TLS setting: %w", err)
	}
	if ca == nil || ca.NotAfter.Sub(now) < renewBefore {
		if ca, caKey, m.CACert, m.CAKey, err = newLocalCA(now); err != nil {
			return tls.Certificate{}, nil, err
		}
		m.Cert, m.Key, changed = "", "", true
	}
	leaf, leafKey, err := parseCertKey(m.Cert, m.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issuer: server certificate in the TLS setting: %w", err)
	}
	want := tlsNames(append(slices.Clone(defaultTLSHosts), hosts...))
	if leaf == nil || leaf.NotAfter.Sub(now) < renewBefore || !coversNames(leaf, want) || leaf.CheckSignatureFrom(ca) != nil {
		if leaf != nil && leaf.CheckSignatureFrom(ca) == nil {
			want = tlsNames(append(want, certNames(leaf)...)) // keep hosts asked for before
		}
		if leaf, leafKey, m.Cert, m.Key, err = newServerCert(ca, caKey, want, now); err != nil {
			return tls.Certificate{}, nil, err
		}
		changed = true
	}
	if changed {
		b, err := json.Marshal(m)
		if err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("issuer: encoding TLS setting: %w", err)
		}
		if err := st.PutSetting(ctx, tlsSettingName, b); err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("issuer: storing TLS setting: %w", err)
		}
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.Raw}, PrivateKey: leafKey, Leaf: leaf}
	return cert, []byte(m.CACert), nil
}

// tlsNames normalises hosts (lowercase, no port, no brackets), drops empty
// ones and duplicates, keeping order.
func tlsNames(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.ToLower(strings.Trim(h, "[]"))
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// certNames lists a certificate's DNS and IP SANs.
func certNames(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// coversNames reports whether every name is a SAN of c.
func coversNames(c *x509.Certificate, names []string) bool {
	have := certNames(c)
	for _, n := range names {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

// parseCertKey decodes a PEM certificate and PKCS #8 ECDSA key; both empty
// is (nil, nil, nil).
func parseCertKey(certPEM, keyPEM string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if certPEM == "" && keyPEM == "" {
		return nil, nil, nil
	}
	cb, _ := pem.Decode([]byte(certPEM))
	kb, _ := pem.Decode([]byte(keyPEM))
	if cb == nil || kb == nil {
		return nil, nil, errors.New("certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("key does not match certificate")
	}
	return cert, key, nil
}

// newLocalCA creates the CA certificate and key.
func newLocalCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, string, string, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "issuer local CA", Organization: []string{"issuer"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return issueCert(tmpl, nil, nil)
}

// newServerCert issues a server certificate for names from the CA.
func newServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, string, string, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0], Organization: []string{"issuer"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(leafLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return issueCert(tmpl, ca, caKey)
}

// issueCert creates a P-256 key and a certificate for it from tmpl, signed
// by parent (self-signed when parent is nil), and returns both parsed and
// as PEM.
func issueCert(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("issuer: generating TLS key: %w", err)
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, "", "", fmt.Errorf("issuer: generating serial: %w", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("issuer: creating TLS certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, "", "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return cert, key, string(certPEM), string(keyPEM), nil
}
