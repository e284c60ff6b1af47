package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestNoSecretsAnywhere runs a realistic session against `issuer serve`:
// client secrets, a user's password, a certificate and its key, client
// assertions, refresh tokens and their rotation and replay, on-behalf-of
// assertions, access and id tokens, right and wrong credentials, remote
// administration with right and wrong admin tokens. It then searches
// everything the program shows or keeps for the values the session used:
// the server's log, the sign-in log (text and JSON), `issuer export`, the
// output of every command (but the one that shows a new secret once), every
// error body, and the database file itself, where secrets, passwords and
// refresh tokens exist only as salted hashes. None may appear.
func TestNoSecretsAnywhere(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	const adminToken = "admin-token-0123456789abcdef0123"
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	// Strict rotation, so that the replay below is a refusal (and the flag
	// is seen to work: by default a redeemed token stays valid).
	// --log-level debug: every line the server can log is searched.
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--admin-token-file", tokenFile, "--refresh-token-reuse", "revoke-family", "--log-level", "debug")
	ca := filepath.Join(dir, caFileName)
	client := trusting(t, ca)

	secrets := map[string]string{"the admin token": adminToken}
	var shown bytes.Buffer // everything the CLI printed, but a new secret's one-time display
	cli := func(args ...string) string {
		t.Helper()
		r := mustRunResult(t, db, args...)
		shown.WriteString(r.stdout + r.stderr)
		return r.stdout
	}
	const home = "contoso.onmicrosoft.com"
	cli("tenant", "add", "--name", "contoso")
	appID := func(out string) string { return decode(t, out)["appId"].(string) }
	middle := appID(cli("-o", "json", "app", "add", "--tenant", home, "--name", "Middle", "--identifier-uri", "api://middle", "--token-version", "2"))
	downstream := appID(cli("-o", "json", "app", "add", "--tenant", home, "--name", "Downstream", "--identifier-uri", "api://downstream", "--token-version", "2"))
	native := appID(cli("-o", "json", "app", "add", "--tenant", home, "--name", "Native", "--public-client"))
	daemon := appID(cli("-o", "json", "app", "add", "--tenant", home, "--name", "Daemon"))
	cli("app", "scope", "add", "--app", middle, "--value", "access_as_user")
	cli("app", "scope", "add", "--app", downstream, "--value", "Data.Read")
	cli("app", "role", "add", "--app", downstream, "--value", "Data.Job")
	cli("app", "permission", "add", "--app", native, "--resource", "api://middle", "--scope", "access_as_user")
	cli("app", "permission", "add", "--app", middle, "--resource", "api://downstream", "--scope", "Data.Read")
	cli("app", "permission", "add", "--app", daemon, "--resource", "api://downstream", "--role", "Data.Job")
	for _, c := range []string{native, middle, daemon} {
		cli("consent", "grant", "--tenant", home, "--client", c, "--admin")
	}
	newSecret := func(app string) string {
		r := mustRunResult(t, db, "-o", "json", "app", "secret", "add", "--app", app)
		return decode(t, r.stdout)["secretText"].(string) // shown once, on purpose
	}
	secrets["the daemon's secret"] = newSecret(daemon)
	secrets["the middle tier's secret"] = newSecret(middle)
	const password = "correct horse battery staple 0001"
	secrets["the user's password"] = password
	cli("user", "add", "--tenant", home, "--upn", "alice@"+home, "--password", password)
	certFile, keyFile := filepath.Join(dir, "daemon.pem"), filepath.Join(dir, "daemon.key")
	cli("app", "cert", "create", "--app", daemon, "--out-cert", certFile, "--out-key", keyFile)
	keyPEM := mustRead(t, keyFile)
	secrets["the certificate's private key"] = string(keyPEM[40:100])
	cli("app", "list", "--tenant", home)
	cli("-o", "json", "app", "show", daemon)
	cli("-o", "json", "user", "list", "--tenant", home)

	var bodies bytes.Buffer // every answer of the token endpoint
	token := func(form url.Values, wantToken bool) map[string]any {
		t.Helper()
		resp, err := client.PostForm(srv.url+"/"+home+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("token endpoint: %s", b)
		}
		if resp.StatusCode == http.StatusOK {
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if s, ok := m[k].(string); ok {
					secrets[k+" "+s[len(s)-12:]] = s
					if parts := strings.Split(s, "."); len(parts) == 3 {
						secrets[k+"'s signature "+s[len(s)-12:]] = parts[2]
					}
				}
			}
		} else {
			bodies.Write(b)
		}
		if got := resp.StatusCode == http.StatusOK; got != wantToken {
			t.Fatalf("%s request: status %d %s; want a token: %v", form.Get("grant_type"), resp.StatusCode, b, wantToken)
		}
		return m
	}
	wrong := func(what, value string) string { secrets[what] = value; return value }
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {daemon}, "scope": {"api://downstream/.default"}}
	with := func(base url.Values, kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	token(with(cc, "client_secret", secrets["the daemon's secret"]), true)
	token(with(cc, "client_secret", wrong("a wrong secret", "not-the-daemon-secret-0001")), false)
	token(with(cc, "client_secret", secrets["the middle tier's secret"]), false)
	assertion := signedAssertion(t, certFile, keyFile, daemon, srv.url+"/"+home+"/oauth2/v2.0/token")
	secrets["a client assertion"] = assertion
	token(with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", assertion), true)
	token(with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", wrong("a forged assertion", assertion[:len(assertion)-8]+"AAAAAAAA")), false)
	pw := url.Values{"grant_type": {"password"}, "client_id": {native}, "username": {"alice@" + home}, "password": {password},
		"scope": {"api://middle/access_as_user openid profile offline_access"}}
	first := token(pw, true)
	token(with(pw, "password", wrong("a wrong password", "not-the-password-0001")), false)
	rt := first["refresh_token"].(string)
	rtForm := url.Values{"grant_type": {"refresh_token"}, "client_id": {native}, "refresh_token": {rt}}
	token(rtForm, true)
	token(rtForm, false) // a replay under revoke-family: refused, and the family revoked
	obo := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {middle}, "client_secret": {secrets["the middle tier's secret"]},
		"assertion": {first["access_token"].(string)}, "requested_token_use": {"on_behalf_of"}, "scope": {"api://downstream/Data.Read offline_access"}}
	token(obo, true)
	token(with(obo, "assertion", wrong("a tampered OBO assertion", first["access_token"].(string)+"x")), false)
	token(with(obo, "client_secret", wrong("a wrong middle tier secret", "not-the-middle-secret-0001")), false)

	// Remote administration, with a wrong token and the right one.
	remote := func(token string) {
		req, _ := http.NewRequest(http.MethodPost, srv.url+adminPath, strings.NewReader(`{"args":["tenant","list"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies.Write(b)
	}
	remote(wrong("a wrong admin token", "wrong-admin-token-0123456789abcd"))
	remote(adminToken)

	places := map[string]string{
		"the server's log":     srv.stderr.String() + srv.stdout.String(),
		"the sign-in log":      cli("logs", "-n", "1000"),
		"the sign-in log JSON": cli("-o", "json", "logs", "-n", "1000"),
		"issuer logs --failed": cli("logs", "--failed"),
		"issuer export":        cli("export"),
		"error bodies":         bodies.String(),
		"command output":       shown.String(),
	}
	if !strings.Contains(places["the sign-in log"], "AADSTS7000215") || !strings.Contains(places["error bodies"], "AADSTS50126") {
		t.Fatalf("the session's refusals are missing from the logs:\n%s", places["the sign-in log"])
	}
	// At rest: the database (keys, hashes) and the admin socket are the
	// owner's alone.
	wantFile(t, db, 0o600)
	if fi, err := os.Stat(db + socketSuffix); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin socket: %v, %v; want mode 0600", fi, err)
	}
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	places["the database file"] = string(raw)
	for place, text := range places {
		for what, value := range secrets {
			if len(value) < 12 {
				t.Fatalf("%s is too short to search for: %q", what, value)
			}
			if strings.Contains(text, value) {
				t.Errorf("%s holds %s", place, what)
			}
		}
	}
	// Nor does the export carry the stored hashes.
	for _, marker := range []string{"$argon2id$", `"hash"`, `"salt"`} {
		if strings.Contains(places["issuer export"], marker) {
			t.Errorf("issuer export holds %s", marker)
		}
	}
}

// mustRunResult runs the CLI and fails the test unless it exits 0.
func mustRunResult(t *testing.T, db string, args ...string) result {
	t.Helper()
	r := runCLI(t, db, nil, args...)
	if r.code != exitOK {
		t.Fatalf("issuer %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// signedAssertion is a client assertion as MSAL Go signs it: PS256, the
// certificate's SHA-256 thumbprint, aud the token endpoint, ten minutes.
func signedAssertion(t *testing.T, certFile, keyFile, appID, aud string) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pair.Certificate[0])
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", base64.StdEncoding.EncodeToString(sum[:]))
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: pair.PrivateKey}, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: appID, Subject: appID, Audience: jwt.Audience{aud},
		NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), ID: "a0e1b2c3"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
