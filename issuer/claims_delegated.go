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
// family_name and given_name are v1 claims Entra sends when the user has
// them. ipaddr (the client's address) is left out: the issuer sees
// loopback addresses only. The other claims with omitempty are the
// resource's optional claims (optionalClaims).
type userAccessClaimsV1 struct {
	Aud          string        `json:"aud"`
	Iss          string        `json:"iss"`
	Iat          int64         `json:"iat"`
	Nbf          int64         `json:"nbf"`
	Exp          int64         `json:"exp"`
	ClaimNames   *claimNames   `json:"_claim_names,omitempty"`
	ClaimSources *claimSources `json:"_claim_sources,omitempty"`
	Acct         *int          `json:"acct,omitempty"`
	ACR          string        `json:"acr"`
	AIO          string        `json:"aio"`
	AMR          []string      `json:"amr"`
	AppID        string        `json:"appid"`
	AppIDACR     string        `json:"appidacr"`
	Ctry         string        `json:"ctry,omitempty"`
	Email        string        `json:"email,omitempty"`
	FamilyName   string        `json:"family_name,omitempty"`
	GivenName    string        `json:"given_name,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	Idtyp        string        `json:"idtyp,omitempty"`
	Name         string        `json:"name"`
	OID          string        `json:"oid"`
	RH           string        `json:"rh"`
	Roles        []string      `json:"roles,omitempty"`
	Scp          string        `json:"scp"`
	Sub          string        `json:"sub"`
	TID          string        `json:"tid"`
	UniqueName   string        `json:"unique_name"`
	UPN          string        `json:"upn"`
	UTI          string        `json:"uti"`
	Ver          string        `json:"ver"`
	WIDs         []string      `json:"wids,omitempty"`
}

// userAccessClaimsV2 is a delegated v2.0 access token, in Entra's order
// (protocol.md §3.8). unique_name, acr and amr are v1 claims;
// preferred_username carries the UPN. The claims with omitempty are the
// resource's optional claims (optionalClaims), upn among them.
type userAccessClaimsV2 struct {
	Aud               string        `json:"aud"`
	Iss               string        `json:"iss"`
	Iat               int64         `json:"iat"`
	Nbf               int64         `json:"nbf"`
	Exp               int64         `json:"exp"`
	ClaimNames        *claimNames   `json:"_claim_names,omitempty"`
	ClaimSources      *claimSources `json:"_claim_sources,omitempty"`
	Acct              *int          `json:"acct,omitempty"`
	AIO               string        `json:"aio"`
	AZP               string        `json:"azp"`
	AZPACR            string        `json:"azpacr"`
	Ctry              string        `json:"ctry,omitempty"`
	Email             string        `json:"email,omitempty"`
	FamilyName        string        `json:"family_name,omitempty"`
	GivenName         string        `json:"given_name,omitempty"`
	Groups            []string      `json:"groups,omitempty"`
	Idtyp             string        `json:"idtyp,omitempty"`
	Name              string        `json:"name"`
	OID               string        `json:"oid"`
	PreferredUsername string        `json:"preferred_username"`
	RH                string        `json:"rh"`
	Roles             []string      `json:"roles,omitempty"`
	Scp               string        `json:"scp"`
	Sub               string        `json:"sub"`
	TID               string        `json:"tid"`
	UPN               string        `json:"upn,omitempty"`
	UTI               string        `json:"uti"`
	Ver               string        `json:"ver"`
	WIDs              []string      `json:"wids,omitempty"`
}

// idTokenClaimsV2 is the v2 endpoint's id_token: signed, aud = the client
// (protocol.md §3.3). The claims with omitempty are the client's optional
// claims (optionalClaims.idToken) and, from its groupMembershipClaims,
// groups (or the overage claims) and wids.
type idTokenClaimsV2 struct {
	Aud               string        `json:"aud"`
	Iss               string        `json:"iss"`
	Iat               int64         `json:"iat"`
	Nbf               int64         `json:"nbf"`
	Exp               int64         `json:"exp"`
	ClaimNames        *claimNames   `json:"_claim_names,omitempty"`
	ClaimSources      *claimSources `json:"_claim_sources,omitempty"`
	Acct              *int          `json:"acct,omitempty"`
	AIO               string        `json:"aio"`
	CHash             string        `json:"c_hash,omitempty"`
	Ctry              string        `json:"ctry,omitempty"`
	Email             string        `json:"email,omitempty"`
	FamilyName        string        `json:"family_name,omitempty"`
	GivenName         string        `json:"given_name,omitempty"`
	Groups            []string      `json:"groups,omitempty"`
	HasGroups         bool          `json:"hasgroups,omitempty"`
	LoginHint         string        `json:"login_hint,omitempty"`
	Name              string        `json:"name"`
	Nonce             string        `json:"nonce,omitempty"`
	OID               string        `json:"oid"`
	PreferredUsername string        `json:"preferred_username"`
	RH                string        `json:"rh"`
	Roles             []string      `json:"roles,omitempty"`
	Sub               string        `json:"sub"`
	TID               string        `json:"tid"`
	UPN               string        `json:"upn,omitempty"`
	UTI               string        `json:"uti"`
	Ver               string        `json:"ver"`
	WIDs              []string      `json:"wids,omitempty"`
}

// idTokenClaimsV1 is the v1 endpoint's id_token, which Entra does not sign
// (alg none; protocol.md §3.3). family_name and given_name are sent when
// the user has them, as in v1 access tokens; ipaddr is left out for the
// reason given on userAccessClaimsV1; the other claims with omitempty are
// the client's optional claims. From the token endpoint it carries no
// groups whatever the client's groupMembershipClaims: Microsoft's developer
// support team notes that ID tokens from the v1 token endpoint
// (/oauth2/token) do not contain the groups claim (aaddevsup, "Using
// groups claim in Azure Active Directory", 2019); the authorization
// endpoint's carries them as a front-channel token does (idToken.groups).
type idTokenClaimsV1 struct {
	Aud        string   `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	Acct       *int     `json:"acct,omitempty"`
	AMR        []string `json:"amr"`
	CHash      string   `json:"c_hash,omitempty"`
	Ctry       string   `json:"ctry,omitempty"`
	Email      string   `json:"email,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	HasGroups  bool     `json:"hasgroups,omitempty"`
	LoginHint  string   `json:"login_hint,omitempty"`
	Name       string   `json:"name"`
	Nonce      string   `json:"nonce,omitempty"`
	OID        string   `json:"oid"`
	Roles      []string `json:"roles,omitempty"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	UniqueName string   `json:"unique_name"`
	UPN        string   `json:"upn"`
	Ver        string   `json:"ver"`
}

