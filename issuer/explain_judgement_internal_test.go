package issuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// TestExplainJudgesAsTheTokenEndpoint shows that `issuer explain` and the
// token endpoint give the same answer by construction. Both judge a
// consent.Request with consent.Decide on the facts consent.Resolve read for
// it; so the answers are equal whenever the two build the same Request over
// the same directory. For each scenario the test runs the grant, takes the
// Request and Facts it judged, and checks that consent.Explain, asked the
// question of the scenario, judged exactly that pair and gives the answer the
// endpoint gave: the same AADSTS code, `error`, status and message, or a
// token with the same scp and roles. It also checks each scenario's expected
// answer.
func TestExplainJudgesAsTheTokenEndpoint(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "judge.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d := tenant.NewDirectory(db)
	mgr := consent.NewManager(d, db)
	contoso, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"})
	must(contoso, err)
	api, err := d.RegisterApplication(ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2})
	must(api, err)
	must(d.AddScope(ctx, api.AppID, tenant.ScopeSpec{Value: "access_as_user"}))
	must(d.AddScope(ctx, api.AppID, tenant.ScopeSpec{Value: "Orders.Write", Type: "Admin"}))
	must(d.AddAppRole(ctx, api.AppID, tenant.AppRoleSpec{Value: "Orders.Read.All"}))
	must(d.AddAppRole(ctx, api.AppID, tenant.AppRoleSpec{Value: "Orders.Approver", AllowedMemberTypes: []string{tenant.MemberTypeUser}}))
	payroll, err := d.RegisterApplication(ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Payroll", IdentifierURIs: []string{"api://payroll"}})
	must(payroll, err)
	must(d.AddScope(ctx, payroll.AppID, tenant.ScopeSpec{Value: "Payroll.Read"}))
	yes := true
	must(d.UpdateServicePrincipal(ctx, contoso.ID, payroll.AppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes}))

	daemon, err := d.RegisterApplication(ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	must(daemon, err)
	_, daemonSecret, err := d.AddPassword(ctx, daemon.AppID, tenant.PasswordSpec{DisplayName: "test"})
	must(nil, err)
	must(mgr.AssignRole(ctx, contoso.ID, "api://orders", "Orders.Read.All", consent.Assignee{ClientAppID: daemon.AppID}))
	web, err := d.RegisterApplication(ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Web", IdentifierURIs: []string{"api://web"}})
	must(web, err)
	_, webSecret, err := d.AddPassword(ctx, web.AppID, tenant.PasswordSpec{DisplayName: "test"})
	must(nil, err)
	must(d.AddScope(ctx, web.AppID, tenant.ScopeSpec{Value: "user_impersonation"}))
	must(d.AddRequiredResourceAccess(ctx, web.AppID, "api://orders", []string{"access_as_user"}, nil))
	must(d.AddRequiredResourceAccess(ctx, web.AppID, "api://payroll", []string{"Payroll.Read"}, nil))
	must(mgr.GrantAdminConsent(ctx, contoso.ID, web.AppID))
	native, err := d.RegisterApplication(ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	must(native, err)
	must(d.AddRequiredResourceAccess(ctx, native.AppID, "api://web", []string{"user_impersonation"}, nil))
	must(mgr.GrantAdminConsent(ctx, contoso.ID, native.AppID))

	const password = "correct horse battery staple"
	ada, err := d.AddUser(ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", Password: password})
	must(ada, err)
	must(mgr.AssignRole(ctx, contoso.ID, "api://orders", "Orders.Approver", consent.Assignee{User: ada.ID}))
	grace, err := d.AddUser(ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: "grace@contoso.onmicrosoft.com", Password: password, Disabled: true})
	must(grace, err)

	s, err := New(ctx, db, Config{BaseURL: "https://issuer.test"})
	must(s, err)
	// The assertion of the on-behalf-of scenarios: ada's token for Web.
	assertion, err := s.IssueUserToken(ctx, UserTokenRequest{Tenant: contoso.ID, User: ada.UserPrincipalName, ClientAppID: native.AppID, Resource: "api://web"})
	must(assertion, err)

	cc := func(client, secret, scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}, "scope": {scope}}
	}
	pw := func(user, scope string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {native.AppID}, "username": {user}, "password": {password}, "scope": {scope}}
	}
	pwWeb := func(scope string) url.Values {
		f := pw(ada.UserPrincipalName, scope)
		f.Set("client_id", web.AppID)
		f.Set("client_secret", webSecret)
		return f
	}
	obo := func(scope string) url.Values {
		return url.Values{"grant_type": {grantJWTBearer}, "requested_token_use": {"on_behalf_of"}, "assertion": {assertion},
			"client_id": {web.AppID}, "client_secret": {webSecret}, "scope": {scope}}
	}
	q := func(flow consent.Flow, client, resource, user string, scopes ...string) consent.Query {
		return consent.Query{Flow: flow, TenantRef: contoso.ID, ClientAppID: client, ResourceName: resource, UserRef: user, Scopes: scopes}
	}
	for _, tc := range []struct {
		name     string
		form     url.Values
		query    consent.Query
		wantCode int      // 0: a token
		wantScp  []string // of the token
		wantRole []string
	}{
		{"client credentials: granted, with roles", cc(daemon.AppID, daemonSecret, "api://orders/.default"),
			q(consent.FlowClientCredentials, daemon.AppID, "api://orders", ""), 0, nil, []string{"Orders.Read.All"}},
		{"client credentials: assignment required", cc(daemon.AppID, daemonSecret, "api://payroll/.default"),
			q(consent.FlowClientCredentials, daemon.AppID, "api://payroll", ""), CodeClientNotAssigned, nil, nil},
		{"client credentials: resource not in the tenant", cc(daemon.AppID, daemonSecret, "api://nowhere/.default"),
			q(consent.FlowClientCredentials, daemon.AppID, "api://nowhere", ""), CodeResourceNotFound, nil, nil},
		{"client credentials: unknown client", cc(tenant.NewGUID(), daemonSecret, "api://orders/.default"),
			q(consent.FlowClientCredentials, "", "api://orders", ""), CodeApplicationNotFound, nil, nil},
		{"password: granted", pw(ada.UserPrincipalName, "api://web/user_impersonation"),
			q(consent.FlowPassword, native.AppID, "api://web", ada.UserPrincipalName, "user_impersonation"), 0, []string{"user_impersonation"}, nil},
		{"password: no consent", pw(ada.UserPrincipalName, "api://orders/access_as_user"),
			q(consent.FlowPassword, native.AppID, "api://orders", ada.UserPrincipalName, "access_as_user"), CodeConsentRequired, nil, nil},
		{"password: disabled user", pw(grace.UserPrincipalName, "api://web/.default"),
			q(consent.FlowPassword, native.AppID, "api://web", grace.UserPrincipalName), CodeUserDisabled, nil, nil},
		{"password: assignment required", pwWeb("api://payroll/Payroll.Read"),
			q(consent.FlowPassword, web.AppID, "api://payroll", ada.UserPrincipalName, "Payroll.Read"), CodeUserNotAssigned, nil, nil},
		{"on-behalf-of: granted, with roles", obo("api://orders/.default"),
			q(consent.FlowOnBehalfOf, web.AppID, "api://orders", ada.ID), 0, []string{"access_as_user"}, []string{"Orders.Approver"}},
		{"on-behalf-of: no consent for an Admin scope", obo("api://orders/Orders.Write"),
			q(consent.FlowOnBehalfOf, web.AppID, "api://orders", ada.ID, "Orders.Write"), CodeConsentRequired, nil, nil},
		{"on-behalf-of: unexposed scope", obo("api://orders/Nope"),
			q(consent.FlowOnBehalfOf, web.AppID, "api://orders", ada.ID, "Nope"), CodeInvalidScope, nil, nil},
		{"on-behalf-of: resource not in the tenant", obo("api://fabrikam/.default"),
			q(consent.FlowOnBehalfOf, web.AppID, "api://fabrikam", ada.ID), CodeResourceNotFound, nil, nil},
		{"on-behalf-of: user not assigned", obo("api://payroll/Payroll.Read"),
			q(consent.FlowOnBehalfOf, web.AppID, "api://payroll", ada.ID, "Payroll.Read"), CodeUserNotAssigned, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.query.ClientAppID == "" {
				tc.query.ClientAppID = tc.form.Get("client_id")
			}
			r := httptest.NewRequest(http.MethodPost, "/"+contoso.ID+"/oauth2/v2.0/token", strings.NewReader(tc.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			form, err := readTokenForm(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			req, err := parseTokenRequest(form, "", "", false, 2, contoso.ID)
			if err != nil {
				t.Fatal(err)
			}
			c := s.begin(r)
			out, tokenErr := s.token(ctx, c, req)

			ex, err := consent.Explain(ctx, db, tc.query)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			if c.judged == nil {
				t.Fatalf("the token endpoint judged nothing (%v)", tokenErr)
			}
			if !reflect.DeepEqual(c.judged.req, ex.Request) {
				t.Errorf("the token endpoint judged %+v; explain %+v", c.judged.req, ex.Request)
			}
			if !reflect.DeepEqual(c.judged.facts, ex.Facts) {
				t.Errorf("the token endpoint judged the facts\n%+v\nexplain\n%+v", c.judged.facts, ex.Facts)
			}

			var e *Error
			switch {
			case tc.wantCode != 0:
				if !errors.As(tokenErr, &e) || e.Code != tc.wantCode {
					t.Fatalf("token endpoint: %v; want AADSTS%d", tokenErr, tc.wantCode)
				}
				if ex.Denial == nil {
					t.Fatalf("explain issues %+v; the endpoint refused: %v", ex.Decision, tokenErr)
				}
				want := DenialError(ex.Denial)
				if e.Code != want.Code || e.OAuthError() != want.OAuthError() || e.Status() != want.Status() || e.Message != want.Message {
					t.Errorf("token endpoint: AADSTS%d %s %d %q; explain: AADSTS%d %s %d %q",
						e.Code, e.OAuthError(), e.Status(), e.Message, want.Code, want.OAuthError(), want.Status(), want.Message)
				}
			case tokenErr != nil:
				t.Fatalf("token endpoint: %v; want a token", tokenErr)
			case ex.Decision == nil:
				t.Fatalf("explain refuses (%+v); the endpoint issued a token", ex.Denial)
			default:
				claims := payload(t, out.token)
				if got := claims["scp"]; got != nil && got != strings.Join(ex.Decision.Scopes, " ") || got == nil && ex.Decision.Scopes != nil {
					t.Errorf("scp %v; explain says %v", got, ex.Decision.Scopes)
				}
				if !slices.Equal(ex.Decision.Scopes, tc.wantScp) || !slices.Equal(ex.Decision.Roles, tc.wantRole) {
					t.Errorf("explain: scp %v roles %v; want %v %v", ex.Decision.Scopes, ex.Decision.Roles, tc.wantScp, tc.wantRole)
				}
				var roles []string
				for _, r := range asSlice(claims["roles"]) {
					roles = append(roles, r.(string))
				}
				if !slices.Equal(roles, ex.Decision.Roles) {
					t.Errorf("roles %v; explain says %v", roles, ex.Decision.Roles)
				}
			}
		})
	}
}

// payload decodes the claims of a compact JWS.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
