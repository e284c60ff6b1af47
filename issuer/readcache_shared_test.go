package issuer_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// TestReadCacheValuesUnchanged: the facts and tenants the read caches
// hand out are shared by every request that asks the same question, so no
// request may change them. After a batch of varied requests (client
// credentials by secret and certificate, v1 and v2, with and without
// roles, refused for each reason the facts give, a managed identity's
// token; then password, on-behalf-of
// and refresh, with scopes and a user's role), every cached value must
// still equal what the store answers afresh (the store hands each caller
// its own copy, so the fresh read is a deep copy of what was cached).
func TestReadCacheValuesUnchanged(t *testing.T) {
	w := newDelegatedWorld(t)
	ctx := context.Background()
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	v1, v2 := "/"+tenantA+"/oauth2/token", "/"+tenantA+"/oauth2/v2.0/token"
	assertion := signJWT(t, w.defaultAssertion(cert, fixedNow).header, w.defaultAssertion(cert, fixedNow).claims, cert.key)
	appOnly := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"v1 resource, a role", v1, ccForm("resource", "api://orders"), http.StatusOK},
		{"v2 scope, a role", v2, ccForm("scope", "api://inventory/.default"), http.StatusOK},
		{"tenant by domain", "/contoso.com/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"), http.StatusOK},
		{"no role", v2, ccForm("scope", "api://reports/.default"), http.StatusOK},
		{"certificate", v2, assertionForm(assertion, "scope", "api://inventory/.default"), http.StatusOK},
		{"another client", v2, ccForm("client_id", middleID, "client_secret", middleSecret, "scope", "api://downstream/.default"), http.StatusOK},
		{"assignment required", v1, ccForm("resource", "api://payroll"), http.StatusBadRequest},
		{"resource disabled", v1, ccForm("resource", "api://legacy"), http.StatusBadRequest},
		{"no such resource", v2, ccForm("scope", "api://nothing/.default"), http.StatusBadRequest},
		{"wrong secret", v2, ccForm("scope", "api://inventory/.default", "client_secret", "wrong-secret-value"), http.StatusUnauthorized},
		{"client disabled", v2, ccForm("client_id", disabledID, "client_secret", "disabled-secret-value-0001", "scope", "api://inventory/.default"), http.StatusBadRequest},
	}
	mi, err := w.Directory.AddManagedIdentity(ctx, tenantA, tenant.ManagedIdentitySpec{Name: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.manager().AssignRole(ctx, tenantA, "api://orders", "Orders.Read.All", consent.Assignee{ClientAppID: mi.AppID}); err != nil {
		t.Fatal(err)
	}
	runAppOnly := func() {
		t.Helper()
		for _, c := range appOnly {
			if r := w.post(t, c.path, c.form); r.status != c.status {
				t.Fatalf("%s: %d %s; want %d", c.name, r.status, r.body, c.status)
			}
		}
		// A managed identity's token, the other app-only flow.
		if _, err := w.Issuer.IssueManagedIdentityToken(ctx, issuer.ManagedIdentityRequest{TenantID: tenantA, ClientID: mi.AppID, Resource: "api://orders"}); err != nil {
			t.Fatalf("managed identity: %v", err)
		}
	}
	rt := w.tokenOK(t, v2, pwForm())["refresh_token"].(string)
	runDelegated := func() {
		t.Helper()
		ada := w.adaToken(t)
		w.tokenOK(t, v2, oboForm(ada))
		w.tokenOK(t, v2, oboForm(ada, "scope", "api://downstream/.default")) // Ada's Data.Admin role
		rt = w.tokenOK(t, v2, rtForm(rt))["refresh_token"].(string)
		if r := w.post(t, v2, pwForm("password", "wrong")); r.status != http.StatusBadRequest {
			t.Fatalf("wrong password: %d %s", r.status, r.body)
		}
	}

	runDelegated()
	runAppOnly() // fills the cache at the store's generation now
	facts, tenants := w.Issuer.ReadCacheForTest()
	// Nine questions (the tenant by domain, the certificate and the wrong
	// secret ask the same as "v2 scope, a role"; the managed identity its
	// own), two names of Contoso.
	if len(facts) != 9 || len(tenants) != 2 {
		t.Fatalf("%d facts and %d tenants cached; want 9 and 2", len(facts), len(tenants))
	}
	same := func(when string) {
		t.Helper()
		for _, c := range facts {
			fresh, err := consent.Resolve(ctx, w.DB, c.Request)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Facts, fresh) {
				t.Errorf("%s: the cached facts of %+v changed:\ncached %+v\nstore  %+v", when, c.Request, c.Facts, fresh)
			}
		}
		for ref, cached := range tenants {
			fresh, err := tenant.ResolveTenant(ctx, w.DB, ref)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cached, fresh) {
				t.Errorf("%s: the cached tenant %q changed:\ncached %+v\nstore  %+v", when, ref, cached, fresh)
			}
		}
	}
	same("before the requests")

	runAppOnly()
	runAppOnly()
	// The requests were answered from the very values taken above: the
	// cache holds the same pointers (nothing was written meanwhile).
	again, _ := w.Issuer.ReadCacheForTest()
	key := func(r consent.Request) [5]string {
		return [5]string{string(r.Flow), r.TenantRef, r.ClientAppID, r.ResourceName, r.UserRef}
	}
	held := map[[5]string]consent.Facts{}
	for _, c := range again {
		held[key(c.Request)] = c.Facts
	}
	for _, c := range facts {
		if h, ok := held[key(c.Request)]; !ok || h.ClientApp != c.Facts.ClientApp {
			t.Fatalf("the facts of %+v were read again: the requests did not share the cached values", c.Request)
		}
	}
	runDelegated() // the tenants: every flow reads its authority through the cache
	same("after the requests")
}
