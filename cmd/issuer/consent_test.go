package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Fixed ids of the consent scenario.
const (
	contosoTenant = "c0000000-0000-4000-8000-00000000c001"
	fabTenant     = "f0000000-0000-4000-8000-00000000f002"
	apiApp        = "0000b001-0000-4000-8000-000000000001" // Orders API, contoso
	daemonApp     = "0000b002-0000-4000-8000-000000000002" // Daemon, contoso
	webApp        = "0000b003-0000-4000-8000-000000000003" // Web, contoso
	partnerApp    = "0000b004-0000-4000-8000-000000000004" // Partner, fabrikam, multi-tenant
	fabLocalApp   = "0000b005-0000-4000-8000-000000000005" // FabLocal, fabrikam, single-tenant
	sharedApp     = "0000b006-0000-4000-8000-000000000006" // Shared API, contoso, multi-tenant
	aliceID       = "0000c001-0000-4000-8000-000000000001"
	bobID         = "0000c002-0000-4000-8000-000000000002"
	aliceUPN      = "alice@contoso.onmicrosoft.com"
)

// seedConsentScenario registers, through the CLI, two tenants and the
// applications of the consent scenario, and adds two users to contoso
// directly (the CLI has no user commands yet).
func seedConsentScenario(t *testing.T, db string, opts []option) {
	t.Helper()
	for _, args := range [][]string{
		{"tenant", "add", "--name", "Contoso", "--id", contosoTenant},
		{"tenant", "add", "--name", "Fabrikam", "--id", fabTenant},
		{"app", "add", "--tenant", contosoTenant, "--name", "Orders API", "--identifier-uri", "api://orders", "--app-id", apiApp},
		{"app", "add", "--tenant", contosoTenant, "--name", "Daemon", "--app-id", daemonApp},
		{"app", "add", "--tenant", contosoTenant, "--name", "Web", "--app-id", webApp},
		{"app", "add", "--tenant", fabTenant, "--name", "Partner", "--multi-tenant", "--app-id", partnerApp},
		{"app", "add", "--tenant", fabTenant, "--name", "FabLocal", "--identifier-uri", "api://fablocal", "--app-id", fabLocalApp},
		{"app", "add", "--tenant", contosoTenant, "--name", "Shared API", "--multi-tenant", "--identifier-uri", "api://shared", "--app-id", sharedApp},
	} {
		mustRun(t, db, opts, args...)
	}
	s, err := storage.Open(db, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := tenant.NewDirectory(s, tenant.WithClock(func() time.Time { return testClock }))
	for _, u := range []tenant.UserSpec{
		{UserPrincipalName: aliceUPN, DisplayName: "Alice", ID: aliceID},
		{UserPrincipalName: "bob@contoso.onmicrosoft.com", DisplayName: "Bob", ID: bobID},
	} {
		if _, err := dir.AddUser(context.Background(), contosoTenant, u); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsentCommands runs the exposed-API, service principal, consent,
// role and explain commands as one scenario on one database and compares
// each run with its golden file: expose an API, require it, require
// assignment, explain the refusal, grant admin consent, explain the token,
// provision a multi-tenant client in another tenant, user consent, revoke.
func TestConsentCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	seedConsentScenario(t, db, opts)
	c := "contoso.onmicrosoft.com"
	steps := []struct {
		name string
		args []string
	}{
		// The exposed API and what clients require.
		{"app_role_add", []string{"app", "role", "add", "--app", apiApp, "--value", "Orders.Read", "--description", "Read all orders"}},
		{"app_role_add_user", []string{"app", "role", "add", "--app", apiApp, "--value", "Orders.Approver", "--member-types", "User", "--display-name", "Approver"}},
		{"app_role_add_json", []string{"-o", "json", "app", "role", "add", "--app", apiApp, "--value", "Orders.All", "--member-types", "application,user", "--disabled"}},
		{"app_scope_add", []string{"app", "scope", "add", "--app", apiApp, "--value", "access_as_user", "--user-consent-name", "Access orders as you"}},
		{"app_scope_add_json", []string{"-o", "json", "app", "scope", "add", "--app", apiApp, "--value", "Orders.ReadWrite.All", "--type", "Admin", "--admin-consent-name", "Read and write all orders"}},
		{"app_permission_add", []string{"app", "permission", "add", "--app", daemonApp, "--resource", "api://orders", "--role", "Orders.Read"}},
		{"app_permission_add_scopes", []string{"app", "permission", "add", "--app", webApp, "--resource", "API://Orders", "--scope", "access_as_user", "--scope", "Orders.ReadWrite.All"}},
		{"app_permission_add_json", []string{"-o", "json", "app", "permission", "add", "--app", partnerApp, "--resource", apiApp, "--role", "Orders.Read"}},
		{"app_permission_list", []string{"app", "permission", "list", "--app", webApp}},

		// Assignment required: the daemon is refused until admin consent.
		{"sp_update_assignment_required", []string{"sp", "update", "--tenant", c, "--app", apiApp, "--assignment-required=true"}},
		{"explain_not_assigned", []string{"explain", "--tenant", c, "--client", daemonApp, "--resource", "api://orders"}},
		{"consent_grant_admin", []string{"consent", "grant", "--tenant", c, "--client", daemonApp, "--admin"}},
		{"consent_grant_admin_again", []string{"consent", "grant", "--tenant", c, "--client", daemonApp, "--admin"}},
		{"explain_roles", []string{"explain", "--tenant", c, "--client", daemonApp, "--resource", "api://orders"}},
		{"explain_roles_json", []string{"-o", "json", "explain", "--tenant", c, "--client", daemonApp, "--resource", apiApp}},

		// A multi-tenant client in another tenant: absent, then consented.
		{"explain_multitenant_before", []string{"explain", "--tenant", c, "--client", partnerApp, "--resource", "api://orders"}},
		{"consent_grant_admin_multitenant_json", []string{"-o", "json", "consent", "grant", "--tenant", c, "--client", partnerApp, "--admin"}},
		{"sp_list", []string{"sp", "list", "--tenant", c}},
		{"explain_multitenant_after", []string{"explain", "--tenant", c, "--client", partnerApp, "--resource", "api://orders"}},

		// Delegated: user consent, a user role, partial consent.
		{"consent_grant_user", []string{"consent", "grant", "--tenant", c, "--client", webApp, "--user", aliceUPN}},
		{"consent_grant_user_scope_json", []string{"-o", "json", "consent", "grant", "--tenant", c, "--client", webApp, "--user", "bob@contoso.onmicrosoft.com", "--resource", "api://orders", "--scope", "access_as_user"}},
		{"role_assign_user", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--user", aliceUPN}},
		{"explain_delegated", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--user", aliceUPN, "--scope", "access_as_user"}},
		{"explain_consent_required", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--user", aliceUPN, "--scope", "access_as_user", "--scope", "Orders.ReadWrite.All", "--flow", "on_behalf_of"}},
		{"explain_user_not_assigned", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--user", "bob@contoso.onmicrosoft.com", "--flow", "password"}},
		{"consent_list", []string{"consent", "list", "--tenant", c}},
		{"consent_list_client_json", []string{"-o", "json", "consent", "list", "--tenant", c, "--client", daemonApp}},

		// Taking it back: the next decision no longer sees it.
		{"role_unassign", []string{"role", "unassign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read", "--client", daemonApp}},
		{"explain_after_unassign", []string{"explain", "--tenant", c, "--client", daemonApp, "--resource", "api://orders"}},
		{"role_assign_client", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read", "--client", daemonApp}},
		{"consent_revoke_user", []string{"consent", "revoke", "--tenant", c, "--client", webApp, "--user", aliceUPN}},
		{"consent_revoke_json", []string{"-o", "json", "consent", "revoke", "--tenant", c, "--client", daemonApp}},
		{"consent_revoke_nothing", []string{"consent", "revoke", "--tenant", c, "--client", daemonApp}},
		{"tenant_update_user_consent", []string{"tenant", "update", c, "--user-consent=disabled"}},

		// Retiring permissions and service principals.
		{"app_permission_remove", []string{"app", "permission", "remove", "--app", webApp, "--resource", "api://orders", "--scope", "Orders.ReadWrite.All"}},
		{"app_role_update", []string{"app", "role", "update", "--app", apiApp, "--value", "Orders.Approver", "--enabled=false"}},
		{"app_role_remove", []string{"app", "role", "remove", "--app", apiApp, "--value", "Orders.Approver"}},
		{"app_scope_update_json", []string{"-o", "json", "app", "scope", "update", "--app", apiApp, "--value", "Orders.ReadWrite.All", "--enabled=false"}},
		{"app_scope_remove", []string{"app", "scope", "remove", "--app", apiApp, "--value", "Orders.ReadWrite.All"}},
		{"sp_add", []string{"sp", "add", "--tenant", fabTenant, "--app", sharedApp}},
		{"sp_update_disable_json", []string{"-o", "json", "sp", "update", "--tenant", c, "--app", partnerApp, "--enabled=false"}},
		{"explain_client_disabled", []string{"explain", "--tenant", c, "--client", partnerApp, "--resource", "api://orders"}},
		{"sp_remove", []string{"sp", "remove", "--tenant", c, "--app", partnerApp}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := runCLI(t, db, opts, s.args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(s.args, " "), r.code, r.stderr)
			}
			golden(t, "consent_"+s.name, r.transcript(dir, s.args))
		})
	}
}

// TestConsentRefusals checks the exit codes and messages of consent, role,
// service principal, exposed-API and explain commands that must fail.
func TestConsentRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	seedConsentScenario(t, db, opts)
	c := "contoso.onmicrosoft.com"
	for _, args := range [][]string{
		{"app", "role", "add", "--app", apiApp, "--value", "Orders.Read"},
		{"app", "role", "add", "--app", apiApp, "--value", "Orders.Approver", "--member-types", "User"},
		{"app", "scope", "add", "--app", apiApp, "--value", "access_as_user"},
		{"app", "scope", "add", "--app", apiApp, "--value", "Orders.ReadWrite.All", "--type", "admin"},
		{"app", "scope", "add", "--app", fabLocalApp, "--value", "fab.read"},
		{"app", "permission", "add", "--app", webApp, "--resource", "api://orders", "--scope", "access_as_user"},
		{"app", "permission", "add", "--app", daemonApp, "--resource", fabLocalApp, "--scope", "fab.read"},
	} {
		mustRun(t, db, opts, args...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"role value with a space", []string{"app", "role", "add", "--app", apiApp, "--value", "Orders Read"}, exitUsage, "no spaces"},
		{"role value taken", []string{"app", "role", "add", "--app", apiApp, "--value", "orders.read"}, exitError, "already exists"},
		{"role of unknown app", []string{"app", "role", "add", "--app", unknownGUID, "--value", "x"}, exitError, `application "` + unknownGUID + `": not found`},
		{"unknown member type", []string{"app", "role", "add", "--app", apiApp, "--value", "x", "--member-types", "Group"}, exitUsage, "member type"},
		{"remove an enabled role", []string{"app", "role", "remove", "--app", apiApp, "--value", "Orders.Read"}, exitUsage, "disable it before removing it"},
		{"update unknown role", []string{"app", "role", "update", "--app", apiApp, "--value", "Nope", "--enabled=false"}, exitError, `app role "Nope": not found`},
		{"unknown scope type", []string{"app", "scope", "add", "--app", apiApp, "--value", "x", "--type", "Everyone"}, exitUsage, "must be User or Admin"},
		{"permission without values", []string{"app", "permission", "add", "--app", webApp, "--resource", "api://orders"}, exitUsage, "at least one --scope or --role"},
		{"permission of unknown scope", []string{"app", "permission", "add", "--app", webApp, "--resource", "api://orders", "--scope", "nope"}, exitUsage, `no scope "nope"`},
		{"User role as application permission", []string{"app", "permission", "add", "--app", daemonApp, "--resource", "api://orders", "--role", "Orders.Approver"}, exitUsage, "not an application permission"},
		{"permission of unknown resource", []string{"app", "permission", "add", "--app", webApp, "--resource", "api://nothing", "--scope", "x"}, exitError, "not found"},
		{"sp of a single-tenant app elsewhere", []string{"sp", "add", "--tenant", c, "--app", fabLocalApp}, exitError, "not multi-tenant"},
		{"sp update without changes", []string{"sp", "update", "--tenant", c, "--app", apiApp}, exitUsage, "nothing to change"},
		{"sp update of an absent sp", []string{"sp", "update", "--tenant", c, "--app", partnerApp, "--enabled=false"}, exitError, "service principal of application " + partnerApp + " in tenant Contoso: not found"},
		{"sp list of unknown tenant", []string{"sp", "list", "--tenant", "nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"consent without a kind", []string{"consent", "grant", "--tenant", c, "--client", webApp}, exitUsage, "either --admin or --user"},
		{"consent of both kinds", []string{"consent", "grant", "--tenant", c, "--client", webApp, "--admin", "--user", aliceUPN}, exitUsage, "either --admin or --user"},
		{"admin consent with scopes", []string{"consent", "grant", "--tenant", c, "--client", webApp, "--admin", "--scope", "x"}, exitUsage, "go with --user"},
		{"admin consent, single-tenant client elsewhere", []string{"consent", "grant", "--tenant", c, "--client", fabLocalApp, "--admin"}, exitError, "not multi-tenant"},
		{"admin consent, single-tenant resource elsewhere", []string{"consent", "grant", "--tenant", c, "--client", daemonApp, "--admin"}, exitError, "FabLocal"},
		{"user consent to an Admin scope", []string{"consent", "grant", "--tenant", c, "--client", webApp, "--user", aliceUPN, "--resource", "api://orders", "--scope", "Orders.ReadWrite.All"}, exitError, "admin consent required"},
		{"user consent of unknown user", []string{"consent", "grant", "--tenant", c, "--client", webApp, "--user", "zed@contoso.onmicrosoft.com"}, exitError, "not found"},
		{"consent in unknown tenant", []string{"consent", "grant", "--tenant", "nosuch.com", "--client", webApp, "--admin"}, exitError, `tenant "nosuch.com": not found`},
		{"consent of unknown client", []string{"consent", "grant", "--tenant", c, "--client", unknownGUID, "--admin"}, exitError, `application "` + unknownGUID + `": not found`},
		{"revoke for an unprovisioned client", []string{"consent", "revoke", "--tenant", c, "--client", partnerApp}, exitError, "no service principal in tenant Contoso"},
		{"role to nobody", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read"}, exitUsage, "give one of --client APPID, --user UPN or --group GROUP"},
		{"User role to a client", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--client", daemonApp}, exitUsage, "not Application"},
		{"role to an unprovisioned client", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read", "--client", partnerApp}, exitError, "not provisioned implicitly"},
		{"unknown role", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Nope", "--client", daemonApp}, exitError, `app role "Nope"`},
		{"unassign what is not assigned", []string{"role", "unassign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read", "--client", daemonApp}, exitError, "not found"},
		{"explain in unknown tenant", []string{"explain", "--tenant", "nosuch.com", "--client", daemonApp, "--resource", "api://orders"}, exitError, `tenant "nosuch.com": not found`},
		{"explain scopes of client credentials", []string{"explain", "--tenant", c, "--client", daemonApp, "--resource", "api://orders", "--scope", "x"}, exitUsage, "/.default only"},
		{"explain unknown user", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--user", "zed@contoso.onmicrosoft.com"}, exitError, "not found"},
		{"explain delegated flow without user", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--flow", "password"}, exitUsage, "name the user"},
		{"explain unknown flow", []string{"explain", "--tenant", c, "--client", webApp, "--resource", "api://orders", "--flow", "device_code"}, exitUsage, "must be client_credentials or"},
		{"tenant update without changes", []string{"tenant", "update", c}, exitUsage, "nothing to change"},
		{"tenant update bad consent setting", []string{"tenant", "update", c, "--user-consent", "maybe"}, exitUsage, "must be allowed or disabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("issuer %s: exit %d; want %d\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("issuer %s: stderr = %q; want it to contain %q", strings.Join(tc.args, " "), r.stderr, tc.wantErr)
			}
		})
	}

	// User consent where the tenant disabled it.
	mustRun(t, db, opts, "tenant", "update", c, "--user-consent", "disabled")
	r := runCLI(t, db, opts, "consent", "grant", "--tenant", c, "--client", webApp, "--user", aliceUPN)
	if r.code != exitError || !strings.Contains(r.stderr, "user consent is disabled") {
		t.Errorf("user consent in a tenant that disabled it: exit %d, stderr %q; want 1 and the reason", r.code, r.stderr)
	}
}

// TestRemovedRequiredResource: removing an API leaves its entry in the
// client's requiredResourceAccess, as Entra does; listing the client's
// permissions and consenting to it still work, naming the removed API.
func TestRemovedRequiredResource(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	seedConsentScenario(t, db, opts)
	for _, args := range [][]string{
		{"app", "role", "add", "--app", apiApp, "--value", "Orders.Read"},
		{"app", "permission", "add", "--app", daemonApp, "--resource", "api://orders", "--role", "Orders.Read"},
		{"app", "remove", apiApp},
	} {
		if r := runCLI(t, db, opts, args...); r.code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, db, opts, "app", "permission", "list", "--app", daemonApp); r.code != exitOK || !strings.Contains(r.stdout, apiApp) {
		t.Errorf("permission list after the API was removed: exit %d\n%s%s; want the entry, by appId", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, db, opts, "consent", "grant", "--tenant", "contoso.onmicrosoft.com", "--client", daemonApp, "--admin"); r.code != exitOK || !strings.Contains(r.stdout+r.stderr, apiApp) {
		t.Errorf("admin consent after the API was removed: exit %d\n%s%s; want success naming the skipped API", r.code, r.stdout, r.stderr)
	}
}
