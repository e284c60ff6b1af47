package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestExplainMatchesServe is issue 3's promise at the CLI: for each request,
// `issuer explain` prints the answer that `issuer serve`, started afterwards
// on the same database, gives at its token endpoint. Everything is set up
// with CLI commands; explain runs first because serve holds the database.
func TestExplainMatchesServe(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	const (
		contoso  = "contoso.onmicrosoft.com"
		fabrikam = "fabrikam.onmicrosoft.com"
		api      = "0000d001-0000-4000-8000-000000000001" // Orders API, assignment required
		legacy   = "0000d002-0000-4000-8000-000000000002" // Legacy API, service principal disabled
		daemon   = "0000d003-0000-4000-8000-000000000003" // Daemon, granted Orders.Read.All by admin consent
		idle     = "0000d004-0000-4000-8000-000000000004" // Idle Daemon, granted nothing
		partner  = "0000d005-0000-4000-8000-000000000005" // Partner, multi-tenant, not consented in Fabrikam
		disabled = "0000d006-0000-4000-8000-000000000006" // Disabled Daemon
	)
	for _, args := range [][]string{
		{"tenant", "add", "--name", "contoso"},
		{"tenant", "add", "--name", "fabrikam"},
		{"app", "add", "--tenant", contoso, "--name", "Orders API", "--identifier-uri", "api://orders", "--token-version", "2", "--app-id", api},
		{"app", "add", "--tenant", contoso, "--name", "Legacy API", "--identifier-uri", "api://legacy", "--app-id", legacy},
		{"app", "role", "add", "--app", api, "--value", "Orders.Read.All"},
		{"sp", "update", "--tenant", contoso, "--app", api, "--assignment-required=true"},
		{"sp", "update", "--tenant", contoso, "--app", legacy, "--enabled=false"},
		{"app", "add", "--tenant", contoso, "--name", "Daemon", "--app-id", daemon},
		{"app", "permission", "add", "--app", daemon, "--resource", "api://orders", "--role", "Orders.Read.All"},
		{"consent", "grant", "--tenant", contoso, "--client", daemon, "--admin"},
		{"app", "add", "--tenant", contoso, "--name", "Idle Daemon", "--app-id", idle},
		{"app", "add", "--tenant", contoso, "--name", "Partner", "--multi-tenant", "--app-id", partner},
		{"app", "add", "--tenant", contoso, "--name", "Disabled Daemon", "--app-id", disabled},
		{"sp", "update", "--tenant", contoso, "--app", disabled, "--enabled=false"},
	} {
		mustRun(t, db, opts, args...)
	}
	secrets := map[string]string{}
	for _, app := range []string{daemon, idle, partner, disabled} {
		var s struct {
			SecretText string `json:"secretText"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, db, opts, "-o", "json", "app", "secret", "add", "--app", app)), &s); err != nil || s.SecretText == "" {
			t.Fatalf("app secret add -o json: %v, %+v", err, s)
		}
		secrets[app] = s.SecretText
	}

	type answer struct {
		code  int      // AADSTS code of a refusal
		roles []string // of a token
	}
	tests := []struct {
		name                     string
		tenant, client, resource string
		want                     answer
	}{
		{"assigned by admin consent", contoso, daemon, "api://orders", answer{roles: []string{"Orders.Read.All"}}},
		{"not assigned, assignment required", contoso, idle, "api://orders", answer{code: 501051}},
		{"multi-tenant client not consented", fabrikam, partner, "api://orders", answer{code: 700016}},
		{"client disabled", contoso, disabled, "api://orders", answer{code: 7000112}},
		{"resource disabled", contoso, daemon, "api://legacy", answer{code: 500014}},
		{"resource unknown", contoso, daemon, "api://nothing", answer{code: 500011}},
	}
	// explain, text and JSON, while the database is free.
	textCode := regexp.MustCompile(`(?m)^error: +AADSTS(\d+) `)
	explained := map[string]answer{}
	for _, tc := range tests {
		t.Run("explain/"+tc.name, func(t *testing.T) {
			args := []string{"explain", "--tenant", tc.tenant, "--client", tc.client, "--resource", tc.resource}
			var v struct {
				Decision *struct {
					Roles []string `json:"roles"`
				} `json:"decision"`
				Error *struct {
					Code int `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(mustRun(t, db, opts, append([]string{"-o", "json"}, args...)...)), &v); err != nil {
				t.Fatal(err)
			}
			var got answer
			switch {
			case v.Error != nil:
				got.code = v.Error.Code
			case v.Decision != nil:
				got.roles = v.Decision.Roles
			default:
				t.Fatalf("explain -o json has neither decision nor error")
			}
			// The text output prints the same code on its error line.
			printed := 0
			if m := textCode.FindStringSubmatch(mustRun(t, db, opts, args...)); m != nil {
				printed, _ = strconv.Atoi(m[1])
			}
			if got.code != tc.want.code || printed != tc.want.code || !slices.Equal(got.roles, tc.want.roles) {
				t.Errorf("explain: code %d (printed AADSTS%d), roles %v; want code %d, roles %v", got.code, printed, got.roles, tc.want.code, tc.want.roles)
			}
			explained[tc.name] = got
		})
	}

	// The token endpoint of the real server on the same database.
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	client := trusting(t, filepath.Join(dir, caFileName))
	for _, tc := range tests {
		t.Run("serve/"+tc.name, func(t *testing.T) {
			resp, err := client.PostForm(srv.url+"/"+tc.tenant+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {tc.client},
				"client_secret": {secrets[tc.client]}, "scope": {tc.resource + "/.default"},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				ErrorCodes  []int  `json:"error_codes"`
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			var got answer
			if resp.StatusCode != http.StatusOK {
				if len(body.ErrorCodes) == 1 {
					got.code = body.ErrorCodes[0]
				}
			} else {
				claims := verifyJWT(t, client, srv.url+"/"+tc.tenant+"/discovery/v2.0/keys", body.AccessToken)
				if rs, ok := claims["roles"].([]any); ok {
					for _, r := range rs {
						got.roles = append(got.roles, r.(string))
					}
				}
			}
			if want := explained[tc.name]; got.code != want.code || !slices.Equal(got.roles, want.roles) {
				t.Errorf("token endpoint: HTTP %d, code %d, roles %v; explain said code %d, roles %v", resp.StatusCode, got.code, got.roles, want.code, want.roles)
			}
		})
	}
}
