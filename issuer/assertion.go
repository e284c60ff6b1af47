package issuer

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/tenant"
)

// clientAssertionTypeJWT is the only client_assertion_type Entra accepts
// (RFC 7523 §2.2).
const clientAssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// appIDACRCertificate is appidacr/azpacr of a client that authenticated with
// a client assertion: a certificate [D], or a federated credential, for
// which protocol.md (§3.3, §7.2) assumes the same "2" [?].
const appIDACRCertificate = "2"

const (
	// assertionSkew is the clock skew allowed on exp and nbf. Entra's is
	// not documented [?]; five minutes is what Entra allows on the tokens
	// it issues (iat/nbf are backdated 300 s) and what common JWT
	// validators default to.
	assertionSkew = 5 * time.Minute
	// maxAssertionLifetime bounds exp - nbf (or iat) of a certificate
	// assertion. Entra "doesn't place restrictions on the exp time
	// currently" (protocol.md §6.1); real clients sign for 10 minutes. We
	// refuse assertions valid for more than a day, which no library
	// produces and which would make a leaked assertion a long-lived
	// credential.
	maxAssertionLifetime = 24 * time.Hour
	// entraTimeLayout is the 7-digit-fraction time of AADSTS700024.
	entraTimeLayout = "2006-01-02T15:04:05.0000000Z"
	// certificateCredentialsDoc ends several of Entra's assertion messages.
	certificateCredentialsDoc = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
)

// assertionAlgorithms are the signature algorithms of client assertions:
// PS256 (MSAL Go, msal-node and MSAL Python with SHA-256 thumbprints) and
// RS256 (SHA-1 thumbprints, ADFS-era clients, external identity providers).
var assertionAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256}

// assertion is a client_assertion parsed but not yet verified.
type assertion struct {
	token  *jwt.JSONWebToken
	header assertionHeader
	claims assertionClaims
}

