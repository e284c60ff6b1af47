package issuer

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTokenRequestBytes bounds a token request body. Real requests are a few
// kilobytes even with a certificate chain in a client assertion.
const maxTokenRequestBytes = 1 << 20

// Limits of the scope parameter. Entra documents none; real requests name
// one resource and a handful of scopes (MSAL adds openid, profile and
// offline_access), a few hundred bytes. Without a bound, a 1 MiB body of
// distinct scopes costs the delegated scope parser and the response
// builder time quadratic in their number, and each refusal quotes the
// whole parameter. Over either limit the answer is AADSTS70011
// invalid_scope, Entra's code for a scope parameter that is not valid,
// which MSAL reports as a configuration error rather than retrying, and
// the message does not quote the parameter.
const (
	maxScopes     = 64
	maxScopeBytes = 4 << 10
)

// Grant types of the token endpoint.
const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantRefreshToken      = "refresh_token"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantAuthorizationCode = "authorization_code"
)

// tokenRequest is a token request parsed once (DESIGN §5): nothing after
// parseTokenRequest reads the form. Empty strings mean absent: Entra treats
// an empty parameter as a missing one.
type tokenRequest struct {
	Endpoint  int    // 1 for /oauth2/token, 2 for /oauth2/v2.0/token
	Tenant    string // the {tenant} path segment, as sent
	GrantType string

	ClientID string
	// ClientSecret comes from HTTP Basic or the client_secret parameter.
	ClientSecret        string
	ClientAssertion     string
	ClientAssertionType string

	// Scopes is the scope parameter split on whitespace.
	Scopes   []string
	Resource string

	Assertion         string // jwt-bearer (OBO)
	RequestedTokenUse string
	Username          string // password grant
	Password          string
	RefreshToken      string
	// ClientInfo is client_info=1: MSAL asks for the client_info member
	// (the user's uid and utid) in user flows.
	ClientInfo bool

	// The authorization code grant: code, redirect_uri, code_verifier;
	// the device code grant: device_code (v2; v1 sends it as code).
	Code         string
	RedirectURI  string
	CodeVerifier string
	DeviceCode   string
	// Origin is the request's Origin header: a browser's cross-origin
	// call, which Entra requires of single-page applications' codes and
	// refuses for the others.
	Origin string
}

// singleValued lists the parameters we read. Each may appear at most once;
// anything else is ignored, because MSAL sends many parameters
// (x-client-SKU, client_info, claims, …) we have no use for.
var singleValued = []string{
	"grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type",
	"scope", "resource", "assertion", "requested_token_use", "username", "password",
	"refresh_token", "client-request-id", "client_info",
	"code", "redirect_uri", "code_verifier", "device_code",
}

// errMalformed is the refusal of a body we cannot read as a form.
func errMalformed(format string, args ...any) *Error {
	return errorf(CodeMalformedRequest, "Invalid request. Request is malformed or invalid. "+format, args...)
}

// readTokenForm checks the content type and reads the form body of r, at
// most maxTokenRequestBytes.
//
// Over the limit the answer is HTTP 413 with an Entra-shaped
// AADSTS9002313 body: Entra's front door rejects oversized requests before
// ESTS sees them, with no AADSTS code we could reproduce, and the status
// is the honest part of that answer.
func readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if !isFormContentType(r.Header.Get("Content-Type")) {
		return nil, errorf(CodeMissingParameter,
			"The request body must contain the following parameter: 'grant_type'. "+
				"The token endpoint accepts only application/x-www-form-urlencoded bodies.")
	}
	if p, ok := r.Body.(*prereadBody); ok {
		if body, ok := p.whole(); ok { // read by the fair gate (signpool.go)
			return parseForm(string(body))
		}
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, maxTokenRequestBytes), r.ContentLength)
	if err != nil {
		return nil, bodyError(err)
	}
	return parseForm(string(body))
}

// bodyError is the refusal of a body that could not be read.
func bodyError(err error) *Error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		e := errMalformed("The request body exceeds %d bytes.", maxTokenRequestBytes)
		e.status = http.StatusRequestEntityTooLarge
		return e
	}
	return errMalformed("The request body could not be read.").wrap(err)
}

// readAll is io.ReadAll with a first buffer of the size the request
// announced (Content-Length, which every client sends), when it is within
// the limit, rather than io.ReadAll's 512 bytes, which a token request
// outgrows or wastes. The body is read to its end, whatever it announced.
func readAll(body io.Reader, announced int64) ([]byte, error) {
	size := 512
	if announced > 0 && announced < maxTokenRequestBytes {
		size = int(announced) + 1 // the last read finds EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more room, as io.ReadAll makes
		}
	}
}

// formContentType is the only media type of a token request.
const formContentType = "application/x-www-form-urlencoded"

