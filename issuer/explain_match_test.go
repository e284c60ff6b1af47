package issuer_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
)

// TestExplainMatchesTokenEndpoint checks that `issuer explain` (consent.Explain
// with issuer.DenialError) and the token endpoint give the same answer for
// the same delegated request: the same AADSTS code, `error` and status, or
// both a token with the same scp and roles.
func TestExplainMatchesTokenEndpoint(t *testing.T) {
	w := newDelegatedWorld(t)
	ctx := context.Background()
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	ada := w.adaToken(t)
	for _, tc := range []struct {
		name  string
		query consent.Query
		form  url.Values
	}{
		{"password: granted",
			consent.Query{Flow: consent.FlowPassword, TenantRef: tenantA, ClientAppID: nativeID, ResourceName: "api://middle", UserRef: adaUPN, Scopes: []string{"access_as_user"}},
			pwForm("scope", "api://middle/access_as_user")},
		{"password: no consent",
			consent.Query{Flow: consent.FlowPassword, TenantRef: tenantA, ClientAppID: nativeID, ResourceName: "api://downstream", UserRef: adaUPN, Scopes: []string{"Data.Read"}},
			pwForm("scope", "api://downstream/Data.Read")},
		{"password: disabled user",
			consent.Query{Flow: consent.FlowPassword, TenantRef: tenantA, ClientAppID: nativeID, ResourceName: "api://middle", UserRef: graceUPN},
			pwForm("scope", "api://middle/.default", "username", graceUPN)},
		{"password: assignment required",
			consent.Query{Flow: consent.FlowPassword, TenantRef: tenantA, ClientAppID: middleID, ResourceName: "api://payroll", UserRef: adaUPN, Scopes: []string{"Payroll.Read"}},
			pwForm("client_id", middleID, "client_secret", middleSecret, "scope", "api://payroll/Payroll.Read")},
		{"on-behalf-of: granted, with roles",
			consent.Query{Flow: consent.FlowOnBehalfOf, TenantRef: tenantA, ClientAppID: middleID, ResourceName: "api://downstream", UserRef: adaUPN},
			oboForm(ada, "scope", "api://downstream/.default")},
		{"on-behalf-of: no consent for an Admin scope",
			consent.Query{Flow: consent.FlowOnBehalfOf, TenantRef: tenantA, ClientAppID: middleID, ResourceName: "api://downstream", UserRef: adaUPN, Scopes: []string{"Data.Write"}},
			oboForm(ada, "scope", "api://downstream/Data.Write")},
		{"on-behalf-of: unexposed scope",
			consent.Query{Flow: consent.FlowOnBehalfOf, TenantRef: tenantA, ClientAppID: middleID, ResourceName: "api://downstream", UserRef: adaUPN, Scopes: []string{"Nope"}},
			oboForm(ada, "scope", "api://downstream/Nope")},
		{"on-behalf-of: resource not in the tenant",
			consent.Query{Flow: consent.FlowOnBehalfOf, TenantRef: tenantA, ClientAppID: middleID, ResourceName: "api://fabrikam", UserRef: adaUPN},
			oboForm(ada, "scope", "api://fabrikam/.default")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := consent.Explain(ctx, w.DB, consent.NewEngine(w.DB), tc.query)
			if err != nil {
				t.Fatal(err)
			}
			r := w.post(t, v2, tc.form)
			if ex.Denial != nil {
				e := issuer.DenialError(ex.Denial)
				checkRefused(t, r, e.Code, e.OAuthError(), e.Status(), e.SubError)
				return
			}
			if r.status != 200 {
				t.Fatalf("explain issues a token, the endpoint answers %d\n%s", r.status, r.body)
			}
			var m map[string]any
			r.decode(t, &m)
			c := claimsOf(t, m["access_token"].(string))
			if c["scp"] != strings.Join(ex.Decision.Scopes, " ") {
				t.Errorf("scp %v; explain says %v", c["scp"], ex.Decision.Scopes)
			}
			if _, has := c["roles"]; has != (len(ex.Decision.Roles) > 0) {
				t.Errorf("roles %v; explain says %v", c["roles"], ex.Decision.Roles)
			}
		})
	}
}
