package issuertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"

	"github.com/issuer-dev/issuer/managedidentity"
	"github.com/issuer-dev/issuer/tenant"
)

// AddManagedIdentity adds a user-assigned managed identity, or a resource's
// system-assigned one, to a tenant (see tenant.ManagedIdentitySpec).
func (s *Server) AddManagedIdentity(tenantRef string, spec tenant.ManagedIdentitySpec) tenant.ServicePrincipal {
	s.helper()
	sp, err := s.Directory.AddManagedIdentity(context.Background(), tenantRef, spec)
	if err != nil {
		s.fatalf("AddManagedIdentity(%s, %+v): %v", tenantRef, spec, err)
	}
	return sp
}

// ManagedIdentityEnv returns the environment that makes Azure SDKs get the
// managed identity's tokens from this server (App Service's
// IDENTITY_ENDPOINT and IDENTITY_HEADER, AZURE_POD_IDENTITY_AUTHORITY_HOST,
// and AZURE_CLIENT_ID for a user-assigned identity), as `issuer identity
// env` prints it for `issuer serve`. identity is the identity's client id,
// object id, resource id or name. The first call starts the endpoints on a
// loopback listener of their own, over plain HTTP as in Azure; Close stops
// it.
func (s *Server) ManagedIdentityEnv(tenantRef, identity string) map[string]string {
	s.helper()
	sp, err := s.Directory.FindManagedIdentity(context.Background(), tenantRef, identity)
	if err != nil {
		s.fatalf("ManagedIdentityEnv(%s, %s): %v", tenantRef, identity, err)
	}
	s.miOnce.Do(func() {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			s.fatalf("ManagedIdentityEnv: %v", err)
		}
		s.miSecret = hex.EncodeToString(secret)
		s.miSrv = httptest.NewServer(&managedidentity.Handler{Issuer: s.Issuer, Secret: s.miSecret})
	})
	vars, err := managedidentity.Environment(s.miSrv.URL, s.miSecret, sp, "appservice")
	if err != nil {
		s.fatalf("ManagedIdentityEnv: %v", err)
	}
	env := map[string]string{}
	for _, v := range vars {
		env[v.Name] = v.Value
	}
	return env
}

// SetManagedIdentityEnv sets the environment of ManagedIdentityEnv for the
// rest of the test, and clears the other managed identity sources'
// variables (t.Setenv: not in parallel tests).
func (s *Server) SetManagedIdentityEnv(t testing.TB, tenantRef, identity string) {
	t.Helper()
	env := s.ManagedIdentityEnv(tenantRef, identity)
	for _, name := range managedidentity.Variables {
		t.Setenv(name, env[name])
	}
}
