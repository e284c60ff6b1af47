package issuer

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// FuzzAuthorizeRequest: any query is parsed into a request or refused
// with an *Error; a parsed request keeps its bounds and, once its shape is
// checked, names a known response mode and prompt.
func FuzzAuthorizeRequest(f *testing.F) {
	for _, seed := range []string{
		"client_id=0a000000-0000-4000-8000-0000000000a2&response_type=code&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=openid&state=s",
		"response_type=code+id_token&nonce=n&scope=openid&response_mode=form_post",
		"response_type=code&code_challenge=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&code_challenge_method=S256&scope=x",
		"prompt=none&prompt=login", "scope=%ff", "response_mode=fragment&response_type=token", "code_challenge_method=plain",
	} {
		f.Add(seed, 2)
	}
	f.Fuzz(func(t *testing.T, query string, endpoint int) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		r, err := parseAuthorizeRequest(q, 1+endpoint&1, "contoso.com")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("parseAuthorizeRequest error %T %v; want *Error", err, err)
			}
			return
		}
		if len(r.State) > maxStateLength || len(r.Nonce) > maxStateLength || len(r.Scopes) > maxScopes {
			t.Fatalf("unbounded request: state %d, nonce %d, scopes %d", len(r.State), len(r.Nonce), len(r.Scopes))
		}
		if err := r.checkShape(); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("checkShape error %T; want *Error", err)
			}
			return
		}
		if !slices.Contains([]string{modeQuery, modeFragment, modeFormPost}, r.ResponseMode) || !slices.Contains(promptValues, r.Prompt) {
			t.Fatalf("accepted response_mode %q, prompt %q", r.ResponseMode, r.Prompt)
		}
		if r.ResponseType != "code" && r.ResponseMode == modeQuery {
			t.Fatal("an id_token would travel in a query string")
		}
		if r.CodeChallenge != "" && !validVerifier(r.CodeChallenge) {
			t.Fatalf("accepted code_challenge %q", r.CodeChallenge)
		}
	})
}

// FuzzCookies: whatever Cookie header a browser sends, our cookies are
// either absent or of the shape we issue, never anything else.
func FuzzCookies(f *testing.F) {
	for _, seed := range []string{"__Host-issuer_session=" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "issuer_session=x; issuer_session=y", "=;;=", "__Host-issuer_browser=\x00"} {
		f.Add(seed)
	}
	s := &Server{cfg: settings{Config: Config{BaseURL: "https://127.0.0.1:1"}}}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		for _, name := range []string{sessionCookieName, browserCookieName} {
			v, ok := s.cookieSecret(r, name)
			if ok != validSecret(v) || ok && len(v) != 43 {
				t.Fatalf("cookieSecret(%q) = %q, %v", header, v, ok)
			}
		}
	})
}

// FuzzUserCode: a typed user code normalises to capitals without spaces
// or dashes, idempotently.
func FuzzUserCode(f *testing.F) {
	f.Add("abcd-efgh-j")
	f.Add(" 2 3 4 ")
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeUserCode(s)
		if normalizeUserCode(n) != n {
			t.Fatalf("normalizeUserCode not idempotent on %q", s)
		}
		for _, r := range n {
			if r == ' ' || r == '-' || 'a' <= r && r <= 'z' {
				t.Fatalf("normalizeUserCode(%q) = %q", s, n)
			}
		}
	})
}
