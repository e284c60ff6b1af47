package issuer_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedNow is the clock of every end-to-end test.
var fixedNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The world every end-to-end test runs against. IDs are fixed so that
// golden files and assertions can name them.
const (
	tenantA       = "6c1e0b7a-2d3f-4a5b-8c9d-0e1f2a3b4c5d" // Contoso
	tenantB       = "0d0b5b8e-1f2a-4c3d-9e8f-7a6b5c4d3e2f" // Fabrikam
	domainA       = "contoso.onmicrosoft.com"
	clientID      = "b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2" // Daemon: confidential, roles on Orders and Inventory
	clientSecret  = "d+aemon/secret=value~0001"            // needs form-urlencoding in Basic
	disabledID    = "c52ea07f-1b94-4d36-a2e8-6f9b5071c4d3" // Disabled Daemon: service principal disabled
	publicID      = "d63fb180-2ca5-4e47-b3f9-7a0c6182d5e4" // CLI: public client
	staleID       = "e74ac291-3db6-4f58-84aa-8b1d7293e6f5" // Stale Daemon: only an expired secret
	staleSecret   = "stale-secret-value-0001"
	foreignID     = "f85bd3a2-4ec7-4a69-95bb-9c2e83a4f7a6" // Fabrikam Daemon: single-tenant, homed in Fabrikam
	ordersID      = "8f2a1c34-5b6d-4e7f-9a0b-1c2d3e4f5a6b" // Orders API: v1 tokens, api://orders
	inventoryID   = "0d1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b" // Inventory API: v2 tokens, api://inventory
	reportsID     = "1e2b3c4d-5f6a-4b70-9c8d-0e1f2a3b4c5e" // Reports API: v2, no roles assigned
	payrollID     = "2f3c4d5e-6a7b-4c81-8d9e-1f2a3b4c5d6f" // Payroll API: assignment required, none held
	legacyID      = "3a4d5e6f-7b8c-4d92-9eaf-2a3b4c5d6e7a" // Legacy API: service principal disabled
	fabrikamAPIID = "4b5e6f7a-8c9d-4ea3-8fb0-3b4c5d6e7f8b" // Fabrikam API: single-tenant, homed in Fabrikam
)

// world is a running issuer seeded with the objects above.
type world struct {
	*issuertest.Server
	t        *testing.T
	clientSP string // Daemon's service principal in Contoso
}

// testKey is the fixed signing key of testdata/signing-key.pem.
func testKey(t testing.TB) tenant.SigningKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var k tenant.SigningKey
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "RSA PRIVATE KEY":
			if k.PrivateKey, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				t.Fatal(err)
			}
		case "CERTIFICATE":
			if k.Certificate, err = x509.ParseCertificate(block.Bytes); err != nil {
				t.Fatal(err)
			}
		}
	}
	k.KeyID = signing.Thumbprint(k.Certificate)
	k.CreatedDateTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return k
}

