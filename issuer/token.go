package issuer

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// tokenResponseV2 is the v2 endpoint's answer, members in Entra's order
// (protocol.md §2.2, §3.8, §3.9): numbers; app-only answers have no scope
// and no refresh token, user flows add scope and, when asked for,
// refresh_token, id_token and client_info.
type tokenResponseV2 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// tokenResponseV1 is the v1 endpoint's answer: every member a string, with
// expires_on, not_before and the requested resource echoed; user flows add
// scope (scp values, no resource prefix), refresh_token and id_token
// (protocol.md §2.3).
type tokenResponseV1 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// issued is a signed access token with what the response reports of it.
type issued struct {
	token     string
	lifetime  int64 // expires_in, seconds
	notBefore int64
	expiresOn int64
	resource  string // the resource as requested, for the v1 response

	// User flows only; empty members are left out of the response.
	scope        string // already in the form of the endpoint called
	refreshToken string
	idToken      string
	clientInfo   string
}

// response shapes t for the endpoint the client called; the token inside
// may be of either version.
func (t issued) response(endpoint int) any {
	if endpoint == 1 {
		return tokenResponseV1{
			TokenType: "Bearer", Scope: t.scope,
			ExpiresIn: strconv.FormatInt(t.lifetime, 10), ExtExpiresIn: strconv.FormatInt(t.lifetime, 10),
			ExpiresOn: strconv.FormatInt(t.expiresOn, 10), NotBefore: strconv.FormatInt(t.notBefore, 10),
			Resource: t.resource, AccessToken: t.token,
			RefreshToken: t.refreshToken, IDToken: t.idToken, ClientInfo: t.clientInfo,
		}
	}
	return tokenResponseV2{
		TokenType: "Bearer", Scope: t.scope, ExpiresIn: t.lifetime, ExtExpiresIn: t.lifetime, AccessToken: t.token,
		RefreshToken: t.refreshToken, IDToken: t.idToken, ClientInfo: t.clientInfo,
	}
}

// appendJSON appends to b the JSON of t.response(endpoint), byte for byte
// what marshalJSON writes, when no string of t needs escaping in JSON
// (printable ASCII without quote or backslash: tokens, GUIDs, numbers,
// most resource URIs). ok is false otherwise, and the caller encodes
// t.response(endpoint) with encoding/json. The token endpoint answers
// every token this way, and encoding/json's reflection and buffers were a
// tenth of what a token costs besides its signature.
func (t issued) appendJSON(b []byte, endpoint int) (_ []byte, ok bool) {
	if !plainJSON(t.token) || !plainJSON(t.scope) || !plainJSON(t.resource) ||
		!plainJSON(t.refreshToken) || !plainJSON(t.idToken) || !plainJSON(t.clientInfo) {
		return nil, false
	}
	// Members in the order and with the omissions of tokenResponseV1 and
	// tokenResponseV2.
	b = append(b, `{"token_type":"Bearer"`...)
	b = appendMember(b, "scope", t.scope, true)
	v1 := endpoint == 1 // v1 writes numbers as strings
	b = appendIntMember(b, "expires_in", t.lifetime, v1)
	b = appendIntMember(b, "ext_expires_in", t.lifetime, v1)
	if v1 {
		b = appendIntMember(b, "expires_on", t.expiresOn, true)
		b = appendIntMember(b, "not_before", t.notBefore, true)
		b = appendMember(b, "resource", t.resource, false)
	}
	b = appendMember(b, "access_token", t.token, false)
	b = appendMember(b, "refresh_token", t.refreshToken, true)
	b = appendMember(b, "id_token", t.idToken, true)
	b = appendMember(b, "client_info", t.clientInfo, true)
	return append(b, '}'), true
}

// jsonSize is about the length of t's answer, for appendJSON's buffer.
func (t issued) jsonSize() int {
	return 192 + len(t.token) + len(t.scope) + len(t.resource) + len(t.refreshToken) + len(t.idToken) + len(t.clientInfo)
}

