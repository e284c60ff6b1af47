package issuer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// userAccessClaimsV1 is a delegated v1.0 access token, members in Entra's
// order: aud, iss, iat, nbf, exp, then alphabetical (protocol.md §3.3).
// family_name and given_name would sit between appidacr and name; the
// directory knows no given name or surname, so they are never sent, as
// Entra sends them only when set. ipaddr (the client's address) is left
// out: the issuer sees loopback addresses only, and Entra makes it
// optional in v2 anyway. idtyp is absent: Entra sends it only when the
// resource configured that optional claim.
type userAccessClaimsV1 struct {
	Aud        string   `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	ACR        string   `json:"acr"`
	AIO        string   `json:"aio"`
	AMR        []string `json:"amr"`
	AppID      string   `json:"appid"`
	AppIDACR   string   `json:"appidacr"`
	Name       string   `json:"name"`
	OID        string   `json:"oid"`
	RH         string   `json:"rh"`
	Roles      []string `json:"roles,omitempty"`
	Scp        string   `json:"scp"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	UniqueName string   `json:"unique_name"`
	UPN        string   `json:"upn"`
	UTI        string   `json:"uti"`
	Ver        string   `json:"ver"`
}

// userAccessClaimsV2 is a delegated v2.0 access token, in Entra's order
// (protocol.md §3.8). upn, unique_name, acr and amr are v1 claims (optional
// claims in v2); preferred_username carries the UPN.
type userAccessClaimsV2 struct {
	Aud               string   `json:"aud"`
	Iss               string   `json:"iss"`
	Iat               int64    `json:"iat"`
	Nbf               int64    `json:"nbf"`
	Exp               int64    `json:"exp"`
	AIO               string   `json:"aio"`
	AZP               string   `json:"azp"`
	AZPACR            string   `json:"azpacr"`
	Name              string   `json:"name"`
	OID               string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	RH                string   `json:"rh"`
	Roles             []string `json:"roles,omitempty"`
	Scp               string   `json:"scp"`
	Sub               string   `json:"sub"`
	TID               string   `json:"tid"`
	UTI               string   `json:"uti"`
	Ver               string   `json:"ver"`
}