// userClaims are the optional user claims of one token: the values of the
// claims the application asked for (optionalClaims of kind) that the user
// has. v1 tokens carry given_name and family_name whenever they are set.
type userClaims struct {
	acct                                      *int
	ctry, email, familyName, givenName, idtyp string
	loginHint, upn                            string
}

// optionalUserClaims picks the user claims app asks for in tokens of kind
// (Microsoft's optional claims reference: email "if the user has one",
// ctry when it is a two-letter code, acct 0 for a member of the tenant,
// idtyp "user" in access tokens of a user).
func optionalUserClaims(app *tenant.Application, kind string, version int, u tenant.User) userClaims {
	want := func(name string) bool { return app != nil && app.OptionalClaim(kind, name) }
	var c userClaims
	if want("acct") {
		member := 0
		c.acct = &member
	}
	if want("ctry") {
		c.ctry = u.Country
	}
	if want("email") {
		c.email = u.Mail
	}
	if version == 1 || want("family_name") {
		c.familyName = u.Surname
	}
	if version == 1 || want("given_name") {
		c.givenName = u.GivenName
	}
	if kind == tenant.TokenTypeAccess && want("idtyp") {
		c.idtyp = "user"
	}
	if kind == tenant.TokenTypeID && want("login_hint") {
		c.loginHint = loginHint(u)
	}
	if want("upn") {
		c.upn = u.UserPrincipalName
	}
	return c
}

