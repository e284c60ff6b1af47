package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// ask is a client-credentials request of the consent scenarios.
type ask struct {
	tenant   string // path segment; default tenantA
	client   string
	secret   string
	resource string // identifier URI or appId
	endpoint int    // 1: /oauth2/token with resource=; default 2: /oauth2/v2.0/token with scope=
}

// outcome is what a request must get: a token of a version, issued in a
// tenant to the client's service principal there, with roles; or an AADSTS
// code.
type outcome struct {
	code    int
	version int
	tid     string
	roles   []string // nil: the token has no roles claim
}

// consentStep changes the directory as an administrator would, then asks
// for a token.
type consentStep struct {
	name string
	do   func(t *testing.T, w *world)
	ask  ask
	want outcome
}

// TestConsentEndToEnd runs issue 3's seed scenarios through the token
// endpoint over TLS: grants made with consent.Manager (as the CLI's consent
// and role commands make them) and directory changes show in the very next
// token, with Entra's AADSTS codes for refusals (protocol.md §4.2). After
// every request, consent.Explain is asked the same question and must give
// the same answer: the same token version and roles, or the same AADSTS
// code, `error` and status through issuer.DenialError.
func TestConsentEndToEnd(t *testing.T) {
	ctx := context.Background()
	granted := func(resource string) ask { return ask{client: grantedID, secret: grantedSecret, resource: resource} }
	partner := func(tenantSegment string) ask {
		return ask{tenant: tenantSegment, client: partnerID, secret: partnerSecret, resource: "api://shared"}
	}
	adminConsent := func(tenantRef, appID string) func(*testing.T, *world) {
		return func(t *testing.T, w *world) {
			if _, err := w.manager().GrantAdminConsent(ctx, tenantRef, appID); err != nil {
				t.Fatalf("GrantAdminConsent(%s, %s): %v", tenantRef, appID, err)
			}
		}
	}
	assign := func(resource, role, appID string) func(*testing.T, *world) {
		return func(t *testing.T, w *world) {
			if _, err := w.manager().AssignRole(ctx, tenantA, resource, role, consent.Assignee{ClientAppID: appID}); err != nil {
				t.Fatalf("AssignRole(%s, %s): %v", resource, role, err)
			}
		}
	}
	unassign := func(resource, role, appID string) func(*testing.T, *world) {
		return func(t *testing.T, w *world) {
			if _, err := w.manager().UnassignRole(ctx, tenantA, resource, role, consent.Assignee{ClientAppID: appID}); err != nil {
				t.Fatalf("UnassignRole(%s, %s): %v", resource, role, err)
			}
		}
	}
	enableSP := func(appID string, enabled bool) func(*testing.T, *world) {
		return func(t *testing.T, w *world) {
			if _, err := w.Directory.UpdateServicePrincipal(ctx, tenantA, appID, tenant.ServicePrincipalUpdate{AccountEnabled: &enabled}); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, tc := range []struct {
		name  string
		steps []consentStep
	}{
		{name: "admin consent grants app roles on v1 and v2 resources", steps: []consentStep{
			{name: "before consent, no roles", ask: granted("api://orders"), want: outcome{version: 1}},
			{name: "v1 resource", do: adminConsent(tenantA, grantedID), ask: granted("api://orders"), want: outcome{version: 1, roles: []string{"Orders.Read.All"}}},
			{name: "v2 resource", ask: granted("api://inventory"), want: outcome{version: 2, roles: []string{"Inventory.Read.All"}}},
			{name: "v2 resource on the v1 endpoint", ask: ask{client: grantedID, secret: grantedSecret, resource: inventoryID, endpoint: 1},
				want: outcome{version: 2, roles: []string{"Inventory.Read.All"}}},
			{name: "assignment-required resource", ask: granted("api://payroll"), want: outcome{version: 1, roles: []string{"Payroll.Read.All"}}},
		}},
		{name: "role assigned directly", steps: []consentStep{
			{name: "assigned", do: assign("api://orders", "Orders.Write.All", grantedID), ask: granted("api://orders"),
				want: outcome{version: 1, roles: []string{"Orders.Write.All"}}},
			{name: "second role, in the resource's order", do: assign("api://orders", "Orders.Read.All", grantedID), ask: granted(ordersID),
				want: outcome{version: 1, roles: []string{"Orders.Read.All", "Orders.Write.All"}}},
		}},
		{name: "disabled role dropped", steps: []consentStep{
			{name: "both roles", do: func(t *testing.T, w *world) {
				assign("api://orders", "Orders.Read.All", grantedID)(t, w)
				assign("api://orders", "Orders.Write.All", grantedID)(t, w)
			}, ask: granted("api://orders"), want: outcome{version: 1, roles: []string{"Orders.Read.All", "Orders.Write.All"}}},
			{name: "Orders.Write.All disabled", do: func(t *testing.T, w *world) {
				if _, err := w.Directory.SetAppRoleEnabled(ctx, ordersID, "Orders.Write.All", false); err != nil {
					t.Fatal(err)
				}
			}, ask: granted("api://orders"), want: outcome{version: 1, roles: []string{"Orders.Read.All"}}},
		}},
		{name: "assignment required", steps: []consentStep{
			{name: "unassigned daemon", ask: granted("api://payroll"), want: outcome{code: 501051}},
			{name: "assigned daemon", do: assign("api://payroll", "Payroll.Read.All", grantedID), ask: granted("api://payroll"),
				want: outcome{version: 1, roles: []string{"Payroll.Read.All"}}},
		}},
		{name: "multi-tenant daemon in a second tenant", steps: []consentStep{
			{name: "home tenant", ask: partner(tenantA), want: outcome{version: 2, roles: []string{sharedReadRole, sharedWriteRole}}},
			{name: "before admin consent", ask: partner(tenantB), want: outcome{code: 700016}},
			{name: "before admin consent, by domain", ask: partner(domainB), want: outcome{code: 700016}},
			{name: "after admin consent", do: func(t *testing.T, w *world) {
				// Admin consent provisions the client and the multi-tenant
				// API it requires in the consenting tenant.
				for _, app := range []string{partnerID, sharedAPIID} {
					if _, err := w.DB.GetServicePrincipal(ctx, tenantB, app); !errors.Is(err, tenant.ErrNotFound) {
						t.Fatalf("service principal of %s in Fabrikam before consent: %v; want not found", app, err)
					}
				}
				adminConsent(domainB, partnerID)(t, w)
				for _, app := range []string{partnerID, sharedAPIID} {
					if w.servicePrincipalID(t, tenantB, app) == w.servicePrincipalID(t, tenantA, app) {
						t.Errorf("service principal of %s in Fabrikam has Contoso's object id", app)
					}
				}
			}, ask: partner(tenantB),
				want: outcome{version: 2, tid: tenantB, roles: []string{sharedReadRole}}},
			{name: "after admin consent, by domain on v1", ask: ask{tenant: domainB, client: partnerID, secret: partnerSecret, resource: "api://shared", endpoint: 1},
				want: outcome{version: 2, tid: tenantB, roles: []string{sharedReadRole}}},
			{name: "home tenant unchanged", ask: partner(tenantA), want: outcome{version: 2, roles: []string{sharedReadRole, sharedWriteRole}}},
			{name: "single-tenant API of the home tenant is not in the second", ask: ask{tenant: tenantB, client: partnerID, secret: partnerSecret, resource: "api://orders"},
				want: outcome{code: 500011}},
		}},
		{name: "revoked assignment disappears from the next token", steps: []consentStep{
			{name: "consented", do: adminConsent(tenantA, grantedID), ask: granted("api://orders"), want: outcome{version: 1, roles: []string{"Orders.Read.All"}}},
			{name: "UnassignRole", do: unassign("api://orders", "Orders.Read.All", grantedID), ask: granted("api://orders"), want: outcome{version: 1}},
			{name: "other roles stay", ask: granted("api://payroll"), want: outcome{version: 1, roles: []string{"Payroll.Read.All"}}},
			{name: "Revoke", do: func(t *testing.T, w *world) {
				if _, err := w.manager().Revoke(ctx, tenantA, grantedID, ""); err != nil {
					t.Fatal(err)
				}
			}, ask: granted("api://payroll"), want: outcome{code: 501051}},
			{name: "after Revoke, no roles", ask: granted("api://inventory"), want: outcome{version: 2}},
		}},
		{name: "resource service principal disabled", steps: []consentStep{
			{name: "enabled", do: adminConsent(tenantA, grantedID), ask: granted("api://inventory"), want: outcome{version: 2, roles: []string{"Inventory.Read.All"}}},
			{name: "disabled", do: enableSP(inventoryID, false), ask: granted("api://inventory"), want: outcome{code: 500014}},
			{name: "enabled again", do: enableSP(inventoryID, true), ask: granted("api://inventory"), want: outcome{version: 2, roles: []string{"Inventory.Read.All"}}},
		}},
		{name: "client service principal disabled", steps: []consentStep{
			{name: "enabled", do: adminConsent(tenantA, grantedID), ask: granted("api://orders"), want: outcome{version: 1, roles: []string{"Orders.Read.All"}}},
			{name: "disabled", do: enableSP(grantedID, false), ask: granted("api://orders"), want: outcome{code: 7000112}},
			{name: "disabled, with a wrong secret", ask: ask{client: grantedID, secret: "wrong-secret-value-0001", resource: "api://orders"}, want: outcome{code: 7000112}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.addConsentApps()
			for _, s := range tc.steps {
				if !t.Run(s.name, func(t *testing.T) {
					if s.do != nil {
						s.do(t, w)
					}
					got := w.requestToken(t, s.ask)
					if s.want.code != 0 {
						if got.code != s.want.code {
							t.Fatalf("token request = %s; want AADSTS%d", got, s.want.code)
						}
					} else {
						w.checkIssued(t, s.ask, s.want, got)
					}
					w.checkExplained(t, s.ask, got)
				}) {
					return // later steps build on this one
				}
			}
		})
	}
}

// tokenAnswer is what the token endpoint answered, reduced to what Explain
// must agree with.
type tokenAnswer struct {
	status  int
	code    int    // AADSTS code of a refusal
	oauth   string // `error` of a refusal
	claims  map[string]any
	version int
	roles   []string
}

func (a tokenAnswer) String() string {
	if a.code != 0 {
		return fmt.Sprintf("HTTP %d %s AADSTS%d", a.status, a.oauth, a.code)
	}
	return fmt.Sprintf("v%d token with roles %v", a.version, a.roles)
}

// requestToken sends a's client-credentials request with the client secret
// in the form, and verifies a token as a relying party would (signature
// against the JWKS of the token's tenant, iss equal to its discovery issuer).
func (w *world) requestToken(t *testing.T, a ask) tokenAnswer {
	t.Helper()
	seg := a.tenant
	if seg == "" {
		seg = tenantA
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.secret}}
	path := "/" + seg + "/oauth2/v2.0/token"
	if a.endpoint == 1 {
		path = "/" + seg + "/oauth2/token"
		form.Set("resource", a.resource)
	} else {
		form.Set("scope", a.resource+"/.default")
	}
	r := w.post(t, path, form)
	if r.status != 200 {
		var e errorResponse
		r.decode(t, &e)
		if len(e.ErrorCodes) != 1 {
			t.Fatalf("POST %s = %d with error_codes %v; want one code\n%s", path, r.status, e.ErrorCodes, r.body)
		}
		return tokenAnswer{status: r.status, code: e.ErrorCodes[0], oauth: e.Error}
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(t, &body)
	// The token's version decides which discovery document verifies it.
	ver, _ := decodeSegment(t, body.AccessToken, 1)["ver"].(string)
	version := 2
	if ver == "1.0" {
		version = 1
	}
	c := w.verify(t, body.AccessToken, seg, version).claims
	ans := tokenAnswer{status: r.status, claims: c, version: version}
	if rs, ok := c["roles"]; ok {
		ans.roles = stringSlice(rs)
		if len(ans.roles) == 0 {
			t.Errorf("roles claim is an empty array; Entra omits it when no role is granted")
		}
	}
	return ans
}

// checkIssued checks the token against want: version, roles, and the tenant
// it was issued in: tid, and oid/sub of the client's service principal
// there (protocol.md §4.2 step 7, §4.4).
func (w *world) checkIssued(t *testing.T, a ask, want outcome, got tokenAnswer) {
	t.Helper()
	if got.code != 0 {
		t.Fatalf("token request = %s; want a v%d token with roles %v", got, want.version, want.roles)
	}
	if got.version != want.version || !slices.Equal(got.roles, want.roles) {
		t.Errorf("token = %s; want v%d with roles %v", got, want.version, want.roles)
	}
	tid := want.tid
	if tid == "" {
		tid = tenantA
	}
	sp := w.servicePrincipalID(t, tid, a.client)
	checkClaim(t, got.claims, "tid", tid)
	checkClaim(t, got.claims, "oid", sp)
	checkClaim(t, got.claims, "sub", sp)
	clientClaim := "azp"
	if want.version == 1 {
		clientClaim = "appid"
	}
	checkClaim(t, got.claims, clientClaim, a.client)
}

// checkExplained asks consent.Explain the question the token request asked
// and checks that it gives the token endpoint's answer.
func (w *world) checkExplained(t *testing.T, a ask, got tokenAnswer) {
	t.Helper()
	seg := a.tenant
	if seg == "" {
		seg = tenantA
	}
	ex, err := consent.Explain(context.Background(), w.DB,
		consent.Query{TenantRef: seg, ClientAppID: a.client, ResourceName: a.resource})
	if err != nil {
		t.Fatalf("Explain: %v", err)
	}
	switch {
	case got.code != 0 && ex.Denial == nil:
		t.Errorf("Explain = a v%d token with roles %v; the token endpoint answered %s", ex.Decision.TokenVersion, ex.Decision.Roles, got)
	case got.code != 0:
		e := issuer.DenialError(ex.Denial)
		if e.Code != got.code || e.OAuthError() != got.oauth || e.Status() != got.status {
			t.Errorf("Explain = HTTP %d %s AADSTS%d (%s); the token endpoint answered %s", e.Status(), e.OAuthError(), e.Code, ex.Denial.Reason, got)
		}
		var d *consent.Denial
		if !errors.As(e, &d) || d != ex.Denial {
			t.Errorf("DenialError does not keep the Denial as its cause")
		}
	case ex.Denial != nil:
		t.Errorf("Explain = denial %s (%s); the token endpoint answered %s", ex.Denial.Reason, ex.Denial.Detail, got)
	case ex.Decision.TokenVersion != got.version || !slices.Equal(ex.Decision.Roles, got.roles):
		t.Errorf("Explain = v%d with roles %v; the token endpoint answered %s", ex.Decision.TokenVersion, ex.Decision.Roles, got)
	}
}