// newWorld starts a server with a fixed clock, deterministic IDs and the
// fixed signing key, and seeds it.
func newWorld(t *testing.T, opts ...issuertest.Option) *world {
	t.Helper()
	opts = append([]issuertest.Option{issuertest.Clock(fixedNow), issuertest.DeterministicIDs(), issuertest.SigningKey(testKey(t))}, opts...)
	w := &world{Server: issuertest.NewServer(t, opts...), t: t}
	w.seed()
	return w
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// seed creates the two tenants, the applications and the assignments.
func (w *world) seed() {
	w.t.Helper()
	ctx := context.Background()
	d := w.Directory
	_, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso", ID: tenantA, Domains: []string{"contoso.com"}})
	w.must(err)
	_, err = d.CreateTenant(ctx, tenant.TenantSpec{Name: "Fabrikam", ID: tenantB})
	w.must(err)

	app := func(tenantID, appID, name string, uris []string, version int, public bool) {
		w.t.Helper()
		_, err := d.RegisterApplication(ctx, tenantID, tenant.ApplicationSpec{
			DisplayName: name, AppID: appID, IdentifierURIs: uris, TokenVersion: version, PublicClient: public,
		})
		w.must(err)
	}
	app(tenantA, clientID, "Daemon", nil, 0, false)
	app(tenantA, disabledID, "Disabled Daemon", nil, 0, false)
	app(tenantA, publicID, "CLI", nil, 0, true)
	app(tenantA, staleID, "Stale Daemon", nil, 0, false)
	app(tenantB, foreignID, "Fabrikam Daemon", nil, 0, false)
	app(tenantA, ordersID, "Orders API", []string{"api://orders"}, 0, false)
	app(tenantA, inventoryID, "Inventory API", []string{"api://inventory"}, 2, false)
	app(tenantA, reportsID, "Reports API", []string{"api://reports"}, 2, false)
	app(tenantA, payrollID, "Payroll API", []string{"api://payroll"}, 0, false)
	app(tenantA, legacyID, "Legacy API", []string{"api://legacy"}, 0, false)
	app(tenantB, fabrikamAPIID, "Fabrikam API", []string{"api://fabrikam"}, 0, false)

	for _, c := range []struct{ appID, secret string }{
		{clientID, clientSecret}, {disabledID, "disabled-secret-value-0001"}, {staleID, staleSecret}, {foreignID, "foreign-secret-value-0001"},
	} {
		_, _, err := d.AddPassword(ctx, c.appID, tenant.PasswordSpec{DisplayName: "test", SecretText: c.secret})
		w.must(err)
	}
	// The stale secret ended a day ago.
	w.must(w.DB.UpdateApplication(ctx, staleID, func(a *tenant.Application) error {
		a.PasswordCredentials[0].StartDateTime = fixedNow.Add(-48 * time.Hour)
		a.PasswordCredentials[0].EndDateTime = fixedNow.Add(-24 * time.Hour)
		return nil
	}))

	f := false
	_, err = d.UpdateServicePrincipal(ctx, tenantA, disabledID, tenant.ServicePrincipalUpdate{AccountEnabled: &f})
	w.must(err)
	_, err = d.UpdateServicePrincipal(ctx, tenantA, legacyID, tenant.ServicePrincipalUpdate{AccountEnabled: &f})
	w.must(err)
	tr := true
	_, err = d.UpdateServicePrincipal(ctx, tenantA, payrollID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &tr})
	w.must(err)

	w.addRole(ordersID, "11111111-0000-4000-8000-000000000001", "Orders.Read.All")
	w.addRole(ordersID, "11111111-0000-4000-8000-000000000002", "Orders.Write.All")
	w.addRole(inventoryID, "11111111-0000-4000-8000-000000000003", "Inventory.Read.All")
	w.addRole(payrollID, "11111111-0000-4000-8000-000000000004", "Payroll.Read.All")

	sp, err := w.DB.GetServicePrincipal(ctx, tenantA, clientID)
	w.must(err)
	w.clientSP = sp.ID
	w.assign(ordersID, "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000001")
	w.assign(inventoryID, "11111111-0000-4000-8000-000000000003", "22222222-0000-4000-8000-000000000002")
}

// addRole adds an enabled application permission to a resource.
func (w *world) addRole(appID, roleID, value string) {
	w.t.Helper()
	w.must(w.DB.UpdateApplication(context.Background(), appID, func(a *tenant.Application) error {
		a.AppRoles = append(a.AppRoles, tenant.AppRole{
			ID: roleID, Value: value, DisplayName: value, AllowedMemberTypes: []string{tenant.MemberTypeApplication}, IsEnabled: true,
		})
		return nil
	}))
}

// assign gives Daemon's service principal a role on a resource in Contoso.
func (w *world) assign(resourceAppID, roleID, id string) {
	w.t.Helper()
	ctx := context.Background()
	res, err := w.DB.GetServicePrincipal(ctx, tenantA, resourceAppID)
	w.must(err)
	w.must(w.DB.CreateAppRoleAssignment(ctx, consent.AppRoleAssignment{
		ID: id, TenantID: tenantA, AppRoleID: roleID, PrincipalID: w.clientSP,
		PrincipalType: consent.PrincipalServicePrincipal, ResourceID: res.ID, CreatedDateTime: fixedNow,
	}))
}

