package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Fixed ids of the group scenario.
const (
	approversGroup = "0000f001-0000-4000-8000-000000000001"
	managersGroup  = "0000f001-0000-4000-8000-000000000002"
	adaUPN         = "ada@contoso.com"
)

// seedGroupScenario sets up, through the CLI, tenant Contoso with users
// Ada and Bob, the daemon application and an API with a User role and an
// Application role.
func seedGroupScenario(t *testing.T, db string, opts []option) {
	t.Helper()
	for _, args := range [][]string{
		{"tenant", "add", "--name", "Contoso", "--id", contosoTenant, "--domain", "contoso.com"},
		{"user", "add", "--tenant", contosoTenant, "--upn", adaUPN, "--name", "Ada"},
		{"user", "add", "--tenant", contosoTenant, "--upn", "bob@contoso.com", "--name", "Bob", "--id", bobID},
		{"app", "add", "--tenant", contosoTenant, "--name", "Daemon", "--app-id", daemonApp},
		{"app", "add", "--tenant", contosoTenant, "--name", "Orders API", "--identifier-uri", "api://orders", "--app-id", apiApp},
		{"app", "role", "add", "--app", apiApp, "--value", "Orders.Approver", "--member-types", "User"},
		{"app", "role", "add", "--app", apiApp, "--value", "Orders.Read"},
	} {
		mustRun(t, db, opts, args...)
	}
}

// TestGroupCommands runs the group commands' success paths, in text and
// JSON, as one scenario, and compares each run with its golden file.
func TestGroupCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	seedGroupScenario(t, db, opts)
	c := "contoso.com"
	for _, s := range []struct {
		name string
		args []string
	}{
		{"group_add", []string{"group", "add", "--tenant", c, "--name", "Order Approvers", "--description", "May approve orders", "--id", strings.ToUpper(approversGroup)}},
		{"group_add_unified_json", []string{"-o", "json", "group", "add", "--tenant", c, "--name", "Sales", "--unified", "--security-enabled", "--mail-nickname", "sales"}},
		{"group_add_default_nickname", []string{"group", "add", "--tenant", contosoTenant, "--name", "Managers (EU)", "--id", managersGroup}},
		{"group_list", []string{"group", "list", "--tenant", c}},
		{"group_list_json", []string{"group", "list", "--tenant", c, "-o", "json"}},
		{"group_show_by_name", []string{"group", "show", "--tenant", c, "order APPROVERS"}},
		{"group_show_json_by_id", []string{"-o", "json", "group", "show", "--tenant", c, approversGroup}},
		{"group_update", []string{"group", "update", "--tenant", c, "Order Approvers", "--name", "Approvers", "--description", ""}},
		{"group_update_unified_json", []string{"-o", "json", "group", "update", "--tenant", c, "sales", "--security-enabled=false", "--mail-nickname", "sales-team"}},
		{"group_member_add_user", []string{"group", "member", "add", "--tenant", c, "Approvers", "ADA@contoso.com"}},
		{"group_member_add_client_json", []string{"-o", "json", "group", "member", "add", "--tenant", c, "Approvers", daemonApp}},
		{"group_member_add_group", []string{"group", "member", "add", "--tenant", c, approversGroup, managersGroup}},
		{"group_member_list", []string{"group", "member", "list", "--tenant", c, "Approvers"}},
		{"group_member_list_json", []string{"-o", "json", "group", "member", "list", "--tenant", c, approversGroup}},
		{"user_groups", []string{"user", "groups", "--tenant", c, adaUPN}},
		{"user_groups_none", []string{"user", "groups", "--tenant", c, bobID}},
		{"role_assign_group", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--group", "approvers"}},
		{"app_update_group_claims", []string{"app", "update", apiApp, "--group-membership-claims", "securitygroup, DirectoryRole"}},
		{"app_show_group_claims_json", []string{"-o", "json", "app", "show", apiApp}},
		{"consent_list_group", []string{"consent", "list", "--tenant", c}},
		{"group_member_remove", []string{"group", "member", "remove", "--tenant", c, "Approvers", "ada@contoso.com"}},
		{"role_unassign_group", []string{"role", "unassign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--group", approversGroup}},
		{"group_remove", []string{"group", "remove", "--tenant", c, "sales"}},
		{"group_remove_json", []string{"-o", "json", "group", "remove", "--tenant", c, "Approvers"}},
		{"group_list_after_remove", []string{"group", "list", "--tenant", c}},
	} {
		t.Run(s.name, func(t *testing.T) {
			r := runCLI(t, db, opts, s.args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(s.args, " "), r.code, r.stderr)
			}
			golden(t, s.name, r.transcript(dir, s.args))
		})
	}
}

