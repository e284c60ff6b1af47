package issuer

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// authorizeRequest is an authorization request (v2 /oauth2/v2.0/authorize,
// v1 /oauth2/authorize, and the admin consent endpoint) parsed once from
// its query or form: nothing after parseAuthorizeRequest reads the raw
// parameters. Empty means absent, as at the token endpoint.
type authorizeRequest struct {
	Endpoint     int    // 1 or 2
	Tenant       string // the {tenant} path segment, as sent
	ClientID     string
	ResponseType string
	RedirectURI  string
	ResponseMode string // query, fragment or form_post; "" for the default
	State        string
	Nonce        string
	// Scopes is the v2 scope parameter split on whitespace; Resource the
	// v1 resource parameter.
	Scopes              []string
	Resource            string
	Prompt              string
	LoginHint           string
	DomainHint          string
	CodeChallenge       string
	CodeChallengeMethod string
}

// authorizeParams are the parameters we read. Each may appear at most
// once; others (MSAL's x-client-*, client_info, claims, …) are ignored.
var authorizeParams = []string{
	"client_id", "response_type", "redirect_uri", "response_mode", "state", "nonce", "scope",
	"resource", "prompt", "login_hint", "domain_hint", "code_challenge", "code_challenge_method",
}

// Bounds of the authorization request. Entra documents none; a real
// request is a few hundred bytes. state and nonce are echoed into the
// redirect and the id_token, so they are bounded too.
const (
	maxAuthorizeParam = 4 << 10
	maxStateLength    = 2 << 10
)

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices and
// Form Post Response Mode).
const (
	modeQuery    = "query"
	modeFragment = "fragment"
	modeFormPost = "form_post"
)

// parseAuthorizeRequest reads an authorization request. Only the form of
// the parameters is checked here (no parameter twice, UTF-8, bounded
// lengths, a known response_mode and prompt); what they name is checked
// against the directory by the handler, in Entra's order: the client and
// its redirect URI first, whose failures are shown on a page, then the
// rest, which is redirected to the client.
func parseAuthorizeRequest(q url.Values, endpoint int, tenantSegment string) (*authorizeRequest, error) {
	for _, name := range authorizeParams {
		vs := q[name]
		if len(vs) > 1 {
			return nil, errMalformed("The request contains the parameter '%s' more than once.", name)
		}
		if len(vs) == 1 && (!utf8.ValidString(vs[0]) || len(vs[0]) > maxAuthorizeParam) {
			return nil, errMalformed("The value of parameter '%s' is not valid.", name)
		}
	}
	r := &authorizeRequest{
		Endpoint: endpoint, Tenant: tenantSegment,
		ClientID:            strings.TrimSpace(q.Get("client_id")),
		ResponseType:        strings.Join(strings.Fields(q.Get("response_type")), " "),
		RedirectURI:         q.Get("redirect_uri"),
		ResponseMode:        q.Get("response_mode"),
		State:               q.Get("state"),
		Nonce:               q.Get("nonce"),
		Scopes:              strings.Fields(q.Get("scope")),
		Resource:            strings.TrimSpace(q.Get("resource")),
		Prompt:              q.Get("prompt"),
		LoginHint:           strings.TrimSpace(q.Get("login_hint")),
		DomainHint:          strings.TrimSpace(q.Get("domain_hint")),
		CodeChallenge:       q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"),
	}
	if len(r.State) > maxStateLength || len(r.Nonce) > maxStateLength {
		return nil, errMalformed("The state or nonce parameter is longer than %d bytes.", maxStateLength)
	}
	if len(r.Scopes) > maxScopes {
		return nil, errorf(CodeInvalidScope,
			"The provided value for the input parameter 'scope' is not valid: it names %d scopes, more than %d.", len(r.Scopes), maxScopes)
	}
	return r, nil
}

// promptValues are the prompt values Entra accepts.
var promptValues = []string{"", "none", "login", "consent", "select_account"}

// checkShape applies the rules of the request's own parameters that are
// redirected to the client once its redirect URI is known: response_type
// (code, or code id_token with openid and a nonce), response_mode, prompt
// and PKCE (RFC 7636: S256 or plain, 43 to 128 characters).
func (r *authorizeRequest) checkShape() error {
	switch r.ResponseType {
	case "":
		return errMissing("response_type")
	case "code":
	case "code id_token", "id_token code":
		r.ResponseType = "code id_token"
		if !slices.Contains(r.Scopes, "openid") && r.Endpoint == 2 {
			return errorf(CodeInvalidScope, "The provided request must include a 'scope' input parameter containing 'openid' when requesting an id_token.")
		}
		if r.Nonce == "" {
			return errMissing("nonce")
		}
	default:
		// The implicit grant (token, id_token alone) is not served: Entra
		// answers this when the application has not enabled it.
		return errorf(CodeResponseType, "response_type '%s' is not enabled for the application.", r.ResponseType)
	}
	switch r.ResponseMode {
	case "":
		r.ResponseMode = modeQuery
		if r.ResponseType != "code" {
			r.ResponseMode = modeFragment
		}
	case modeQuery:
		if r.ResponseType != "code" {
			// OAuth 2.0 Multiple Response Types §5: tokens never travel in
			// a query string.
			return errMalformed("response_mode 'query' is not allowed when an id_token is requested; use fragment or form_post.")
		}
	case modeFragment, modeFormPost:
	default:
		return errMalformed("The response_mode '%s' is not supported; use query, fragment or form_post.", r.ResponseMode)
	}
	if !slices.Contains(promptValues, r.Prompt) {
		return errMalformed("The prompt value '%s' is not supported; use none, login, consent or select_account.", r.Prompt)
	}
	switch r.CodeChallengeMethod {
	case "", "plain", "S256":
	default:
		return errMalformed("The code_challenge_method '%s' is not supported; use S256 or plain.", r.CodeChallengeMethod)
	}
	if r.CodeChallenge == "" && r.CodeChallengeMethod != "" {
		return errMissing("code_challenge")
	}
	if r.CodeChallenge != "" && !validVerifier(r.CodeChallenge) {
		return errMalformed("The code_challenge must have 43 to 128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 section 4.2).")
	}
	if r.Endpoint == 2 && len(r.Scopes) == 0 {
		return errMissing("scope")
	}
	return nil
}

// validVerifier checks RFC 7636's form of a code_verifier (and of a
// code_challenge, which S256 and plain both keep in that alphabet).
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}