// loginHint is login_hint: Entra documents it as an opaque, reliable hint
// to send back as login_hint; ours is base64url JSON of the user's object
// id, tenant and UPN, which is what a hint needs to name the account.
func loginHint(u tenant.User) string {
	b, _ := json.Marshal(struct {
		OID string `json:"oid"`
		TID string `json:"tid"`
		UPN string `json:"upn"`
	}{u.ID, u.TenantID, u.UserPrincipalName})
	return base64.RawURLEncoding.EncodeToString(b)
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
	User     tenant.User
	Scopes   []string // scp
	Optional userClaims
	WIDs     []string // the user's directory roles, when the resource asks (wids)
}

func (t userToken) claimsV1(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	o := t.Optional
	g := newGroupsClaims(t.Groups, 1, t.TenantID, userObjects, t.User.ID)
	return userAccessClaimsV1{
		Aud: t.ResourceName, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, ClaimNames: g.names, ClaimSources: g.sources, Acct: o.acct,
		ACR: userACR, AIO: aio(t.ID), AMR: passwordAMR, AppID: t.ClientAppID, AppIDACR: t.ACR,
		Ctry: o.ctry, Email: o.email, FamilyName: o.familyName, GivenName: o.givenName, Groups: g.groups, Idtyp: o.idtyp,
		Name: t.User.DisplayName, OID: t.User.ID, RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles,
		Scp: strings.Join(t.Scopes, " "), Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ResourceAppID), TID: t.TenantID,
		UniqueName: t.User.UserPrincipalName, UPN: t.User.UserPrincipalName, UTI: uti(t.ID), Ver: "1.0", WIDs: t.WIDs,
	}
}

func (t userToken) claimsV2(iss string) any {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	o := t.Optional
	g := newGroupsClaims(t.Groups, 2, t.TenantID, userObjects, t.User.ID)
	return userAccessClaimsV2{
		Aud: t.ResourceAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, ClaimNames: g.names, ClaimSources: g.sources, Acct: o.acct,
		AIO: aio(t.ID), AZP: t.ClientAppID, AZPACR: t.ACR,
		Ctry: o.ctry, Email: o.email, FamilyName: o.familyName, GivenName: o.givenName, Groups: g.groups, Idtyp: o.idtyp,
		Name: t.User.DisplayName, OID: t.User.ID, PreferredUsername: t.User.UserPrincipalName,
		RH: rh(t.TenantID, t.ResourceAppID), Roles: t.Roles, Scp: strings.Join(t.Scopes, " "),
		Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ResourceAppID), TID: t.TenantID, UPN: o.upn, UTI: uti(t.ID), Ver: "2.0",
		WIDs: t.WIDs,
	}
}

// idToken is what an id_token is built from: the user, the client it is
// for, and its own ID.
type idToken struct {
	TenantID    string
	ClientAppID string // aud, and the audience of the pairwise sub
	User        tenant.User
	Optional    userClaims
	Issued      time.Time
	Lifetime    time.Duration
	ID          string
	// Nonce is the authorization request's nonce, echoed for the client
	// to check (OpenID Connect Core §3.1.3.7); CHash is c_hash of the
	// code an id_token travels with (response_type=code id_token).
	Nonce, CHash string
	// Groups and WIDs are the user's groups and directory roles that the
	// client's groupMembershipClaims selects (consent.Facts.IDGroups,
	// wids); see groups for where they go.
	Groups, WIDs []string
	// Roles are the client's app roles the user holds
	// (consent.IDTokenRoles). GroupsAsRoles: the client's groups optional
	// claim says emit_as_roles, so the groups go into roles in their
	// place (asRoles).
	Roles         []string
	GroupsAsRoles bool
	// FrontChannel: the authorization endpoint sends the id_token through
	// the browser, in the redirect (response_type=code id_token).
	FrontChannel bool
}