// appendMember appends ,"name":"value"; omitEmpty leaves out an empty
// value, as the omitempty option does. value must be plainJSON.
func appendMember(b []byte, name, value string, omitEmpty bool) []byte {
	if omitEmpty && value == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	b = append(b, value...)
	return append(b, '"')
}

// appendIntMember appends ,"name":n, or ,"name":"n" when quoted.
func appendIntMember(b []byte, name string, n int64, quoted bool) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	if !quoted {
		return strconv.AppendInt(b, n, 10)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '"')
}

// plainJSON reports whether s is the same inside a JSON string: printable
// ASCII but the quote and the backslash, which encoding/json writes
// unchanged (with HTML escaping off, as marshalJSON has it).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlainByte[s[i]] {
			return false
		}
	}
	return true
}

// jsonPlainByte tells plainJSON's bytes, in a table: the loop runs over
// every byte of a token.
var jsonPlainByte = func() (plain [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	return plain
}()

// handleToken serves POST /{tenant}/oauth2/token (endpoint 1) and
// /{tenant}/oauth2/v2.0/token (endpoint 2). It parses, calls token, and
// writes the answer; the rules live in the grants. Every outcome is
// recorded in the sign-in log here, once, with what the grant resolved.
func (s *Server) handleToken(endpoint int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant = ps.ByName("tenant")
		t, err := s.issue(w, r, c, endpoint)
		if err != nil {
			s.writeError(w, c, tokenSurface, err)
		} else {
			// Debug, not info: a line per token is measurable CPU
			// under load; refusals are logged at info (Server.log).
			// Asked first, so that a disabled level costs no
			// allocation of the arguments.
			if s.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
				s.cfg.Logger.DebugContext(r.Context(), "token issued",
					"trace_id", c.traceID, "tenant", c.tenant, "client_id", c.client, "code", 0)
			}
			s.writeIssued(w, c, t, endpoint)
		}
		s.recordSignIn(c, err)
	}
}

// issue reads and parses the request, then runs the grant.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, c *call, endpoint int) (issued, error) {
	form, err := readTokenForm(w, r)
	if err != nil {
		return issued{}, err
	}
	c.adopt(form.Get("client-request-id"))
	c.flow = form.Get("grant_type")
	user, pass, hasBasic := r.BasicAuth()
	req, err := parseTokenRequest(form, user, pass, hasBasic, endpoint, c.tenant)
	if err != nil {
		return issued{}, err
	}
	req.Origin = r.Header.Get("Origin")
	s.unalias(&req.Resource, req.Scopes)
	c.client = req.ClientID
	c.resource = cmp.Or(req.Resource, strings.Join(req.Scopes, " "))
	return s.token(r.Context(), c, req)
}

// token resolves the authority and dispatches on grant_type. Grants are
// plain methods.
func (s *Server) token(ctx context.Context, c *call, req *tokenRequest) (issued, error) {
	a, err := s.resolveAuthority(ctx, req.Tenant)
	if err != nil {
		return issued{}, err
	}
	c.tenantID = a.tenant.ID
	switch req.GrantType {
	case "":
		return issued{}, errMissing("grant_type")
	case grantClientCredentials:
		return s.clientCredentials(ctx, c, a, req)
	case grantPassword:
		return s.password(ctx, c, a, req)
	case grantJWTBearer:
		return s.onBehalfOf(ctx, c, a, req)
	case grantAuthorizationCode:
		return s.authorizationCode(ctx, c, a, req)
	case grantDeviceCode, grantDeviceCodeV1:
		// RFC 8628's URN and the short "device_code" are accepted on both
		// endpoints (MSAL Go sends the short form to v2), with the code in
		// device_code, or in code as v1 clients (ADAL) send it.
		return s.deviceCodeGrant(ctx, c, a, req, cmp.Or(req.DeviceCode, req.Code))
	case grantRefreshToken:
		return s.refreshToken(ctx, c, a, req)
	default:
		return issued{}, errorf(CodeUnsupportedGrantType, "The app requested an unsupported grant type '%s'.", req.GrantType)
	}
}
