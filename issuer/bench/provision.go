package bench

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// The tenant and applications Provision creates.
const (
	TenantName = "issuerbench" // issuerbench.onmicrosoft.com
	APIURI     = "api://issuer-bench"
	RoleValue  = "Bench.Read.All"
)

// Target names what the requests of a run ask for: a confidential client
// in a tenant and the /.default scope of an API it holds an app role on.
type Target struct {
	Tenant       string `json:"tenant"` // GUID or domain
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"-"`
	Scope        string `json:"scope"`
}

// Check reports a Target with a missing field (for --url runs, where the
// user supplies it).
func (t Target) Check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"tenant", t.Tenant}, {"client id", t.ClientID}, {"client secret", t.ClientSecret}, {"scope", t.Scope},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the target needs a %s", tenant.ErrInvalid, strings.Join(missing, ", "))
	}
	return nil
}

// Form is the body of the client-credentials request for t.
func (t Target) Form() string {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {t.ClientID},
		"client_secret": {t.ClientSecret},
		"scope":         {t.Scope},
	}.Encode()
}

// Provision creates the tenant of a run, a daemon with a client secret,
// and an API (v2 tokens) exposing an application permission the daemon is
// assigned, as a user would with `issuer tenant add`, `app add`,
// `app secret add`, `app role add` and `role assign`. Tokens then carry a
// role, as they do in real use.
func Provision(ctx context.Context, dir *tenant.Directory, grants consent.Store) (Target, error) {
	t, err := dir.CreateTenant(ctx, tenant.TenantSpec{Name: TenantName})
	if err != nil {
		return Target{}, err
	}
	daemon, err := dir.RegisterApplication(ctx, t.ID, tenant.ApplicationSpec{DisplayName: "Bench Daemon"})
	if err != nil {
		return Target{}, err
	}
	_, secret, err := dir.AddPassword(ctx, daemon.AppID, tenant.PasswordSpec{DisplayName: "bench"})
	if err != nil {
		return Target{}, err
	}
	api, err := dir.RegisterApplication(ctx, t.ID, tenant.ApplicationSpec{
		DisplayName: "Bench API", IdentifierURIs: []string{APIURI}, TokenVersion: 2})
	if err != nil {
		return Target{}, err
	}
	if _, err := dir.AddAppRole(ctx, api.AppID, tenant.AppRoleSpec{Value: RoleValue}); err != nil {
		return Target{}, err
	}
	m := consent.NewManager(dir, grants)
	if _, err := m.AssignRole(ctx, t.ID, api.AppID, RoleValue, consent.Assignee{ClientAppID: daemon.AppID}); err != nil {
		return Target{}, err
	}
	return Target{Tenant: t.ID, ClientID: daemon.AppID, ClientSecret: secret, Scope: APIURI + "/.default"}, nil
}