// maxGroupsFrontChannel is how many groups an id_token sent through the
// browser lists; with more it says "hasgroups": true instead, for the
// client to ask Graph. Entra's group claims guide: "Group claims have a
// five-group limit if the token is issued through the implicit flow", and
// such tokens have "hasgroups": true "only if the user is in more than five
// groups", which keeps the URL within its length limit.
const maxGroupsFrontChannel = 5

// groups returns the groups claims of an id_token of version, hasgroups,
// and its wids: through the browser, at most maxGroupsFrontChannel groups
// (else hasgroups) and no wids, which Entra documents as possibly absent
// from implicit-flow tokens for their length; from the token endpoint, the
// groups (or the overage claims) and wids of v2, and nothing in v1
// (idTokenClaimsV1).
func (t idToken) groups(version int) (g groupsClaims, hasGroups bool, wids []string) {
	switch {
	case t.FrontChannel && len(t.Groups) > maxGroupsFrontChannel:
		return groupsClaims{}, true, nil
	case t.FrontChannel:
		return groupsClaims{groups: t.Groups}, false, nil
	case version == 1:
		return groupsClaims{}, false, nil
	}
	return newGroupsClaims(t.Groups, version, t.TenantID, userObjects, t.User.ID), false, t.WIDs
}

// groupsAndRoles is groups with the roles claim: the user's roles, or the
// groups themselves when the client lists them as roles (emit_as_roles),
// unless hasgroups stands for them.
func (t idToken) groupsAndRoles(version int) (g groupsClaims, hasGroups bool, roles, wids []string) {
	g, hasGroups, wids = t.groups(version)
	roles = t.Roles
	if t.GroupsAsRoles && !hasGroups {
		roles, g.groups = asRoles(g.groups)
	}
	return g, hasGroups, roles, wids
}

func (t idToken) claimsV2(iss string) idTokenClaimsV2 {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	o := t.Optional
	g, hasGroups, roles, wids := t.groupsAndRoles(2)
	return idTokenClaimsV2{
		Aud: t.ClientAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, ClaimNames: g.names, ClaimSources: g.sources,
		Acct: o.acct, AIO: aio(t.ID), CHash: t.CHash, Ctry: o.ctry, Email: o.email, FamilyName: o.familyName,
		GivenName: o.givenName, Groups: g.groups, HasGroups: hasGroups, LoginHint: o.loginHint,
		Name: t.User.DisplayName, Nonce: t.Nonce, OID: t.User.ID, PreferredUsername: t.User.UserPrincipalName,
		RH: rh(t.TenantID, t.ClientAppID), Roles: roles, Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ClientAppID),
		TID: t.TenantID, UPN: o.upn, UTI: uti(t.ID), Ver: "2.0", WIDs: wids,
	}
}

func (t idToken) claimsV1(iss string) idTokenClaimsV1 {
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	o := t.Optional
	g, hasGroups, roles, _ := t.groupsAndRoles(1)
	return idTokenClaimsV1{
		Aud: t.ClientAppID, Iss: iss, Iat: iat, Nbf: iat, Exp: exp, Acct: o.acct, AMR: passwordAMR, CHash: t.CHash,
		Ctry: o.ctry, Email: o.email, FamilyName: o.familyName, GivenName: o.givenName, Groups: g.groups, HasGroups: hasGroups,
		LoginHint: o.loginHint,
		Name:      t.User.DisplayName, Nonce: t.Nonce, OID: t.User.ID, Roles: roles, Sub: pairwiseSubject(t.TenantID, t.User.ID, t.ClientAppID),
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
	for _, id := range [...]string{tenantID, userID, audienceAppID} {
		b := guidBytes(id)
		m.Write(b[:])
	}
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