// assertionHeader holds the JOSE header members that pick the key. They
// are kept as sent; decodeThumbprint reads the thumbprints.
type assertionHeader struct {
	Alg     string `json:"alg"`
	Kid     string `json:"kid"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

// assertionClaims are the claims Entra reads from a client assertion. jti
// is not among them: Entra accepts a repeated jti, and MSAL Python and
// msal-node reuse one assertion for several requests (protocol.md §6.1).
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
}

// errAssertionMalformed is Entra's answer to an assertion it cannot read.
func errAssertionMalformed(cause error) *Error {
	return errorf(CodeAssertionMalformed, "JWT token is invalid or malformed.").wrap(cause)
}

// parseAssertion reads a compact JWS client assertion without verifying
// it. Anything that is not three base64url segments with a JSON header and
// JSON object claims is AADSTS50027; an algorithm other than RS256 or PS256
// (none, HMAC, ECDSA, …) is AADSTS5002738, decided from the header before
// go-jose sees the token so that the refusal says which algorithm it was.
// go-jose's JSON serialisation is not accepted: Entra takes compact JWTs.
func parseAssertion(raw string) (*assertion, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errAssertionMalformed(fmt.Errorf("client assertion has %d segments, not 3", len(parts)))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errAssertionMalformed(fmt.Errorf("client assertion header: %w", err))
	}
	var a assertion
	if err := json.Unmarshal(hb, &a.header); err != nil {
		return nil, errAssertionMalformed(fmt.Errorf("client assertion header: %w", err))
	}
	switch jose.SignatureAlgorithm(a.header.Alg) {
	case jose.RS256, jose.PS256:
	default:
		return nil, errorf(CodeAssertionAlgorithm,
			"Invalid JWT token. '%s' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'", a.header.Alg)
	}
	if a.token, err = jwt.ParseSigned(raw, assertionAlgorithms); err != nil {
		return nil, errAssertionMalformed(fmt.Errorf("client assertion: %w", err))
	}
	if err := a.token.UnsafeClaimsWithoutVerification(&a.claims); err != nil {
		return nil, errAssertionMalformed(fmt.Errorf("client assertion claims: %w", err))
	}
	return &a, nil
}

// missingClaim is AADSTS90014 for a claim the assertion lacks.
func missingClaim(name string) *Error {
	return errorf(CodeAssertionMissingClaim,
		"The required field '%s' is missing from the credential. Ensure that you have all the necessary parameters for the login request.", name)
}

// isFederated tells a federated-credential assertion from a certificate
// assertion. protocol.md (§6.2) marks the rule [?]; ours: an assertion
// whose iss is an absolute URL comes from an external identity provider
// (federated credential issuers are https URLs, client ids are GUIDs);
// any other iss is a certificate assertion, which must then carry the
// client id in iss and sub (AADSTS700021).
func (a *assertion) isFederated() bool {
	u, err := url.Parse(a.claims.Issuer)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// decodeThumbprint decodes an x5t or x5t#S256 header value leniently: real
// libraries send base64url without padding (msal-node), base64url with
// padding (MSAL Python) and standard base64 with padding (MSAL Go), so both
// alphabets are accepted with or without padding (protocol.md §6.1).
func decodeThumbprint(s string, size int) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawURLEncoding
	if strings.ContainsAny(s, "+/") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil || len(b) != size {
		return nil, false
	}
	return b, true
}

// presentedThumbprint is how AADSTS700027 names the key the client used:
// Entra shows the SHA-1 thumbprint in upper-case hex; with only an
// x5t#S256 we show the SHA-256 thumbprint the same way, with only a kid the
// kid.
func (h assertionHeader) presentedThumbprint() string {
	if b, ok := decodeThumbprint(h.X5t, 20); ok {
		return strings.ToUpper(hex.EncodeToString(b))
	}
	if b, ok := decodeThumbprint(h.X5tS256, 32); ok {
		return strings.ToUpper(hex.EncodeToString(b))
	}
	if h.X5t != "" {
		return h.X5t
	}
	if h.X5tS256 != "" {
		return h.X5tS256
	}
	return h.Kid
}

// signatureError is AADSTS700027 with reason.
func signatureError(reason string, h assertionHeader, appID string) *Error {
	return errorf(CodeAssertionSignature,
		"Client assertion failed signature validation. [Reason - %s, Thumbprint of key used by client: '%s', "+
			"Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. %s]",
		reason, h.presentedThumbprint(), appID, certificateCredentialsDoc)
}

// verifyCertificateAssertion authenticates app with a certificate
// assertion (protocol.md §6.1), in this order: a key identifier in the
// header (AADSTS5002723), aud and exp present (90014), iss and sub equal to
// the client id (700021), a single aud naming this token endpoint (50027 /
// 50012), a registered and currently valid certificate (700027), its
// signature (700027), then the validity window (700024).
func (s *Server) verifyCertificateAssertion(a *assertion, auth authority, app *tenant.Application, now time.Time) error {
	h, c := a.header, a.claims
	if h.X5t == "" && h.X5tS256 == "" && h.Kid == "" {
		return errorf(CodeAssertionNoKeyID,
			"Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.")
	}
	switch {
	case len(c.Audience) == 0:
		return missingClaim("aud")
	case c.Expiry == nil:
		return missingClaim("exp")
	}
	if !strings.EqualFold(c.Issuer, app.AppID) || !strings.EqualFold(c.Subject, app.AppID) {
		return errorf(CodeAssertionClient, "Client assertion application identifier doesn't match 'client_id' parameter. %s", certificateCredentialsDoc)
	}
	if len(c.Audience) > 1 {
		// Entra answered AADSTS50027 to an assertion whose aud listed the
		// issuer and the token endpoint (panva/openid-client#348, 2021):
		// aud must name the token endpoint alone.
		return errAssertionMalformed(fmt.Errorf("client assertion aud has %d values", len(c.Audience)))
	}
	if !s.isTokenEndpoint(c.Audience[0], auth) {
		return errorf(CodeAssertionAudience,
			"Client assertion audience claim does not match Realm issuer. The audience must be this tenant's token endpoint, e.g. '%s'.",
			s.cfg.BaseURL+"/"+auth.segment+"/oauth2/v2.0/token")
	}
	cred, found := findKeyCredential(app, h)
	switch {
	case !found:
		return signatureError("The key was not found.", h, app.AppID)
	case now.Before(cred.StartDateTime):
		// Entra refuses assertions signed with a certificate credential
		// outside its validity window with AADSTS700027 as well.
		return signatureError("The key is not yet valid.", h, app.AppID)
	case !now.Before(cred.EndDateTime):
		return signatureError("The key used is expired.", h, app.AppID)
	}
	cert, err := cred.Certificate()
	if err != nil {
		return serverError(err)
	}
	if err := a.token.Claims(cert.PublicKey); err != nil {
		return signatureError("The provided signature value did not match the expected signature value.", h, app.AppID).wrap(err)
	}
	return checkAssertionTimes(c, now, maxAssertionLifetime)
}

// findKeyCredential picks the certificate credential the header names: by
// x5t#S256, else x5t, else kid = the credential's keyId (the "keyId" of
// AADSTS5002723's message [?]). Each identifier must match what is
// registered; one that is present but unknown is not replaced by another.
func findKeyCredential(app *tenant.Application, h assertionHeader) (tenant.KeyCredential, bool) {
	switch {
	case h.X5tS256 != "":
		if sum, ok := decodeThumbprint(h.X5tS256, 32); ok {
			return app.KeyCredentialBySHA256(sum)
		}
	case h.X5t != "":
		if sum, ok := decodeThumbprint(h.X5t, 20); ok {
			return app.KeyCredentialBySHA1(sum)
		}
	default:
		return app.KeyCredentialByID(h.Kid)
	}
	return tenant.KeyCredential{}, false
}

// checkAssertionTimes applies exp and nbf with assertionSkew and, when
// maxLifetime is not zero, the lifetime bound; any failure is
// AADSTS700024, whose message quotes the times as Entra does (nbf absent
// shows as the epoch).
func checkAssertionTimes(c assertionClaims, now time.Time, maxLifetime time.Duration) error {
	exp := c.Expiry.Time()
	var nbf time.Time
	if c.NotBefore != nil {
		nbf = c.NotBefore.Time()
	}
	var reason string
	switch {
	case now.After(exp.Add(assertionSkew)):
		reason = "The assertion has expired."
	case c.NotBefore != nil && nbf.After(now.Add(assertionSkew)):
		reason = "The assertion is not valid yet."
	case maxLifetime > 0 && exp.Sub(assertionStart(c, now)) > maxLifetime:
		reason = fmt.Sprintf("The assertion is valid for more than %s; this issuer refuses longer-lived assertions.", maxLifetime)
	default:
		return nil
	}
	from := time.Unix(0, 0)
	if c.NotBefore != nil {
		from = nbf
	}
	return errorf(CodeAssertionLifetime,
		"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. %s %s",
		now.UTC().Format(entraTimeLayout), from.UTC().Format(entraTimeLayout), exp.UTC().Format(entraTimeLayout), reason, certificateCredentialsDoc)
}

// assertionStart is where an assertion's lifetime begins: nbf, else iat
// (MSAL Python sends iat only), else now.
func assertionStart(c assertionClaims, now time.Time) time.Time {
	switch {
	case c.NotBefore != nil:
		return c.NotBefore.Time()
	case c.IssuedAt != nil:
		return c.IssuedAt.Time()
	}
	return now
}

// entraHosts are the public-cloud authority hosts (protocol.md §1.1); with
// Config.EntraIssuers an assertion audience may name any of them, as
// ADAL-era clients wrote login.windows.net.
var entraHosts = []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}

// isTokenEndpoint reports whether aud names this server's token endpoint
// for the authority of the request: the v1 or v2 path, the tenant as its
// GUID or any of its domains (the docs' example uses the domain, MSAL Go
// the GUID from discovery, msal-node the name it was configured with), in
// any letter case, on the configured host (plus Microsoft's hosts with
// EntraIssuers). Entra's exact accepted set is undocumented [?]
// (protocol.md §6.1).
func (s *Server) isTokenEndpoint(aud string, auth authority) bool {
	u, err := url.Parse(aud)
	if err != nil || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return false
	}
	base, _ := url.Parse(s.cfg.BaseURL) // validated by Config.withDefaults
	if !strings.EqualFold(u.Scheme, base.Scheme) {
		return false
	}
	host := hostKey(u)
	hostOK := host == hostKey(base)
	for _, h := range entraHosts {
		hostOK = hostOK || s.cfg.EntraIssuers && host == h
	}
	if !hostOK {
		return false
	}
	segment, rest, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || !tenant.EqualFoldASCII(rest, "oauth2/token") && !tenant.EqualFoldASCII(rest, "oauth2/v2.0/token") {
		return false
	}
	if auth.kind != tenantAuthority {
		return tenant.EqualFoldASCII(segment, auth.segment)
	}
	if tenant.EqualFoldASCII(segment, auth.tenant.ID) {
		return true
	}
	for _, d := range auth.tenant.Domains {
		if tenant.EqualFoldASCII(segment, d) {
			return true
		}
	}
	return false
}

// hostKey is u's host in lower case without the scheme's default port.
func hostKey(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch {
	case u.Port() == "443" && strings.EqualFold(u.Scheme, "https"):
		return strings.TrimSuffix(host, ":443")
	case u.Port() == "80" && strings.EqualFold(u.Scheme, "http"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}
