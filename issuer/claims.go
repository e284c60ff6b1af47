package issuer

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// backdate is how far Entra sets iat and nbf before the issue time
// (protocol.md §3.5: exp-iat = 3900 with expires_in 3599).
const backdate = 300 * time.Second

// appIDACRSecret is appidacr/azpacr for a client that authenticated with a
// secret ("2" is a certificate, "0" a public client).
const appIDACRSecret = "1"

// accessClaimsV1 is an app-only v1.0 access token. Members are declared in
// Entra's order, aud, iss, iat, nbf, exp, then alphabetical (protocol.md
// §3.3); encoding/json follows the declaration order. groups, or past the
// overage limit _claim_names and _claim_sources, list the client's groups
// when the resource asks for them (groupsClaims).
type accessClaimsV1 struct {
	Aud          string        `json:"aud"`
	Iss          string        `json:"iss"`
	Iat          int64         `json:"iat"`
	Nbf          int64         `json:"nbf"`
	Exp          int64         `json:"exp"`
	ClaimNames   *claimNames   `json:"_claim_names,omitempty"`
	ClaimSources *claimSources `json:"_claim_sources,omitempty"`
	AIO          string        `json:"aio"`
	AppID        string        `json:"appid"`
	AppIDACR     string        `json:"appidacr"`
	Groups       []string      `json:"groups,omitempty"`
	IDP          string        `json:"idp"`
	Idtyp        string        `json:"idtyp,omitempty"`
	OID          string        `json:"oid"`
	RH           string        `json:"rh"`
	Roles        []string      `json:"roles,omitempty"`
	Sub          string        `json:"sub"`
	TID          string        `json:"tid"`
	UTI          string        `json:"uti"`
	Ver          string        `json:"ver"`
	XMSMirid     string        `json:"xms_mirid,omitempty"`
}

// accessClaimsV2 is an app-only v2.0 access token, in Entra's order. idtyp
// ("app") is sent only when the resource configured that optional claim,
// as Entra does; APIs read it to tell app-only tokens from user tokens.
type accessClaimsV2 struct {
	Aud          string        `json:"aud"`
	Iss          string        `json:"iss"`
	Iat          int64         `json:"iat"`
	Nbf          int64         `json:"nbf"`
	Exp          int64         `json:"exp"`
	ClaimNames   *claimNames   `json:"_claim_names,omitempty"`
	ClaimSources *claimSources `json:"_claim_sources,omitempty"`
	AIO          string        `json:"aio"`
	AZP          string        `json:"azp"`
	AZPACR       string        `json:"azpacr"`
	Groups       []string      `json:"groups,omitempty"`
	Idtyp        string        `json:"idtyp,omitempty"`
	OID          string        `json:"oid"`
	RH           string        `json:"rh"`
	Roles        []string      `json:"roles,omitempty"`
	Sub          string        `json:"sub"`
	TID          string        `json:"tid"`
	UTI          string        `json:"uti"`
	Ver          string        `json:"ver"`
	// XMSMirid is a managed identity's Azure resource id, which Entra
	// puts in the identity's tokens.
	XMSMirid string `json:"xms_mirid,omitempty"`
}

// access is what every access token is built from, app-only or delegated:
// resolved directory values and the policy decision, never raw request
// input (DESIGN §5).
type access struct {
	Version       int      // token version, from the resource
	TenantID      string   // tid
	ClientAppID   string   // appid / azp (the middle tier in OBO)
	ResourceAppID string   // v2 aud; also the audience of a user's pairwise sub
	ResourceName  string   // v1 aud: the resource identifier as requested
	Roles         []string // the principal's app roles on the resource
	// Groups are the ids of the subject's groups the resource's
	// groupMembershipClaims selects (consent.Facts.AccessGroups).
	Groups   []string
	ACR      string    // appidacr / azpacr: how the client authenticated
	Issued   time.Time // the request time
	Lifetime time.Duration
	ID       string // a GUID; uti and aio derive from it
}

func (a access) base() access { return a }

// appToken is an app-only access token.
type appToken struct {
	access
	ClientSPID string // oid and sub: the client's service principal in the tenant
	Idtyp      string // "app" when the resource asks for the optional claim idtyp
	MIResource string // xms_mirid: the Azure resource id of a managed identity
}