// idTokenClaimsV2 is the v2 endpoint's id_token: signed, aud = the client
// (protocol.md §3.3).
type idTokenClaimsV2 struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	AIO               string `json:"aio"`
	CHash             string `json:"c_hash,omitempty"`
	Name              string `json:"name"`
	Nonce             string `json:"nonce,omitempty"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	RH                string `json:"rh"`
	Sub               string `json:"sub"`
	TID               string `json:"tid"`
	UTI               string `json:"uti"`
	Ver               string `json:"ver"`
}

// idTokenClaimsV1 is the v1 endpoint's id_token, which Entra does not sign
// (alg none; protocol.md §3.3). family_name, given_name and ipaddr are left
// out for the reasons given on userAccessClaimsV1.
type idTokenClaimsV1 struct {
	Aud        string   `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	AMR        []string `json:"amr"`
	CHash      string   `json:"c_hash,omitempty"`
	Name       string   `json:"name"`
	Nonce      string   `json:"nonce,omitempty"`
	OID        string   `json:"oid"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	UniqueName string   `json:"unique_name"`
	UPN        string   `json:"upn"`
	Ver        string   `json:"ver"`
}

// userACR is acr: "1" means the user authenticated with a password (and no
// second factor), which is the only way users sign in here.
const userACR = "1"

// passwordAMR is amr. Every sign-in this issuer knows (the password grant,
// and `issuer token user`, which stands for an interactive password
// sign-in) is a password, so every delegated token says ["pwd"]; an OBO
// token would carry the assertion's amr over, which is this same value.
var passwordAMR = []string{"pwd"}

// userToken is a delegated access token: issued in the user's tenant, with
// the user's roles on the resource.
type userToken struct {
	access
	User   tenant.User
	Scopes []string // scp
}

func (t userToken) claimsV1(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	return userAccessClaimsV1{
		Aud: t.ResourceName, Iss: iss, Iat: iat, Nbf: iat, Exp: exp,
		ACR: userACR, AIO: aio(t.ID), AMR: passwordAMR, AppID: t.ClientAppID, AppIDACR: t.ACR,
		Name: t.User.DisplayName, OID: t.User.ID, RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles,
		Scp: strings.Join(t.Scopes, " "), Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ResourceAppID), TID: t.TenantID,
		UniqueName: t.User.UserPrincipalName, UPN: t.User.UserPrincipalName, UTI: uti(t.ID), Ver: "1.0",
	}
}

func (t userToken) claimsV2(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	return userAccessClaimsV2{
		Aud: t.ResourceAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp,
		AIO: aio(t.ID), AZP: t.ClientAppID, AZPACR: t.ACR,
		Name: t.User.DisplayName, OID: t.User.ID, PreferredUsername: t.User.UserPrincipalName,
		RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles, Scp: strings.Join(t.Scopes, " "),
		Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ResourceAppID), TID: t.TenantID, UTI: uti(t.ID), Ver: "2.0",
	}
}

// idToken is what an id_token is built from: the user, the client it is
// for, and its own ID.
type idToken struct {
	TenantID    string
	ClientAppID string // aud, and the audience of the pairwise sub
	User        tenant.User
	Issued      time.Time
	Lifetime    time.Duration
	ID          string
	// Nonce is the authorization request's nonce, echoed for the client
	// to check (OpenID Connect Core §3.1.3.7); CHash is c_hash of the
	// code an id_token travels with (response_type=code id_token).
	Nonce, CHash string
}

func (t idToken) claimsV2(iss string) idTokenClaimsV2 {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	return idTokenClaimsV2{
		Aud: t.ClientAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, AIO: aio(t.ID), CHash: t.CHash,
		Name: t.User.DisplayName, Nonce: t.Nonce, OID: t.User.ID, PreferredUsername: t.User.UserPrincipalName,
		RH: rh(t.TenantID, t.ClientAppID), Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ClientAppID),
		TID: t.TenantID, UTI: uti(t.ID), Ver: "2.0",
	}
}

func (t idToken) claimsV1(iss string) idTokenClaimsV1 {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	return idTokenClaimsV1{
		Aud: t.ClientAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, AMR: passwordAMR, CHash: t.CHash,
		Name: t.User.DisplayName, Nonce: t.Nonce, OID: t.User.ID, Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ClientAppID),
		TID: t.TenantID, UniqueName: t.User.UserPrincipalName, UPN: t.User.UserPrincipalName, Ver: "1.0",
	}
}

// pairwiseKey keys the hash behind sub. Entra's user sub is an opaque
// pairwise identifier: stable for one user and one audience, different for
// another audience, so that two applications cannot correlate users by it
// (protocol.md §3.3). A keyed hash of (tenant, user, audience) has those
// properties. The key is fixed rather than a per-installation secret: the
// unlinkability it would buy protects no one in a local emulator, while a
// fixed key keeps sub the same across databases and runs, which tests of
// the APIs under test can rely on.
var pairwiseKey = []byte("issuer: pairwise subject identifier, v1")

// pairwiseSubject is sub for a user and an audience (an appId): 43
// base64url characters, as Entra's.
func pairwiseSubject(tenantID, userID, audienceAppID string) string {
	m := hmac.New(sha256.New, pairwiseKey)
	m.Write(guidBytes(tenantID))
	m.Write(guidBytes(userID))
	m.Write(guidBytes(audienceAppID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// clientInfo is the client_info member MSAL asks for with client_info=1:
// unpadded base64url of {"uid":oid,"utid":tid}, from which it builds the
// account id uid.utid (protocol.md §1.7).
func clientInfo(u tenant.User) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{u.ID, u.TenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// unsignedHeader is the header of Entra's v1 id_token.
var unsignedHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`))

// unsignedJWT returns claims as an unsecured JWT (RFC 7519 §6): the header,
// the payload and an empty signature, which is how Entra's v1 endpoint
// hands out id_tokens.
func unsignedJWT(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("issuer: encoding id_token claims: %w", err)
	}
	return unsignedHeader + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", nil
}