// result is a response read in full.
type result struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads the answer.
func (w *world) do(t testing.TB, req *http.Request) result {
	t.Helper()
	resp, err := w.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// request builds a request for path (relative to the base URL).
func (w *world) request(t testing.TB, method, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, w.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// get fetches path.
func (w *world) get(t testing.TB, path string) result {
	t.Helper()
	return w.do(t, w.request(t, http.MethodGet, path, ""))
}

// post sends form to path as a token request; edit may change the request.
func (w *world) post(t testing.TB, path string, form url.Values, edit ...func(*http.Request)) result {
	t.Helper()
	return w.postRaw(t, path, form.Encode(), edit...)
}

// postRaw sends body as a form to path.
func (w *world) postRaw(t testing.TB, path, body string, edit ...func(*http.Request)) result {
	t.Helper()
	req := w.request(t, http.MethodPost, path, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, e := range edit {
		e(req)
	}
	return w.do(t, req)
}

// decode unmarshals the body into v.
func (r result) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorResponse is Entra's error body.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	SubError         string `json:"suberror"`
}

// ccForm is a client-credentials form for Daemon with scope (v2) or
// resource (v1).
func ccForm(kv ...string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(f, kv[i])
			continue
		}
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// discovered is what a relying party reads from a discovery document.
type discovered struct {
	Issuer        string `json:"issuer"`
	JWKSURI       string `json:"jwks_uri"`
	TokenEndpoint string `json:"token_endpoint"`
}

// verified is a token checked the way a relying party checks it: discovery
// for its version, the JWKS it names, signature with go-jose, iss equal to
// the discovery issuer.
type verified struct {
	header map[string]any
	claims map[string]any
	kid    string
}

func (w *world) verify(t testing.TB, token, tenantSegment string, version int) verified {
	t.Helper()
	path := "/" + tenantSegment + "/v2.0/.well-known/openid-configuration"
	if version == 1 {
		path = "/" + tenantSegment + "/.well-known/openid-configuration"
	}
	r := w.get(t, path)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, r.status, r.body)
	}
	var doc discovered
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.JWKSURI, w.URL+"/") {
		t.Fatalf("jwks_uri = %q; want it on %s", doc.JWKSURI, w.URL)
	}
	var set jose.JSONWebKeySet
	w.get(t, strings.TrimPrefix(doc.JWKSURI, w.URL)).decode(t, &set)

	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing token: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q; want 1", len(keys), kid)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("verifying token against the JWKS: %v", err)
	}
	if got := claims["iss"]; got != doc.Issuer {
		t.Errorf("iss = %v; want the discovery issuer %q", got, doc.Issuer)
	}
	return verified{header: decodeSegment(t, token, 0), claims: claims, kid: kid}
}

// decodeSegment decodes the n-th segment of a compact JWT as JSON.
func decodeSegment(t testing.TB, token string, n int) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(segment(t, token, n), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// segment returns the n-th base64url segment of a compact JWT, decoded.
func segment(t testing.TB, token string, n int) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments; want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[n])
	if err != nil {
		t.Fatalf("segment %d is not unpadded base64url: %v", n, err)
	}
	return b
}

// Applications of the consent scenarios. They are registered by
// addConsentApps, after seed, so that the golden files' counter IDs do not
// move.
const (
	domainB         = "fabrikam.onmicrosoft.com"
	grantedID       = "5c6f7a8b-9dae-4fb4-80c1-4c5d6e7f8a9c" // Granted Daemon: single-tenant, gets roles by admin consent
	grantedSecret   = "granted-secret-value-0001"
	partnerID       = "6d7a8b9c-aebf-4ac5-91d2-5d6e7f8a9bad" // Partner Daemon: multi-tenant, homed in Contoso
	partnerSecret   = "partner-secret-value-0001"
	sharedAPIID     = "7e8b9cad-bfc0-4bd6-82e3-6e7f8a9bacbe" // Shared API: multi-tenant, v2, api://shared
	sharedReadRole  = "Shared.Read.All"
	sharedWriteRole = "Shared.Write.All"
)

