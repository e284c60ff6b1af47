package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// TestSignInLog: every token request leaves one entry with what the grant
// resolved, and a refusal its AADSTS code, OAuth error and reason; nothing
// secret is recorded.
func TestSignInLog(t *testing.T) {
	w := newWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	const wrongSecret = "wrong-secret-value-0001"
	var token string
	requests := []struct {
		name string
		path string
		form []string
		want issuer.SignIn // Seq, Time, TraceID and Detail are checked apart
	}{
		{"token", v2, []string{"scope", "api://inventory/.default"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: clientID, Resource: "api://inventory", Flow: "client_credentials", Result: "success", Status: 200}},
		{"wrong secret", "/" + domainA + "/oauth2/v2.0/token", []string{"scope", "api://inventory/.default", "client_secret", wrongSecret},
			issuer.SignIn{Tenant: domainA, TenantID: tenantA, ClientID: clientID, Resource: "api://inventory/.default", Flow: "client_credentials",
				Result: "failure", Status: 401, ErrorCode: 7000215, Error: "invalid_client", Reason: "client_secret_invalid"}},
		{"not assigned", v2, []string{"scope", "api://payroll/.default"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: clientID, Resource: "api://payroll", Flow: "client_credentials",
				Result: "failure", Status: 400, ErrorCode: 501051, Error: "invalid_client", Reason: "client_not_assigned"}},
		{"expired secret", v2, []string{"client_id", staleID, "client_secret", staleSecret, "scope", "api://inventory/.default"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: staleID, Resource: "api://inventory/.default", Flow: "client_credentials",
				Result: "failure", Status: 401, ErrorCode: 7000222, Error: "invalid_client", Reason: "client_secret_expired"}},
		{"unknown tenant", "/nosuch.example.com/oauth2/v2.0/token", []string{"scope", "api://inventory/.default"},
			issuer.SignIn{Tenant: "nosuch.example.com", ClientID: clientID, Resource: "api://inventory/.default", Flow: "client_credentials",
				Result: "failure", Status: 400, ErrorCode: 90002, Error: "invalid_request", Reason: "tenant_not_found"}},
		{"password grant without scope", v2, []string{"grant_type", "password", "username", "alice@contoso.com", "password", "hunter2-password"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: clientID, Flow: "password",
				Result: "failure", Status: 400, ErrorCode: 900144, Error: "invalid_request", Reason: "parameter_missing"}},
		{"unsupported grant", v2, []string{"grant_type", "urn:ietf:params:oauth:grant-type:saml1_1-bearer", "assertion", "hunter2-saml-assertion"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: clientID, Flow: "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
				Result: "failure", Status: 400, ErrorCode: 70003, Error: "unsupported_grant_type", Reason: "grant_type_unsupported"}},
		{"unknown device code", v2, []string{"grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", "hunter2-device-code"},
			issuer.SignIn{Tenant: tenantA, TenantID: tenantA, ClientID: clientID, Flow: "urn:ietf:params:oauth:grant-type:device_code",
				Result: "failure", Status: 400, ErrorCode: 70018, Error: "bad_verification_code", Reason: "device_code_unknown"}},
	}
	for _, r := range requests {
		res := w.post(t, r.path, ccForm(r.form...))
		if r.want.Result == "success" {
			var body struct {
				AccessToken string `json:"access_token"`
			}
			res.decode(t, &body)
			token = body.AccessToken
		}
	}
	got := w.Logs()
	if len(got) != len(requests) {
		t.Fatalf("%d sign-ins; want %d: %+v", len(got), len(requests), got)
	}
	for i, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			e := got[i]
			if e.Seq != uint64(i+1) || e.TraceID == "" || !e.Time.Equal(fixedNow) {
				t.Errorf("seq %d, trace %q, time %v; want seq %d, a trace id, %v", e.Seq, e.TraceID, e.Time, i+1, fixedNow)
			}
			if e.Failed() != (r.want.Result == "failure") || (e.Failed() && e.Detail == "") {
				t.Errorf("failed %v, detail %q; want a detail for each failure", e.Failed(), e.Detail)
			}
			e.Seq, e.Time, e.TraceID, e.Detail, e.CorrelationID = 0, r.want.Time, "", "", ""
			if e != r.want {
				t.Errorf("sign-in\n got %+v\nwant %+v", e, r.want)
			}
		})
	}
	// The policy engine's facts, not the client's message, explain 501051.
	if d := got[2].Detail; !strings.Contains(d, "Payroll") && !strings.Contains(d, payrollID) {
		t.Errorf("501051 detail %q; want the Denial's facts about the resource", d)
	}
	if token == "" {
		t.Fatal("the first request got no token")
	}
	raw, _ := json.Marshal(got)
	for _, secret := range []string{clientSecret, wrongSecret, staleSecret, "hunter2-password", "hunter2-saml-assertion", "hunter2-device-code", token} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the sign-in log holds a secret, password or token (%.12s…)", secret)
		}
	}
}