// TestUserGroupsTransitive: --transitive adds the groups of the user's
// groups, at every level; without it, the direct ones.
func TestUserGroupsTransitive(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	seedGroupScenario(t, db, opts)
	c := "contoso.com"
	ids := map[string]string{}
	for _, name := range []string{"Staff", "Finance", "All"} {
		ids[name] = decode(t, mustRun(t, db, opts, "-o", "json", "group", "add", "--tenant", c, "--name", name))["id"].(string)
	}
	mustRun(t, db, opts, "group", "member", "add", "--tenant", c, "Staff", adaUPN)
	mustRun(t, db, opts, "group", "member", "add", "--tenant", c, "Finance", ids["Staff"])
	mustRun(t, db, opts, "group", "member", "add", "--tenant", c, "All", ids["Finance"])
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"user", "groups", "--tenant", c, adaUPN}, []string{"Staff"}},
		{[]string{"user", "groups", "--tenant", c, adaUPN, "--transitive"}, []string{"All", "Finance", "Staff"}},
		{[]string{"user", "groups", "--tenant", c, "bob@contoso.com", "--transitive"}, nil},
	} {
		out := mustRun(t, db, opts, append([]string{"-o", "json"}, tc.args...)...)
		var groups []struct{ DisplayName string }
		if err := json.Unmarshal([]byte(out), &groups); err != nil {
			t.Fatalf("not a JSON list: %v\n%s", err, out)
		}
		var got []string
		for _, g := range groups {
			got = append(got, g.DisplayName)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("issuer %s = %v; want %v", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// TestGroupRefusals checks the exit codes and messages of the group
// commands that must fail.
func TestGroupRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	seedGroupScenario(t, db, opts)
	c := "contoso.com"
	for _, args := range [][]string{
		{"group", "add", "--tenant", c, "--name", "Approvers", "--id", approversGroup},
		{"group", "add", "--tenant", c, "--name", "Sales", "--unified"},
		{"group", "add", "--tenant", c, "--name", "Twins"},
		{"group", "add", "--tenant", c, "--name", "twins"},
		{"group", "add", "--tenant", c, "--name", "Staff"},
		{"group", "member", "add", "--tenant", c, "Staff", approversGroup},
		{"group", "member", "add", "--tenant", c, "Approvers", adaUPN},
	} {
		mustRun(t, db, opts, args...)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"add to an unknown tenant", []string{"group", "add", "--tenant", "nosuch.com", "--name", "G"}, exitError, `tenant "nosuch.com": not found`},
		{"add without a name", []string{"group", "add", "--tenant", c}, exitUsage, `Required flag "name" not set`},
		{"add a blank name", []string{"group", "add", "--tenant", c, "--name", " "}, exitUsage, "needs a displayName"},
		{"add a name too long", []string{"group", "add", "--tenant", c, "--name", strings.Repeat("g", 257)}, exitUsage, "at most 256"},
		{"add security-enabled without unified", []string{"group", "add", "--tenant", c, "--name", "G", "--security-enabled"}, exitUsage, "--security-enabled goes with --unified"},
		{"add a bad mail nickname", []string{"group", "add", "--tenant", c, "--name", "G", "--mail-nickname", "g@g"}, exitUsage, "mailNickname"},
		{"add an id that is no GUID", []string{"group", "add", "--tenant", c, "--name", "G", "--id", "g1"}, exitUsage, "not a GUID"},
		{"add an id taken", []string{"group", "add", "--tenant", c, "--name", "G", "--id", approversGroup}, exitError, "exists"},
		{"add the id of a user", []string{"group", "add", "--tenant", c, "--name", "G", "--id", bobID}, exitError, "exists"},
		{"add with an argument", []string{"group", "add", "--tenant", c, "--name", "G", "extra"}, exitUsage, "takes no arguments"},
		{"list an unknown tenant", []string{"group", "list", "--tenant", "nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"list with an argument", []string{"group", "list", "--tenant", c, "x"}, exitUsage, "takes no arguments"},
		{"show an unknown group", []string{"group", "show", "--tenant", c, "Nobody"}, exitError, `group "Nobody" in tenant Contoso: not found`},
		{"show an unknown id", []string{"group", "show", "--tenant", c, unknownGUID}, exitError, `group "` + unknownGUID + `" in tenant Contoso: not found`},
		{"show a name two groups share", []string{"group", "show", "--tenant", c, "TWINS"}, exitUsage, "2 groups are named"},
		{"show without a group", []string{"group", "show", "--tenant", c}, exitUsage, "missing GROUP"},
		{"show in an unknown tenant", []string{"group", "show", "--tenant", "nosuch.com", "Staff"}, exitError, `tenant "nosuch.com": not found`},
		{"update without changes", []string{"group", "update", "--tenant", c, "Staff"}, exitUsage, "nothing to change"},
		{"update without a group", []string{"group", "update", "--tenant", c, "--name", "X"}, exitUsage, "missing GROUP"},
		{"update a security group to not security-enabled", []string{"group", "update", "--tenant", c, "Staff", "--security-enabled=false"}, exitUsage, "must be securityEnabled"},
		{"update a bad mail nickname", []string{"group", "update", "--tenant", c, "Sales", "--mail-nickname", "a b"}, exitUsage, "mailNickname"},
		{"update an unknown group", []string{"group", "update", "--tenant", c, "Nobody", "--name", "X"}, exitError, `group "Nobody" in tenant Contoso: not found`},
		{"remove an unknown group", []string{"group", "remove", "--tenant", c, "Nobody"}, exitError, `group "Nobody" in tenant Contoso: not found`},
		{"member add without a member", []string{"group", "member", "add", "--tenant", c, "Staff"}, exitUsage, "missing MEMBER"},
		{"member add to an unknown group", []string{"group", "member", "add", "--tenant", c, "Nobody", adaUPN}, exitError, `group "Nobody" in tenant Contoso: not found`},
		{"member add an unknown user", []string{"group", "member", "add", "--tenant", c, "Staff", "zed@contoso.com"}, exitError, `member "zed@contoso.com" in tenant Contoso: not found`},
		{"member add an unknown object id", []string{"group", "member", "add", "--tenant", c, "Staff", unknownGUID}, exitError, `member "` + unknownGUID + `" in tenant Contoso: not found`},
		{"member remove an unknown user", []string{"group", "member", "remove", "--tenant", c, "Staff", "zed@contoso.com"}, exitError, `member "zed@contoso.com" in tenant Contoso: not found`},
		{"member add twice", []string{"group", "member", "add", "--tenant", c, "Approvers", "ADA@contoso.com"}, exitError, "exists"},
		{"member add a group by name, which is read as a UPN", []string{"group", "member", "add", "--tenant", c, "Approvers", "Staff"}, exitError, "not found"},
		{"member add a cycle by id", []string{"group", "member", "add", "--tenant", c, approversGroup, approversGroup}, exitUsage, "cycle"},
		{"member add a service principal to a Microsoft 365 group", []string{"group", "member", "add", "--tenant", c, "Sales", daemonApp}, exitUsage, "are users"},
		{"member add a Microsoft 365 group", []string{"group", "member", "add", "--tenant", c, "Staff", salesIDOf(t, db, opts)}, exitUsage, "cannot be a member of another group"},
		{"member remove one that is not", []string{"group", "member", "remove", "--tenant", c, "Staff", adaUPN}, exitError, `"` + adaUPN + `" is not a direct member of group Staff in tenant Contoso: not found`},
		{"member list of an unknown group", []string{"group", "member", "list", "--tenant", c, "Nobody"}, exitError, `group "Nobody" in tenant Contoso: not found`},
		{"member list with a member", []string{"group", "member", "list", "--tenant", c, "Staff", adaUPN}, exitUsage, "want GROUP, got 2 arguments"},
		{"user groups of an unknown user", []string{"user", "groups", "--tenant", c, "zed@contoso.com"}, exitError, `user "zed@contoso.com" in tenant Contoso: not found`},
		{"user groups of a service principal", []string{"user", "groups", "--tenant", c, daemonApp}, exitError, "not found"},
		{"user groups without a user", []string{"user", "groups", "--tenant", c}, exitUsage, "missing USER"},
		{"role to an unknown group", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--group", "Nobody"}, exitError, "not found"},
		{"application permission to a group", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Read", "--group", "Staff"}, exitUsage, "allows member types Application, not User"},
		{"role to a group and a user", []string{"role", "assign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--group", "Staff", "--user", adaUPN}, exitUsage, "give one of --client APPID, --user UPN or --group GROUP"},
		{"unassign what a group does not hold", []string{"role", "unassign", "--tenant", c, "--resource", "api://orders", "--role", "Orders.Approver", "--group", "Staff"}, exitError, "not found"},
		{"group claims unknown", []string{"app", "update", apiApp, "--group-membership-claims", "SecurityGroup,Everyone"}, exitUsage, "want None, SecurityGroup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) || tc.wantCode == exitError && r.stdout != "" {
				t.Errorf("issuer %s: exit %d, stdout %q, stderr %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// salesIDOf is the object id of the group Sales.
func salesIDOf(t *testing.T, db string, opts []option) string {
	t.Helper()
	return decode(t, mustRun(t, db, opts, "-o", "json", "group", "show", "--tenant", "contoso.com", "Sales"))["id"].(string)
}

// TestGroupCommandsLive: while `issuer serve` holds the database, the
// group commands go through its admin socket and print what they print on
// a database of their own.
func TestGroupCommandsLive(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	startServeWith(t, db, fixed(), "serve", "--addr", "127.0.0.1:0")
	direct := filepath.Join(t.TempDir(), "direct.db")
	directOpts := fixed()
	c := "contoso.com"
	for _, s := range []struct {
		args     []string
		wantExit int
	}{
		{[]string{"tenant", "add", "--name", "Contoso", "--id", contosoTenant, "--domain", "contoso.com"}, exitOK},
		{[]string{"user", "add", "--tenant", c, "--upn", adaUPN, "--id", bobID}, exitOK},
		{[]string{"group", "add", "--tenant", c, "--name", "Approvers", "--id", approversGroup}, exitOK},
		{[]string{"group", "add", "--tenant", c, "--name", "Staff", "--id", unknownGUID}, exitOK},
		{[]string{"group", "member", "add", "--tenant", c, "Approvers", adaUPN}, exitOK},
		{[]string{"group", "member", "add", "--tenant", c, "Staff", approversGroup}, exitOK},
		{[]string{"group", "member", "add", "--tenant", c, "Approvers", unknownGUID}, exitUsage},
		{[]string{"-o", "json", "group", "member", "list", "--tenant", c, "Approvers"}, exitOK},
		{[]string{"user", "groups", "--tenant", c, adaUPN, "--transitive"}, exitOK},
		{[]string{"group", "update", "--tenant", c, "Staff", "--description", "Everyone"}, exitOK},
		{[]string{"group", "show", "--tenant", c, "Nobody"}, exitError},
		{[]string{"group", "remove", "--tenant", c, "Staff"}, exitOK},
		{[]string{"group", "list", "--tenant", c}, exitOK},
	} {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			got := runCLI(t, db, nil, s.args...)
			want := runCLI(t, direct, directOpts, s.args...)
			if got != want || got.code != s.wantExit {
				t.Fatalf("through the server:\n%+v\ndirectly:\n%+v\nwant the same, exit %d", got, want, s.wantExit)
			}
		})
	}
}
