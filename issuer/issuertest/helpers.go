package issuertest

import (
	"context"
	"fmt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

// Typed helpers over the server's directory and consent manager, the same
// operations the CLI and seed files use. Each stops the test with t.Fatal
// when the operation fails (panics on a server from Start), so a test reads
// as a list of facts.

// fatalf stops the test, or panics outside one.
func (s *Server) fatalf(format string, args ...any) {
	msg := fmt.Sprintf("issuertest: "+format, args...)
	if s.t != nil {
		s.t.Helper()
		s.t.Fatal(msg)
	}
	panic(msg)
}

func (s *Server) helper() {
	if s.t != nil {
		s.t.Helper()
	}
}

// AddTenant creates a tenant named name (initial domain
// <name>.onmicrosoft.com) with extra domains.
func (s *Server) AddTenant(name string, domains ...string) tenant.Tenant {
	s.helper()
	t, err := s.Directory.CreateTenant(context.Background(), tenant.TenantSpec{Name: name, Domains: domains})
	if err != nil {
		s.fatalf("AddTenant(%q): %v", name, err)
	}
	return t
}

// AddApp registers an application in a tenant (id or domain), with its
// service principal there.
func (s *Server) AddApp(tenantRef string, spec tenant.ApplicationSpec) tenant.Application {
	s.helper()
	app, err := s.Directory.RegisterApplication(context.Background(), tenantRef, spec)
	if err != nil {
		s.fatalf("AddApp(%s, %q): %v", tenantRef, spec.DisplayName, err)
	}
	return app
}

// AddSecret adds a client secret that never expires and returns its text.
func (s *Server) AddSecret(appID string) string {
	s.helper()
	return s.AddPassword(appID, tenant.PasswordSpec{})
}

// AddPassword adds a client secret as spec says (a fixed text, a lifetime)
// and returns its text.
func (s *Server) AddPassword(appID string, spec tenant.PasswordSpec) string {
	s.helper()
	_, secret, err := s.Directory.AddPassword(context.Background(), appID, spec)
	if err != nil {
		s.fatalf("AddPassword(%s): %v", appID, err)
	}
	return secret
}

// AddAppRole defines an app role on an application; with no member types it
// is an application permission.
func (s *Server) AddAppRole(appID, value string, memberTypes ...string) tenant.AppRole {
	s.helper()
	r, err := s.Directory.AddAppRole(context.Background(), appID, tenant.AppRoleSpec{Value: value, AllowedMemberTypes: memberTypes})
	if err != nil {
		s.fatalf("AddAppRole(%s, %q): %v", appID, value, err)
	}
	return r
}

// AddScope exposes a delegated permission of type User on an application.
func (s *Server) AddScope(appID, value string) tenant.PermissionScope {
	s.helper()
	sc, err := s.Directory.AddScope(context.Background(), appID, tenant.ScopeSpec{Value: value})
	if err != nil {
		s.fatalf("AddScope(%s, %q): %v", appID, value, err)
	}
	return sc
}

// RequirePermissions declares that a client requires scopes and app roles
// of a resource (appId or identifier URI); GrantAdminConsent grants them.
func (s *Server) RequirePermissions(clientAppID, resource string, scopes, roles []string) {
	s.helper()
	if _, err := s.Directory.AddRequiredResourceAccess(context.Background(), clientAppID, resource, scopes, roles); err != nil {
		s.fatalf("RequirePermissions(%s, %s): %v", clientAppID, resource, err)
	}
}

// AddUser adds a user to a tenant.
func (s *Server) AddUser(tenantRef string, spec tenant.UserSpec) tenant.User {
	s.helper()
	u, err := s.Directory.AddUser(context.Background(), tenantRef, spec)
	if err != nil {
		s.fatalf("AddUser(%s, %s): %v", tenantRef, spec.UserPrincipalName, err)
	}
	return u
}

// GrantAdminConsent grants, in a tenant, everything the client requires,
// provisioning its service principal (and its resources') there.
func (s *Server) GrantAdminConsent(tenantRef, clientAppID string) consent.AdminConsentResult {
	s.helper()
	res, err := s.Consent.GrantAdminConsent(context.Background(), tenantRef, clientAppID)
	if err != nil {
		s.fatalf("GrantAdminConsent(%s, %s): %v", tenantRef, clientAppID, err)
	}
	return res
}

// AssignRole assigns an app role of a resource (appId or identifier URI) to
// a client or a user in a tenant.
func (s *Server) AssignRole(tenantRef, resource, role string, who consent.Assignee) consent.AppRoleAssignment {
	s.helper()
	a, err := s.Consent.AssignRole(context.Background(), tenantRef, resource, role, who)
	if err != nil {
		s.fatalf("AssignRole(%s, %s, %s): %v", tenantRef, resource, role, err)
	}
	return a
}

// UpdateServicePrincipal changes an application's service principal in a
// tenant, e.g. to require app role assignment.
func (s *Server) UpdateServicePrincipal(tenantRef, appID string, u tenant.ServicePrincipalUpdate) tenant.ServicePrincipal {
	s.helper()
	sp, err := s.Directory.UpdateServicePrincipal(context.Background(), tenantRef, appID, u)
	if err != nil {
		s.fatalf("UpdateServicePrincipal(%s, %s): %v", tenantRef, appID, err)
	}
	return sp
}

// Apply applies a seed to the running server's directory.
func (s *Server) Apply(doc seed.Document) seed.Result {
	s.helper()
	res, err := seed.Apply(context.Background(), s.Directory, s.Consent, doc)
	if err != nil {
		s.fatalf("Apply: %v", err)
	}
	return res
}

// Logs returns every token request the server answered, oldest first, with
// the reason of each refusal (issuer.SignIn).
func (s *Server) Logs() []issuer.SignIn { return s.Issuer.SignIns(issuer.SignInFilter{}) }
