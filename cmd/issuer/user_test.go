package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Fixed ids of the user scenario.
const (
	userTenant = "c0000000-0000-4000-8000-00000000c0de"
	nativeApp  = "0000d001-0000-4000-8000-000000000001"
	middleApp  = "0000d002-0000-4000-8000-000000000002"
	carolID    = "0000e001-0000-4000-8000-000000000001"
	carolUPN   = "carol@contoso.onmicrosoft.com"
)

// TestUserCommands runs the user commands' success paths, in text and JSON,
// as one scenario, and compares each run with its golden file.
func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "Contoso", "--id", userTenant, "--domain", "contoso.com")
	c := "contoso.onmicrosoft.com"
	steps := []struct {
		name string
		args []string
	}{
		{"user_add", []string{"user", "add", "--tenant", c, "--upn", "Carol@Contoso.onmicrosoft.com", "--name", "Carol Shaw", "--password", "hunter2-but-longer", "--id", carolID}},
		{"user_add_json", []string{"-o", "json", "user", "add", "--tenant", "contoso.com", "--upn", "dave@contoso.com"}},
		{"user_add_admin", []string{"user", "add", "--tenant", c, "--upn", "admin@contoso.onmicrosoft.com", "--directory-role", "global administrator", "--directory-role", "ApplicationAdministrator"}},
		{"user_update_roles_json", []string{"-o", "json", "user", "update", "--tenant", c, "admin@contoso.onmicrosoft.com", "--directory-role", "Cloud Application Administrator"}},
		{"user_add_disabled", []string{"user", "add", "--tenant", c, "--upn", "erin@contoso.onmicrosoft.com", "--password", "erin-password-0001", "--enabled=false"}},
		{"user_add_attributes", []string{"user", "add", "--tenant", c, "--upn", "frank@contoso.onmicrosoft.com", "--mail", "frank@example.com", "--given-name", "Frank", "--surname", "Hill", "--country", "de"}},
		{"user_list", []string{"user", "list", "--tenant", c}},
		{"user_list_json", []string{"-o", "json", "user", "list", "--tenant", userTenant}},
		{"user_show", []string{"user", "show", "--tenant", c, "CAROL@contoso.onmicrosoft.com"}},
		{"user_show_json_by_id", []string{"user", "show", carolID, "--tenant", c, "-o", "json"}},
		{"user_update", []string{"user", "update", "--tenant", c, carolUPN, "--name", "Carol S.", "--enabled=false"}},
		{"user_update_password", []string{"user", "update", "--tenant", c, "dave@contoso.com", "--password", "dave-password-0001"}},
		{"user_update_remove_password_json", []string{"-o", "json", "user", "update", "--tenant", c, carolUPN, "--password", "", "--enabled=true"}},
		{"user_remove", []string{"user", "remove", "--tenant", c, "erin@contoso.onmicrosoft.com"}},
		{"user_list_after_remove", []string{"user", "list", "--tenant", c}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := runCLI(t, db, opts, s.args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(s.args, " "), r.code, r.stderr)
			}
			for _, secret := range []string{"hunter2-but-longer", "erin-password-0001", "dave-password-0001", "argon2"} {
				if strings.Contains(r.stdout, secret) {
					t.Errorf("output shows password material %q", secret)
				}
			}
			golden(t, s.name, r.transcript(dir, s.args))
		})
	}
}

