package issuer

import (
	"crypto/rsa"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/tenant"
)

// userAssertionClaims are the members of an on-behalf-of assertion the grant
// reads. Only a token this issuer signed gets this far, so they are ours:
// an access token (v1 or v2, app-only or delegated) or a v2 id_token.
type userAssertionClaims struct {
	Aud               jwt.Audience     `json:"aud"`
	Iss               string           `json:"iss"`
	Nbf               *jwt.NumericDate `json:"nbf"`
	Exp               *jwt.NumericDate `json:"exp"`
	AppID             string           `json:"appid"` // v1 access tokens
	AZP               string           `json:"azp"`   // v2 access tokens
	Idtyp             string           `json:"idtyp"`
	OID               string           `json:"oid"`
	Scp               string           `json:"scp"`
	Roles             []string         `json:"roles"`
	TID               string           `json:"tid"`
	Ver               string           `json:"ver"`
	UPN               string           `json:"upn"`                // v1, for messages
	PreferredUsername string           `json:"preferred_username"` // v2, for messages
}

// userName is how Entra's messages name the assertion's user.
func (a userAssertionClaims) userName() string { return or(or(a.UPN, a.PreferredUsername), a.OID) }

// isIDToken reports whether the assertion is an id_token: ours carry
// neither appid nor azp, which every access token has. Entra refuses
// id_tokens with AADSTS240002.
func (a userAssertionClaims) isIDToken() bool { return a.AppID == "" && a.AZP == "" }

// isAppOnly reports whether the assertion represents no user: an app-only
// token has roles at most, never scp, and idtyp "app" when the resource
// asked for that optional claim. Entra refuses it with AADSTS7000114.
func (a userAssertionClaims) isAppOnly() bool { return a.Scp == "" || a.Idtyp == "app" }

// errUserAssertion is AADSTS50013 with Entra's "[Reason - …]" form.
func errUserAssertion(reason string) *Error {
	return errorf(CodeAssertionInvalid, "Assertion failed signature validation. [Reason - %s]", reason)
}

// parseUserAssertion checks that raw is a compact JWS this issuer signed and
// decodes its claims; key returns the published key of a kid, or nil.
//
//   - Only RS256 is accepted, which is what we sign with: go-jose refuses
//     every other alg before any key is involved, so "alg":"none" and
//     HS256 tokens (whose "key" an attacker would pick) never verify.
//   - The key comes from the header's kid among the keys we publish; no
//     kid, or an unknown one, is refused, as Entra does ("The key was not
//     found").
//   - iss must be our issuer of the token's version for its tid.
//
// Every refusal is AADSTS50013 invalid_grant. Entra answers a token that is
// not a JWT at all with the same code in some captures and with
// AADSTS9002313 in others; we keep 50013, whose `error` (invalid_grant)
// is the one MSAL treats as "sign the user in again", and whose message
// says why.
func parseUserAssertion(raw string, key func(kid string) *rsa.PublicKey, issuer func(version int, tid string) string) (userAssertionClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return userAssertionClaims{}, errUserAssertion("The assertion is not a JWT signed with RS256.").wrap(err)
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return userAssertionClaims{}, errUserAssertion("The token header names no key (kid).")
	}
	pub := key(kid)
	if pub == nil {
		return userAssertionClaims{}, errUserAssertion("The key was not found., Key id of the token: '" + kid + "'.")
	}
	var c userAssertionClaims
	if err := tok.Claims(pub, &c); err != nil {
		return userAssertionClaims{}, errUserAssertion("The signature or the claims of the token are not valid.").wrap(err)
	}
	version := 0
	switch c.Ver {
	case "1.0":
		version = 1
	case "2.0":
		version = 2
	}
	switch {
	case version == 0 || !tenant.IsGUID(c.TID) || c.Iss != issuer(version, c.TID):
		return userAssertionClaims{}, errUserAssertion("The token was not issued by this issuer for its tenant (iss, tid, ver).")
	case len(c.Aud) != 1 || c.Exp == nil:
		return userAssertionClaims{}, errUserAssertion("The token has no single aud or no exp.")
	}
	return c, nil
}

// checkAssertionTime refuses an assertion outside its valid time range at
// now with AADSTS500133. There is no clock-skew allowance: Entra's is not
// documented, and our tokens' nbf is backdated five minutes already.
func checkAssertionTime(c userAssertionClaims, now time.Time) error {
	exp := c.Exp.Time()
	if !now.Before(exp) || c.Nbf != nil && now.Before(c.Nbf.Time()) {
		return errorf(CodeAssertionExpired,
			"Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, "+
				"or request a new token. Current time: %s, expiry time of assertion %s.", entraTime(now), entraTime(exp))
	}
	return nil
}

// entraTime formats t as Entra's messages do: ISO 8601 with seven fraction
// digits, UTC.
func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
