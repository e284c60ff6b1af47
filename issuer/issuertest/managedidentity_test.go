package issuertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestManagedIdentityEnv: code under test that uses DefaultAzureCredential
// gets a managed identity's token from an issuertest server, unchanged.
func TestManagedIdentityEnv(t *testing.T) {
	s := issuertest.NewServer(t)
	tn := s.AddTenant("Contoso")
	api := s.AddApp(tn.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders-issuertest"}})
	s.AddAppRole(api.AppID, "Orders.Read")
	worker := s.AddManagedIdentity(tn.ID, tenant.ManagedIdentitySpec{Name: "orders-worker"})
	s.AssignRole(tn.ID, api.AppID, "Orders.Read", consent.Assignee{ClientAppID: worker.AppID})

	s.SetManagedIdentityEnv(t, tn.ID, "orders-worker")
	env := s.ManagedIdentityEnv(tn.ID, worker.AppID)
	if env["AZURE_CLIENT_ID"] != worker.AppID || !strings.HasPrefix(env["IDENTITY_ENDPOINT"], "http://127.0.0.1:") || env["IDENTITY_HEADER"] == "" {
		t.Errorf("environment %v", env)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://orders-issuertest/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	claims, err := claimsOf(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if claims["appid"] != worker.AppID || claims["xms_mirid"] != worker.ManagedIdentityResourceID() {
		t.Errorf("claims %v; want the worker's token", claims)
	}
	if logs := s.Logs(); len(logs) == 0 || logs[len(logs)-1].Flow != "managed_identity" {
		t.Errorf("sign-in log %+v; want the managed identity request", logs)
	}
}