// tokenTimes returns iat (= nbf) and exp of a token issued at issued with
// lifetime: iat backdated 300 s, exp one second after the lifetime, so that
// expires_in = lifetime and exp-iat = lifetime + 301 s (3900 with the
// default 3599 s), as in Entra's tokens.
func tokenTimes(issued time.Time, lifetime time.Duration) (iat, exp int64) {
	now := issued.Unix()
	return now - int64(backdate/time.Second), now + int64(lifetime/time.Second) + 1
}

// claimsV1 builds the v1.0 claims; iss and idp are the same v1 issuer.
func (t appToken) claimsV1(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	g := newGroupsClaims(t.Groups, 1, t.TenantID, servicePrincipalObjects, t.ClientSPID)
	return accessClaimsV1{
		Aud: t.ResourceName, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, ClaimNames: g.names, ClaimSources: g.sources,
		AIO: aio(t.ID), AppID: t.ClientAppID, AppIDACR: t.ACR, Groups: g.groups, IDP: iss, Idtyp: t.Idtyp,
		OID: t.ClientSPID, RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles,
		Sub: t.ClientSPID, TID: t.TenantID, UTI: uti(t.ID), Ver: "1.0", XMSMirid: t.MIResource,
	}
}

// claimsV2 builds the v2.0 claims; aud is always the resource's appId.
func (t appToken) claimsV2(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	g := newGroupsClaims(t.Groups, 2, t.TenantID, servicePrincipalObjects, t.ClientSPID)
	return accessClaimsV2{
		Aud: t.ResourceAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, ClaimNames: g.names, ClaimSources: g.sources,
		AIO: aio(t.ID), AZP: t.ClientAppID, AZPACR: t.ACR, Groups: g.groups, Idtyp: t.Idtyp,
		OID: t.ClientSPID, RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles,
		Sub: t.ClientSPID, TID: t.TenantID, UTI: uti(t.ID), Ver: "2.0", XMSMirid: t.MIResource,
	}
}

// guidBytes returns the 16 bytes of a GUID in Microsoft's mixed-endian
// layout (the first three groups little-endian), the layout Entra's opaque
// claims embed; a malformed GUID hashes instead, so the shape holds. Any
// id whose hex digits, dashes aside, are 32 is a GUID here. It works on
// arrays, not slices: every token derives three claims from it.
func guidBytes(id string) [16]byte {
	var b [16]byte
	n := 0 // hex digits read
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '-' {
			continue
		}
		v, ok := hexValue(c)
		if !ok || n == 32 {
			return [16]byte(hashed(id))
		}
		b[n/2] |= v << (4 * (1 - n%2))
		n++
	}
	if n != 32 {
		return [16]byte(hashed(id))
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

// hashed is the first 16 bytes of id's SHA-256: what guidBytes makes of
// an id that is not a GUID.
func hashed(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:16]
}

// hexValue is the value of the hexadecimal digit c, in either case.
func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// uti is the 22-character base64url token identifier (protocol.md §3.3).
func uti(id string) string {
	b := guidBytes(id)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// aio is an opaque standard-base64 value with padding, as Entra's is;
// derived from the token ID so that it is unique per token and
// deterministic under a fixed ID source.
func aio(id string) string {
	var in [4 + 16]byte
	copy(in[:], "aio:")
	b := guidBytes(id)
	copy(in[4:], b[:])
	sum := sha256.Sum256(in[:])
	return base64.StdEncoding.EncodeToString(sum[:22])
}

// rh is Entra's opaque "0.A…." claim. Entra's embeds the tenant and the
// application ids in its binary form; ours does the same, so it is stable
// per (tenant, resource) as Entra's is.
func rh(tenantID, resourceAppID string) string {
	var raw [3 + 16 + 16 + 2]byte
	raw[0], raw[1], raw[2] = 0x01, 0x1f, 0x00
	t, r := guidBytes(tenantID), guidBytes(resourceAppID)
	copy(raw[3:], t[:])
	copy(raw[19:], r[:])
	// raw ends with two zero bytes.
	enc := base64.RawURLEncoding
	var out [2 + 50 + 1]byte // "0." + 50 base64url characters of 37 bytes + "."
	b := append(out[:0], "0."...)
	b = enc.AppendEncode(b, raw[:])
	return string(append(b, '.'))
}