// addConsentApps registers the consent scenario's applications on top of the
// seeded world:
//   - Granted Daemon declares (requiredResourceAccess) Orders.Read.All on
//     Orders API (v1), Inventory.Read.All on Inventory API (v2) and
//     Payroll.Read.All on Payroll API (assignment required); nothing is
//     granted yet.
//   - Shared API is multi-tenant with two application roles; only Contoso
//     has its service principal.
//   - Partner Daemon is multi-tenant and declares Shared.Read.All; in
//     Contoso (its home) it holds Shared.Read.All and Shared.Write.All by
//     direct assignment; Fabrikam has not consented to it.
func (w *world) addConsentApps() {
	w.t.Helper()
	ctx := context.Background()
	d := w.Directory
	for _, a := range []tenant.ApplicationSpec{
		{DisplayName: "Granted Daemon", AppID: grantedID},
		{DisplayName: "Partner Daemon", AppID: partnerID, MultiTenant: true},
		{DisplayName: "Shared API", AppID: sharedAPIID, IdentifierURIs: []string{"api://shared"}, TokenVersion: 2, MultiTenant: true},
	} {
		_, err := d.RegisterApplication(ctx, tenantA, a)
		w.must(err)
	}
	for _, c := range []struct{ appID, secret string }{{grantedID, grantedSecret}, {partnerID, partnerSecret}} {
		_, _, err := d.AddPassword(ctx, c.appID, tenant.PasswordSpec{DisplayName: "test", SecretText: c.secret})
		w.must(err)
	}
	for _, r := range []string{sharedReadRole, sharedWriteRole} {
		_, err := d.AddAppRole(ctx, sharedAPIID, tenant.AppRoleSpec{Value: r})
		w.must(err)
	}
	for _, rra := range []struct{ client, resource, role string }{
		{grantedID, "api://orders", "Orders.Read.All"},
		{grantedID, "api://inventory", "Inventory.Read.All"},
		{grantedID, "api://payroll", "Payroll.Read.All"},
		{partnerID, "api://shared", sharedReadRole},
	} {
		_, err := d.AddRequiredResourceAccess(ctx, rra.client, rra.resource, nil, []string{rra.role})
		w.must(err)
	}
	m := w.manager()
	for _, r := range []string{sharedReadRole, sharedWriteRole} {
		_, err := m.AssignRole(ctx, tenantA, "api://shared", r, consent.Assignee{ClientAppID: partnerID})
		w.must(err)
	}
}

// consentPartner gives Fabrikam's admin consent to Partner Daemon, which
// provisions its service principal there and that of Shared API, and
// assigns Shared.Read.All in Fabrikam.
func (w *world) consentPartner() {
	w.t.Helper()
	_, err := w.manager().GrantAdminConsent(context.Background(), tenantB, partnerID)
	w.must(err)
}

// servicePrincipalID returns the object id of appID's service principal in
// tenantID: the oid and sub of its app-only tokens there.
func (w *world) servicePrincipalID(t testing.TB, tenantID, appID string) string {
	t.Helper()
	sp, err := w.DB.GetServicePrincipal(context.Background(), tenantID, appID)
	if err != nil {
		t.Fatalf("service principal of %s in %s: %v", appID, tenantID, err)
	}
	return sp.ID
}

// testSignerName is the signer backend the test servers of this package
// use: issuertest's, $ISSUER_TEST_SIGNER when set, else Go.
func testSignerName() string {
	name := os.Getenv("ISSUER_TEST_SIGNER")
	if name == "" {
		return signing.Go
	}
	b, err := signing.Select(name)
	if err != nil {
		return signing.Go
	}
	return b.Name()
}