// TestSignInFilters: filters by tenant (as sent or resolved), client,
// failure, cursor and count.
func TestSignInFilters(t *testing.T) {
	w := newWorld(t)
	for _, p := range []string{tenantA, domainA, "contoso.com", tenantB} {
		w.post(t, "/"+p+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	}
	w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("client_id", staleID, "client_secret", staleSecret, "scope", "api://inventory/.default"))
	seqs := func(es []issuer.SignIn) []uint64 {
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    issuer.SignInFilter
		want []uint64
	}{
		{"all", issuer.SignInFilter{}, []uint64{1, 2, 3, 4, 5}},
		{"tenant by id matches every way it was named", issuer.SignInFilter{Tenant: strings.ToUpper(tenantA)}, []uint64{1, 2, 3, 5}},
		{"tenant as sent", issuer.SignInFilter{Tenant: "CONTOSO.com"}, []uint64{3}},
		{"client", issuer.SignInFilter{ClientID: staleID}, []uint64{5}},
		{"failed", issuer.SignInFilter{Failed: true}, []uint64{4, 5}},
		{"after a cursor", issuer.SignInFilter{After: 3}, []uint64{4, 5}},
		{"last two", issuer.SignInFilter{Last: 2}, []uint64{4, 5}},
		{"last two successes of the tenant", issuer.SignInFilter{Tenant: tenantA, Last: 2}, []uint64{3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := seqs(w.Issuer.SignIns(tc.f))
			if !slices.Equal(got, tc.want) {
				t.Errorf("SignIns(%+v) = %v; want %v", tc.f, got, tc.want)
			}
		})
	}
	if _, cursor := w.Issuer.ReadSignIns(issuer.SignInFilter{Failed: true, Last: 1}); cursor != 5 {
		t.Errorf("cursor = %d; want 5, the newest entry, whatever the filter", cursor)
	}
}

// TestSignInLogBounded: the log keeps the newest entries only.
func TestSignInLogBounded(t *testing.T) {
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.SignInLogSize = 3 }))
	for range 5 {
		w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	}
	got := w.Logs()
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Errorf("after 5 requests with room for 3: %+v; want seq 3, 4, 5", got)
	}
	off := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.SignInLogSize = -1 }))
	off.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	if got := off.Logs(); len(got) != 0 {
		t.Errorf("with the log off: %+v; want nothing", got)
	}
}

// TestHealth: /healthz is ready only when the stores answer, and reports a
// clock that is not real.
func TestHealth(t *testing.T) {
	var ready error
	w := newWorld(t, issuertest.WrapBackend(func(b issuer.Backend) issuer.Backend { return pingStore{b, &ready} }))
	for _, tc := range []struct {
		name   string
		ready  error
		status int
		body   string
	}{
		{"ready, frozen clock", nil, 200, `{"status":"ok","signer":"` + testSignerName() + `","clock":{"mode":"frozen","now":"2026-01-01T00:00:00Z"}}`},
		{"database closed", errors.New("database not open"), 503, `{"status":"database unavailable","clock":{"mode":"frozen","now":"2026-01-01T00:00:00Z"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready = tc.ready
			r := w.get(t, "/healthz")
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("GET /healthz = %d %s; want %d %s", r.status, r.body, tc.status, tc.body)
			}
		})
	}
	real := issuertest.NewServer(t)
	resp, err := real.Client().Get(real.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK || body["clock"] == nil {
		// issuertest's default clock is offset mode, so that Advance works.
		t.Errorf("issuertest default: %d %v; want 200 with the offset clock reported", resp.StatusCode, body)
	}
}

// pingStore is a backend whose Ping answers *err: a database that stops
// answering under a running server.
type pingStore struct {
	issuer.Backend
	err *error
}

func (p pingStore) Ping(context.Context) error { return *p.err }
