package sdktest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-azure-sdk/sdk/auth"
	"github.com/hashicorp/go-azure-sdk/sdk/environments"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestGoAzureSDKCustomCloud: go-azure-sdk, the SDK of Terraform's azuread
// provider, unmodified, finds this server as a custom cloud from its
// metadata document (metadata_host), gets a Graph token from its login
// endpoint and reads applications from its Graph. go-azure-sdk trusts only
// the system roots, so it runs in a child process whose SSL_CERT_FILE is
// the server's CA, as a Terraform run would be configured.
func TestGoAzureSDKCustomCloud(t *testing.T) {
	srv := issuertest.NewServer(t, issuertest.Clock(time.Now()))
	ten := srv.AddTenant("contoso")
	app := srv.AddApp(ten.ID, tenant.ApplicationSpec{DisplayName: "Terraform"})
	srv.AssignRole(ten.ID, tenant.MicrosoftGraphAppID, "Application.Read.All", consent.Assignee{ClientAppID: app.AppID})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoAzureSDKChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+ca, "SSL_CERT_DIR="+filepath.Dir(ca),
		"ISSUER_SDK_CHILD=1", "ISSUER_SDK_HOST="+srv.URL, "ISSUER_SDK_TENANT="+ten.ID,
		"ISSUER_SDK_CLIENT="+app.AppID, "ISSUER_SDK_SECRET="+srv.AddSecret(app.AppID))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go-azure-sdk: ok") {
		t.Fatalf("go-azure-sdk child: %v\n%s", err, out)
	}
}

// TestGoAzureSDKChild is the child process of TestGoAzureSDKCustomCloud;
// run on its own (without ISSUER_SDK_CHILD) it has nothing to do.
func TestGoAzureSDKChild(t *testing.T) {
	if os.Getenv("ISSUER_SDK_CHILD") != "1" {
		return
	}
	ctx := context.Background()
	host := os.Getenv("ISSUER_SDK_HOST")
	env, err := environments.FromEndpoint(ctx, host)
	if err != nil {
		t.Fatalf("FromEndpoint: %v", err)
	}
	if env.Authorization == nil || env.Authorization.LoginEndpoint != host {
		t.Fatalf("login endpoint %+v; want %s", env.Authorization, host)
	}
	endpoint, ok := env.MicrosoftGraph.Endpoint()
	if !ok || strings.TrimSuffix(*endpoint, "/") != host+"/graph" {
		t.Fatalf("Microsoft Graph endpoint %v %q; want %s/graph", ok, deref(endpoint), host)
	}
	a, err := auth.NewClientSecretAuthorizer(ctx, auth.ClientSecretAuthorizerOptions{Environment: *env, Api: env.MicrosoftGraph,
		TenantId: os.Getenv("ISSUER_SDK_TENANT"), ClientId: os.Getenv("ISSUER_SDK_CLIENT"), ClientSecret: os.Getenv("ISSUER_SDK_SECRET")})
	if err != nil {
		t.Fatalf("authorizer: %v", err)
	}
	tok, err := a.Token(ctx, &http.Request{})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(*endpoint, "/")+"/v1.0/applications?$select=displayName", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || len(body.Value) != 1 || body.Value[0]["displayName"] != "Terraform" {
		t.Fatalf("GET applications with go-azure-sdk's token = %d %v %v", resp.StatusCode, body, err)
	}
	t.Log("go-azure-sdk: ok")
}