// TestUserRefusals checks the exit codes and messages of user commands
// that must fail.
func TestUserRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	c := "contoso.onmicrosoft.com"
	mustRun(t, db, opts, "tenant", "add", "--name", "Contoso")
	mustRun(t, db, opts, "user", "add", "--tenant", c, "--upn", carolUPN)
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"duplicate UPN", []string{"user", "add", "--tenant", c, "--upn", "CAROL@contoso.onmicrosoft.com"}, exitError, "already exists"},
		{"UPN of another domain", []string{"user", "add", "--tenant", c, "--upn", "carol@fabrikam.com"}, exitUsage, "is not a domain of tenant"},
		{"not a UPN", []string{"user", "add", "--tenant", c, "--upn", "carol"}, exitUsage, "not a user principal name"},
		{"id not a GUID", []string{"user", "add", "--tenant", c, "--upn", "x@contoso.onmicrosoft.com", "--id", "x"}, exitUsage, "not a GUID"},
		{"unknown tenant", []string{"user", "add", "--tenant", "nosuch.com", "--upn", "x@nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"no upn", []string{"user", "add", "--tenant", c}, exitUsage, `Required flag "upn" not set`},
		{"list of unknown tenant", []string{"user", "list", "--tenant", "nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"unknown user", []string{"user", "show", "--tenant", c, "zed@contoso.onmicrosoft.com"}, exitError, `user "zed@contoso.onmicrosoft.com" in tenant Contoso: not found`},
		{"show without a user", []string{"user", "show", "--tenant", c}, exitUsage, "missing USER"},
		{"unknown directory role", []string{"user", "add", "--tenant", c, "--upn", "y@contoso.onmicrosoft.com", "--directory-role", "Janitor"}, exitUsage, "unknown directory role"},
		{"update without changes", []string{"user", "update", "--tenant", c, carolUPN}, exitUsage, "nothing to change"},
		{"three-letter country", []string{"user", "update", "--tenant", c, carolUPN, "--country", "FRA"}, exitUsage, "two-letter code"},
		{"mail that is no address", []string{"user", "update", "--tenant", c, carolUPN, "--mail", "carol"}, exitUsage, "not an email address"},
		{"update of an unknown user", []string{"user", "update", "--tenant", c, "zed@contoso.onmicrosoft.com", "--enabled=false"}, exitError, "not found"},
		{"remove an unknown user", []string{"user", "remove", "--tenant", c, "zed@contoso.onmicrosoft.com"}, exitError, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("issuer %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// seedTokenScenario sets up, through the CLI, a user, a native client and a
// middle-tier API the client has admin consent for.
func seedTokenScenario(t *testing.T, db string, opts []option) {
	t.Helper()
	c := "contoso.onmicrosoft.com"
	for _, args := range [][]string{
		{"tenant", "add", "--name", "Contoso", "--id", userTenant},
		{"user", "add", "--tenant", c, "--upn", carolUPN, "--name", "Carol Shaw", "--id", carolID},
		{"user", "add", "--tenant", c, "--upn", "erin@contoso.onmicrosoft.com", "--enabled=false"},
		{"app", "add", "--tenant", c, "--name", "Native", "--public-client", "--app-id", nativeApp},
		{"app", "add", "--tenant", c, "--name", "Middle API", "--identifier-uri", "api://middle", "--token-version", "2", "--app-id", middleApp},
		{"app", "scope", "add", "--app", middleApp, "--value", "access_as_user"},
		{"app", "scope", "add", "--app", middleApp, "--value", "Admin.All", "--type", "Admin"},
		{"app", "role", "add", "--app", middleApp, "--value", "Middle.Approver", "--member-types", "User"},
		{"app", "permission", "add", "--app", nativeApp, "--resource", "api://middle", "--scope", "access_as_user"},
		{"consent", "grant", "--tenant", c, "--client", nativeApp, "--admin"},
		{"role", "assign", "--tenant", c, "--resource", "api://middle", "--role", "Middle.Approver", "--user", carolUPN},
	} {
		mustRun(t, db, opts, args...)
	}
}

// TestTokenUser mints delegated tokens with `issuer token user` and compares
// their claims with golden files; the tokens verify with the database's
// signing key, and name the issuer the last `issuer serve` published.
func TestTokenUser(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	seedTokenScenario(t, db, opts)
	c := "contoso.onmicrosoft.com"
	for _, tc := range []struct {
		name  string
		args  []string
		serve *served // recorded before the run, as `issuer serve` does
	}{
		{name: "token_user", args: []string{"token", "user", "--tenant", c, "--upn", carolUPN, "--client", nativeApp, "--resource", "api://middle", "--scope", "access_as_user"}},
		{name: "token_user_default_scope", args: []string{"token", "user", "--tenant", "CONTOSO.onmicrosoft.com", "--upn", carolID, "--client", nativeApp, "--resource", middleApp}},
		{name: "token_user_json_base_url", args: []string{"-o", "json", "token", "user", "--tenant", userTenant, "--upn", carolUPN, "--client", nativeApp,
			"--resource", "api://middle", "--base-url", "https://issuer.test:9443"}},
		{name: "token_user_after_serve", args: []string{"token", "user", "--tenant", c, "--upn", carolUPN, "--client", nativeApp, "--resource", "api://middle"},
			serve: &served{BaseURL: "https://localhost:8444", EntraIssuers: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.serve != nil {
				withTestDB(t, db, func(s *storage.DB) error { return recordServed(context.Background(), s, *tc.serve) })
			}
			r := runCLI(t, db, opts, tc.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d; want 0\nstderr: %s", r.code, r.stderr)
			}
			token := strings.TrimSpace(r.stdout)
			if strings.HasPrefix(token, "{") {
				var m map[string]string
				if err := json.Unmarshal([]byte(token), &m); err != nil || m["token_type"] != "Bearer" {
					t.Fatalf("-o json printed %q; want token_type Bearer and access_token", token)
				}
				token = m["access_token"]
			}
			claims := verifyWithDB(t, db, token)
			// The transcript shows the claims instead of the token, whose
			// signature depends on the database's random key.
			var pretty bytes.Buffer
			json.Indent(&pretty, claims, "", "  ")
			r.stdout = pretty.String() + "\n"
			golden(t, tc.name, r.transcript(dir, tc.args))
		})
	}
}

// TestTokenUserRefusals: a request the token endpoint would refuse prints
// its AADSTS error and exits with 1.
func TestTokenUserRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	seedTokenScenario(t, db, opts)
	c := "contoso.onmicrosoft.com"
	base := func(kv ...string) []string {
		args := map[string]string{"--tenant": c, "--upn": carolUPN, "--client": nativeApp, "--resource": "api://middle"}
		for i := 0; i+1 < len(kv); i += 2 {
			args[kv[i]] = kv[i+1]
		}
		out := []string{"token", "user"}
		for _, k := range []string{"--tenant", "--upn", "--client", "--resource"} {
			if v, ok := args[k]; ok && v != "" {
				out = append(out, k, v)
			}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "--scope" || kv[i] == "--base-url" {
				out = append(out, kv[i], kv[i+1])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"scope without consent", base("--scope", "Admin.All"), exitError, "AADSTS65001"},
		{"scope not exposed", base("--scope", "Nope"), exitError, "AADSTS70011"},
		{"unknown user", base("--upn", "zed@contoso.onmicrosoft.com"), exitError, "AADSTS50034"},
		{"disabled user", base("--upn", "erin@contoso.onmicrosoft.com"), exitError, "AADSTS50057"},
		{"unknown client", base("--client", unknownGUID), exitError, "AADSTS700016"},
		{"unknown resource", base("--resource", "api://nothing"), exitError, "AADSTS500011"},
		{"unknown tenant", base("--tenant", "nosuch.com"), exitError, "AADSTS90002"},
		{"common", base("--tenant", "common"), exitError, "AADSTS9001023"},
		{"no resource", base("--resource", ""), exitUsage, `Required flag "resource" not set`},
		{"bad base URL", base("--base-url", "ftp://x"), exitUsage, "--base-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) || tc.wantCode == exitError && r.stdout != "" {
				t.Errorf("issuer %s: exit %d, stdout %q, stderr %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
	// Once consented, the same request succeeds.
	mustRun(t, db, opts, "app", "permission", "add", "--app", nativeApp, "--resource", "api://middle", "--scope", "Admin.All")
	mustRun(t, db, opts, "consent", "grant", "--tenant", c, "--client", nativeApp, "--admin")
	mustRun(t, db, opts, base("--scope", "Admin.All")...)
}

// withTestDB opens the database for fn and closes it.
func withTestDB(t *testing.T, path string, fn func(*storage.DB) error) {
	t.Helper()
	s, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := fn(s); err != nil {
		t.Fatal(err)
	}
}

// verifyWithDB checks the token's RS256 signature with the database's
// signing key, as the server's JWKS publishes it, and returns the payload.
func verifyWithDB(t *testing.T, path, token string) []byte {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing %q: %v", token, err)
	}
	withTestDB(t, path, func(s *storage.DB) error {
		keys, err := s.SigningKeys(context.Background())
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.KeyID == tok.Headers[0].KeyID {
				var m map[string]any
				return tok.Claims(&k.PrivateKey.PublicKey, &m)
			}
		}
		t.Fatalf("no signing key %s in the database", tok.Headers[0].KeyID)
		return nil
	})
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// TestUserHashPassword: hash-password prints a hash of the password on
// standard input that a seed's passwordHash takes, and refuses to hash
// nothing.
func TestUserHashPassword(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	tests := []struct {
		name     string
		stdin    string
		wantCode int
		password string // the password the hash must check
	}{
		{"one line", "S3cret-pass\n", exitOK, "S3cret-pass"},
		{"no line break", "S3cret-pass", exitOK, "S3cret-pass"},
		{"CRLF", "S3cret-pass\r\nignored\r\n", exitOK, "S3cret-pass"},
		{"nothing", "", exitUsage, ""},
		{"an empty line", "\nS3cret-pass\n", exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := func(e *env) { e.stdin = strings.NewReader(tt.stdin) }
			r := runCLI(t, db, []option{stdin}, "user", "hash-password")
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.wantCode != exitOK {
				return
			}
			h := strings.TrimSuffix(r.stdout, "\n")
			if err := tenant.ValidatePasswordHash(h); err != nil {
				t.Fatalf("output %q: %v", r.stdout, err)
			}
			if !(tenant.User{PasswordHash: h}).CheckPassword(tt.password) {
				t.Errorf("hash %q does not check %q", h, tt.password)
			}
			if strings.Contains(r.stdout+r.stderr, tt.password) {
				t.Error("the password was printed")
			}
		})
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("hash-password touched the database: %v", err)
	}
}
