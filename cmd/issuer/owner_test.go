package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnerCommands runs `app owner` and `sp owner` as one scenario, each
// run against its golden file, then every refusal: each names its cause,
// exits non-zero, and changes no owner.
func TestOwnerCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "Contoso")
	mustRun(t, db, opts, "tenant", "add", "--name", "Fabrikam")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Orders API", "--app-id", ordersAPI)
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Nightly Job", "--app-id", nightlyJob)
	mustRun(t, db, opts, "user", "add", "--tenant", "contoso.onmicrosoft.com", "--upn", "ada@contoso.onmicrosoft.com")
	mustRun(t, db, opts, "user", "add", "--tenant", "fabrikam.onmicrosoft.com", "--upn", "bob@fabrikam.onmicrosoft.com")
	sp := []string{"--tenant", "contoso.onmicrosoft.com", "--app", ordersAPI}
	for _, s := range []struct {
		name string
		args []string
	}{
		{"owner_app_add_user", []string{"app", "owner", "add", "--app", ordersAPI, "--user", "ada@contoso.onmicrosoft.com"}},
		{"owner_app_add_client_json", []string{"-o", "json", "app", "owner", "add", "--app", ordersAPI, "--client", nightlyJob}},
		{"owner_app_list", []string{"app", "owner", "list", "--app", ordersAPI}},
		{"owner_app_remove", []string{"app", "owner", "remove", "--app", ordersAPI, "--user", "ADA@contoso.onmicrosoft.com"}},
		{"owner_sp_add", append([]string{"sp", "owner", "add", "--client", nightlyJob}, sp...)},
		{"owner_sp_list_json", append([]string{"-o", "json", "sp", "owner", "list"}, sp...)},
	} {
		t.Run(s.name, func(t *testing.T) {
			r := runCLI(t, db, opts, s.args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(s.args, " "), r.code, r.stderr)
			}
			golden(t, s.name, r.transcript(dir, s.args))
		})
	}

	before := mustRun(t, db, opts, "app", "owner", "list", "--app", ordersAPI) + mustRun(t, db, opts, append([]string{"sp", "owner", "list"}, sp...)...)
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"neither user nor client", []string{"app", "owner", "add", "--app", ordersAPI}, exitUsage, "give either --user or --client"},
		{"both user and client", []string{"app", "owner", "add", "--app", ordersAPI, "--user", "ada@contoso.onmicrosoft.com", "--client", nightlyJob}, exitUsage, "give either --user or --client"},
		{"an owner twice", []string{"app", "owner", "add", "--app", ordersAPI, "--client", nightlyJob}, exitError, "already exists"},
		{"a user of another tenant", []string{"app", "owner", "add", "--app", ordersAPI, "--user", "bob@fabrikam.onmicrosoft.com"}, exitError, "user bob@fabrikam.onmicrosoft.com in tenant"},
		{"a client without a service principal there", append([]string{"sp", "owner", "add", "--client", "0000a009-0000-4000-8000-000000000009"}, sp...), exitError, "not found"},
		{"removing no owner", []string{"app", "owner", "remove", "--app", ordersAPI, "--user", "ada@contoso.onmicrosoft.com"}, exitError, "not found"},
		{"an unknown application", []string{"app", "owner", "list", "--app", "0000a009-0000-4000-8000-000000000009"}, exitError, `application "0000a009-0000-4000-8000-000000000009": not found`},
		{"no service principal in the tenant", []string{"sp", "owner", "list", "--tenant", "fabrikam.onmicrosoft.com", "--app", ordersAPI}, exitError, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("issuer %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
	after := mustRun(t, db, opts, "app", "owner", "list", "--app", ordersAPI) + mustRun(t, db, opts, append([]string{"sp", "owner", "list"}, sp...)...)
	if after != before {
		t.Errorf("refused commands changed the owners:\n--- before\n%s--- after\n%s", before, after)
	}
}