// isFormContentType reports whether the Content-Type header value ct names
// formContentType, with or without parameters, in any case. The exact
// value, which every client sends, is answered without parsing it.
func isFormContentType(ct string) bool {
	if ct == formContentType {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == formContentType
}

// parseForm decodes an application/x-www-form-urlencoded body. Anything
// url.ParseQuery rejects, and any value that is not UTF-8, is malformed.
func parseForm(body string) (url.Values, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, errMalformed("The request body is not a valid form.").wrap(err)
	}
	for k, vs := range form {
		if !utf8.ValidString(k) {
			return nil, errMalformed("A parameter name is not valid UTF-8.")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, errMalformed("The value of parameter '%s' is not valid UTF-8.", k)
			}
		}
	}
	return form, nil
}

// parseTokenRequest builds the typed request from the form, the Basic
// credentials and the path. A parameter we read that appears twice is
// refused: which copy counts would otherwise depend on our parser. We
// answer AADSTS9002313 ("Request is malformed or invalid"), the code Entra
// uses for requests it cannot make sense of; Entra's own answer to a
// duplicated parameter is not documented.
func parseTokenRequest(form url.Values, basicUser, basicPass string, hasBasic bool, endpoint int, tenantSegment string) (*tokenRequest, error) {
	if repeatsAny(form) {
		for _, name := range singleValued {
			if len(form[name]) > 1 {
				return nil, errMalformed("The request contains the parameter '%s' more than once.", name)
			}
		}
	}
	req := &tokenRequest{
		Endpoint:            endpoint,
		Tenant:              tenantSegment,
		GrantType:           form.Get("grant_type"),
		ClientID:            form.Get("client_id"),
		ClientSecret:        form.Get("client_secret"),
		ClientAssertion:     form.Get("client_assertion"),
		ClientAssertionType: form.Get("client_assertion_type"),
		Resource:            form.Get("resource"),
		Assertion:           form.Get("assertion"),
		RequestedTokenUse:   form.Get("requested_token_use"),
		Username:            form.Get("username"),
		Password:            form.Get("password"),
		RefreshToken:        form.Get("refresh_token"),
		ClientInfo:          form.Get("client_info") == "1",
		Code:                form.Get("code"),
		RedirectURI:         form.Get("redirect_uri"),
		CodeVerifier:        form.Get("code_verifier"),
		DeviceCode:          form.Get("device_code"),
	}
	if scope, ok := form["scope"]; ok {
		if len(scope[0]) > maxScopeBytes {
			return nil, errorf(CodeInvalidScope,
				"The provided value for the input parameter 'scope' is not valid: it is longer than %d bytes.", maxScopeBytes)
		}
		var err error
		if req.Scopes, err = splitScopeParam(scope[0]); err != nil {
			return nil, err
		}
		if len(req.Scopes) > maxScopes {
			return nil, errorf(CodeInvalidScope,
				"The provided value for the input parameter 'scope' is not valid: it names %d scopes, more than %d.", len(req.Scopes), maxScopes)
		}
	}
	if hasBasic {
		if err := req.addBasic(basicUser, basicPass); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// repeatsAny reports whether any parameter of form appears more than once:
// a request has a handful of parameters, and looking up each of
// singleValued in it costs more than looking at them.
func repeatsAny(form url.Values) bool {
	for _, vs := range form {
		if len(vs) > 1 {
			return true
		}
	}
	return false
}

// splitScopeParam splits the scope parameter on the ASCII space, as RFC 6749
// §3.3 defines it and Entra does (runs of spaces and spaces at the ends
// separate nothing). Any other white space or control character inside a
// scope (a tab, a no-break space U+00A0, an ideographic space) is not a
// separator: the scope is AADSTS70011 invalid_scope, rather than split
// into values the client did not send.
func splitScopeParam(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, " ") {
		if v == "" {
			continue
		}
		if i := strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
			return nil, errorf(CodeInvalidScope,
				"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid: it contains the character U+%04X; scopes are separated by spaces (U+0020) only.",
				strconv.Quote(v), []rune(v[i:])[0])
		}
		out = append(out, v)
	}
	return out, nil
}

// addBasic merges HTTP Basic client credentials. RFC 6749 §2.3.1 has the
// client form-urlencode its id and secret before Basic encoding, so they are
// unescaped here. A client_id or client_secret also sent in the body must
// agree with the header.
func (req *tokenRequest) addBasic(user, pass string) error {
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return errMalformed("The Authorization header's client credentials are not form-urlencoded (RFC 6749 section 2.3.1).")
	}
	switch {
	case req.ClientID != "" && id != "" && req.ClientID != id:
		return errMalformed("The client_id in the Authorization header does not match the client_id parameter.")
	case req.ClientSecret != "" && secret != "" && req.ClientSecret != secret:
		return errMalformed("The client secret in the Authorization header does not match the client_secret parameter.")
	}
	if id != "" {
		req.ClientID = id
	}
	if secret != "" {
		req.ClientSecret = secret
	}
	return nil
}
