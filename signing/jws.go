package signing

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unsafe"

	"github.com/issuer-dev/issuer/tenant"
)

// jwsSigner signs tokens with one key. The two protected headers are
// encoded once, when the key is loaded:
//
//	v1.0: {"typ":"JWT","alg":"RS256","x5t":"<kid>","kid":"<kid>"}
//	v2.0: {"typ":"JWT","alg":"RS256","kid":"<kid>"}
//
// which are Entra's members in Entra's order (protocol.md §3.2). go-jose
// serialises protected headers from a map, in alphabetical order
// (alg, kid, typ, x5t), and cannot be told otherwise; since a JWS signature
// covers the header bytes, the order can only be reproduced by producing the
// compact serialisation here. RS256 is RSASSA-PKCS1-v1_5 with SHA-256
// (RFC 7518 §3.3), deterministic and done by the Signer of the configured
// backend (crypto/rsa or libcrypto, backend.go); tests verify every token
// with go-jose against the published JWKS, as a relying party would.
type jwsSigner struct {
	kid      string
	rs       Signer
	headerV1 string // base64url of the v1 header, followed by "."
	headerV2 string
}

// jwtHeaderV1 and jwtHeaderV2 declare the header members in Entra's order;
// encoding/json follows struct order.
type jwtHeaderV1 struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	X5t string `json:"x5t"`
	Kid string `json:"kid"`
}

type jwtHeaderV2 struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func newJWSSigner(k tenant.SigningKey, b Backend) (*jwsSigner, error) {
	rs, err := b.NewSigner(k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing: signing key %s: %w", k.KeyID, err)
	}
	v1, _ := json.Marshal(jwtHeaderV1{Typ: "JWT", Alg: "RS256", X5t: k.KeyID, Kid: k.KeyID})
	v2, _ := json.Marshal(jwtHeaderV2{Typ: "JWT", Alg: "RS256", Kid: k.KeyID})
	return &jwsSigner{
		kid:      k.KeyID,
		rs:       rs,
		headerV1: base64.RawURLEncoding.EncodeToString(v1) + ".",
		headerV2: base64.RawURLEncoding.EncodeToString(v2) + ".",
	}, nil
}

// sign returns the compact JWS of claims with the header of token version
// (1 or 2).
func (s *jwsSigner) sign(version int, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("signing: encoding claims: %w", err)
	}
	header := s.headerV1
	if version == 2 {
		header = s.headerV2
	}
	// header.payload.signature, assembled in one buffer sized for an
	// RSA-2048 signature (256 bytes, 342 in base64url).
	enc := base64.RawURLEncoding
	input := len(header) + enc.EncodedLen(len(payload))
	jws := make([]byte, input, input+1+enc.EncodedLen(256))
	copy(jws, header)
	enc.Encode(jws[len(header):], payload)
	digest := sha256.Sum256(jws)
	sig, err := s.rs.SignRS256(digest[:])
	if err != nil {
		return "", fmt.Errorf("signing: signing with key %s: %w", s.kid, err)
	}
	jws = append(jws, '.')
	jws = enc.AppendEncode(jws, sig)
	// The buffer is the token's and is never written again, so the string
	// shares it rather than copying a kilobyte per token, as
	// strings.Builder does.
	return unsafe.String(unsafe.SliceData(jws), len(jws)), nil
}
