package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/issuer-dev/issuer/tenant"
)

// identityWorld is a database with an assignment-required API, a
// user-assigned identity holding its role and a system-assigned one that
// does not, served with the managed identity endpoints.
type identityWorld struct {
	db, caFile          string
	srv                 *server
	workerID, workerOID string
	tenantID, apiAppID  string
	// api is the API's identifier URI, new in every world: MSAL caches
	// managed identity tokens for the whole process, by kind of identity
	// and resource, so a world's tokens must be for its own resource.
	api string
}

func newIdentityWorld(t *testing.T) *identityWorld {
	t.Helper()
	dir := t.TempDir()
	w := &identityWorld{db: filepath.Join(dir, "issuer.db"), caFile: filepath.Join(dir, caFileName),
		api: "api://orders-" + strings.ReplaceAll(tenant.NewGUID(), "-", "")}
	const c = "contoso.onmicrosoft.com"
	run := func(args ...string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, w.db, nil, append([]string{"-o", "json"}, args...)...)), &m); err != nil {
			t.Fatalf("issuer %s: %v", strings.Join(args, " "), err)
		}
		return m
	}
	w.tenantID = run("tenant", "add", "--name", "Contoso")["id"].(string)
	w.apiAppID = run("app", "add", "--tenant", c, "--name", "Orders API", "--identifier-uri", w.api)["appId"].(string)
	run("app", "role", "add", "--app", w.apiAppID, "--value", "Orders.Read")
	run("sp", "update", "--tenant", c, "--app", w.apiAppID, "--assignment-required")
	worker := run("identity", "add", "--tenant", c, "--name", "orders-worker")
	w.workerID, w.workerOID = worker["clientId"].(string), worker["principalId"].(string)
	run("identity", "add", "--tenant", c, "--system-assigned", "--resource", "orders-web")
	run("role", "assign", "--tenant", c, "--resource", w.api, "--role", "Orders.Read", "--client", w.workerID)
	w.srv = startServe(t, w.db, "serve", "--addr", "127.0.0.1:0", "--managed-identity-addr", "127.0.0.1:0")
	return w
}

// useEnv sets the environment `identity env --source SOURCE IDENTITY`
// prints, and unsets every other variable the SDKs look at.
func (w *identityWorld) useEnv(t *testing.T, source, identity string) map[string]string {
	t.Helper()
	var env map[string]string
	out := mustRun(t, w.db, nil, "-o", "json", "identity", "env", "--tenant", "contoso.onmicrosoft.com", "--source", source, identity)
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_CLIENT_ID",
		"AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID"} {
		t.Setenv(k, env[k])
	}
	return env
}

// TestManagedIdentityAzidentity: azidentity's ManagedIdentityCredential and
// DefaultAzureCredential, unmodified, get tokens from `issuer serve
// --managed-identity-addr` through the App Service source, with the
// environment `issuer identity env` prints; and meet its refusals.
func TestManagedIdentityAzidentity(t *testing.T) {
	w := newIdentityWorld(t)
	scope := policy.TokenRequestOptions{Scopes: []string{w.api + "/.default"}}
	// MSAL caches managed identity tokens for the whole process, by kind
	// of identity (system-assigned, or the client id asked for) and
	// resource, not by endpoint: the refusals come first, before a token
	// of the system-assigned kind is cached.
	tests := []struct {
		name     string
		env      string // the identity whose environment is set
		cred     func() (azcore.TokenCredential, error)
		header   string // replaces IDENTITY_HEADER when set
		wantCode int    // 0: a token of the worker
		wantText string
	}{
		{"system-assigned, not assigned to the API", "orders-web", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(nil)
		}, "", http.StatusBadRequest, "AADSTS501051"},
		{"an unknown client id", "orders-web", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID("99999999-9999-4999-8999-999999999999")})
		}, "", http.StatusBadRequest, "Identity not found"},
		{"a wrong header secret", "orders-worker", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(nil)
		}, "not-the-secret", http.StatusUnauthorized, "X-IDENTITY-HEADER"},
		{"ManagedIdentityCredential, user-assigned by client id", "orders-web", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(w.workerID)})
		}, "", 0, ""},
		{"ManagedIdentityCredential, user-assigned by object id", "orders-web", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ObjectID(w.workerOID)})
		}, "", 0, ""},
		{"ManagedIdentityCredential, the endpoint's identity", "orders-worker", func() (azcore.TokenCredential, error) {
			return azidentity.NewManagedIdentityCredential(nil)
		}, "", 0, ""},
		{"DefaultAzureCredential", "orders-worker", func() (azcore.TokenCredential, error) {
			return azidentity.NewDefaultAzureCredential(nil)
		}, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.useEnv(t, "appservice", tt.env)
			if tt.header != "" {
				t.Setenv("IDENTITY_HEADER", tt.header)
			}
			cred, err := tt.cred()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tok, err := cred.GetToken(ctx, scope)
			if tt.wantCode != 0 {
				var afe *azidentity.AuthenticationFailedError
				if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != tt.wantCode || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("GetToken = %v; want an AuthenticationFailedError with status %d and %q", err, tt.wantCode, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			w.checkWorkerToken(t, tok)
		})
	}
	// The sign-in log shows managed identity requests, refusals with why.
	logs := mustRun(t, w.db, nil, "logs", "--failed")
	if !strings.Contains(logs, "flow=managed_identity") || !strings.Contains(logs, "client_not_assigned") {
		t.Errorf("issuer logs --failed:\n%s", logs)
	}
}

// token gets cred's token for the world's API.
func (w *identityWorld) token(t *testing.T, cred azcore.TokenCredential) azcore.AccessToken {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{w.api + "/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	return tok
}

// checkWorkerToken checks that tok is the worker's token for the world's
// API, signed by the world's server.
func (w *identityWorld) checkWorkerToken(t *testing.T, tok azcore.AccessToken) {
	t.Helper()
	w.checkToken(t, tok, w.workerID, w.workerOID, "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-worker")
}

// checkToken checks that tok is the token of the identity (client id,
// object id, the end of its resource id) for the world's API, signed by
// the world's server.
func (w *identityWorld) checkToken(t *testing.T, tok azcore.AccessToken, clientID, objectID, miridSuffix string) {
	t.Helper()
	if until := time.Until(tok.ExpiresOn); until < 50*time.Minute || until > 70*time.Minute {
		t.Errorf("ExpiresOn in %v; want about an hour", until)
	}
	claims := verifyJWT(t, trusting(t, w.caFile), w.srv.url+"/"+w.tenantID+"/discovery/keys", tok.Token)
	want := map[string]any{"aud": w.api, "appid": clientID, "oid": objectID, "appidacr": "2", "tid": w.tenantID}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v; want %v", k, claims[k], v)
		}
	}
	if mirid, _ := claims["xms_mirid"].(string); !strings.HasSuffix(mirid, miridSuffix) {
		t.Errorf("xms_mirid = %q", mirid)
	}
}

// TestManagedIdentitySources: azidentity finds the Cloud Shell and Azure
// Machine Learning endpoints through the MSI_ENDPOINT environment `identity
// env --source` prints.
func TestManagedIdentitySources(t *testing.T) {
	for _, tt := range []struct {
		name, source string
		opts         *azidentity.ManagedIdentityCredentialOptions
	}{
		{"Cloud Shell", "cloudshell", nil},
		{"Azure ML, the default identity", "azureml", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newIdentityWorld(t)
			w.useEnv(t, tt.source, "orders-worker")
			cred, err := azidentity.NewManagedIdentityCredential(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tok := w.token(t, cred)
			w.checkWorkerToken(t, tok)
		})
	}
}

// TestSystemAssignedIdentity: a system-assigned identity holding the
// API's role gets its own token through App Service, whose request names
// no identity, as azidentity sends it by default.
func TestSystemAssignedIdentity(t *testing.T) {
	w := newIdentityWorld(t)
	var web map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, w.db, nil, "-o", "json", "identity", "show", "--tenant", "contoso.onmicrosoft.com", "orders-web")), &web); err != nil {
		t.Fatal(err)
	}
	mustRun(t, w.db, nil, "role", "assign", "--tenant", "contoso.onmicrosoft.com", "--resource", w.api, "--role", "Orders.Read", "--client", web["clientId"].(string))
	w.useEnv(t, "appservice", "orders-web")
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.checkToken(t, w.token(t, cred), web["clientId"].(string), web["principalId"].(string), "/providers/Microsoft.Web/sites/orders-web")
}

// TestIdentityCommandRefusals: what identity add and env refuse.
func TestIdentityCommandRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	const c = "contoso.onmicrosoft.com"
	mustRun(t, db, nil, "tenant", "add", "--name", "Contoso")
	mustRun(t, db, nil, "identity", "add", "--tenant", c, "--name", "worker")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no name", []string{"identity", "add", "--tenant", c}, exitUsage, "--name"},
		{"system-assigned without resource", []string{"identity", "add", "--tenant", c, "--system-assigned"}, exitUsage, "--resource"},
		{"system-assigned with a name", []string{"identity", "add", "--tenant", c, "--system-assigned", "--resource", "web", "--name", "x"}, exitUsage, "not --name"},
		{"resource without system-assigned", []string{"identity", "add", "--tenant", c, "--name", "x-y", "--resource", "web"}, exitUsage, "--system-assigned"},
		{"the same identity twice", []string{"identity", "add", "--tenant", c, "--name", "worker"}, exitError, "already exists"},
		{"a bad name", []string{"identity", "add", "--tenant", c, "--name", "a b"}, exitUsage, "letters, digits"},
		{"an unknown tenant", []string{"identity", "add", "--tenant", "nosuch.com", "--name", "w1"}, exitError, "not found"},
		{"show an unknown identity", []string{"identity", "show", "--tenant", c, "nobody"}, exitError, "not found"},
		{"remove an unknown identity", []string{"identity", "remove", "--tenant", c, "nobody"}, exitError, "not found"},
		{"env without a server", []string{"identity", "env", "--tenant", c, "worker"}, exitError, "running server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, nil, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
	startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	tokenFile := filepath.Join(t.TempDir(), "token")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"env on a server without the listener", []string{"identity", "env", "--tenant", c, "worker"}, exitError, "--managed-identity-addr"},
		{"workload without --token-file", []string{"identity", "env", "--tenant", c, "--source", "workload", "--client", "0000a001-0000-4000-8000-000000000001", "worker"}, exitUsage, "--client and --token-file"},
		{"--client without workload", []string{"identity", "env", "--tenant", c, "--client", "0000a001-0000-4000-8000-000000000001", "worker"}, exitUsage, "only it takes them"},
		{"workload for an unknown client", []string{"identity", "env", "--tenant", c, "--source", "workload", "--client", "0000a001-0000-4000-8000-000000000001", "--token-file", tokenFile, "worker"}, exitError, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, nil, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// TestWorkloadIdentity: identity env --source workload writes the worker
// identity's token for the token exchange audience, and azidentity's
// WorkloadIdentityCredential, unmodified (configured for a local authority:
// the CA, no instance discovery), signs in with it as an application that
// trusts the identity; without that trust the command says what to add.
func TestWorkloadIdentity(t *testing.T) {
	w := newIdentityWorld(t)
	const c = "contoso.onmicrosoft.com"
	var daemon map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, w.db, nil, "-o", "json", "app", "add", "--tenant", c, "--name", "Orders Daemon")), &daemon); err != nil {
		t.Fatal(err)
	}
	appID := daemon["appId"].(string)
	mustRun(t, w.db, nil, "role", "assign", "--tenant", c, "--resource", w.api, "--role", "Orders.Read", "--client", appID)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	env := []string{"-o", "json", "identity", "env", "--tenant", c, "--source", "workload", "--client", appID, "--token-file", tokenFile, "orders-worker"}

	r := runCLI(t, w.db, nil, env[2:]...)
	if r.code != exitError || !strings.Contains(r.stderr, "issuer app federated add --app "+appID) || !strings.Contains(r.stderr, "--subject "+w.workerOID) {
		t.Fatalf("without a federated credential: exit %d, %q; want the command to add one", r.code, r.stderr)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("a refused command wrote %s: %v", tokenFile, err)
	}
	mustRun(t, w.db, nil, "app", "federated", "add", "--app", appID, "--name", "orders-worker",
		"--issuer", w.srv.url+"/"+w.tenantID+"/", "--subject", w.workerOID)

	var vars map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, w.db, nil, env...)), &vars); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi, err)
	}
	want := map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_CLIENT_ID": appID, "AZURE_TENANT_ID": w.tenantID, "AZURE_AUTHORITY_HOST": w.srv.url + "/"}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q; want %q", k, vars[k], v)
		}
		t.Setenv(k, vars[k])
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Transport: trusting(t, w.caFile)},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := w.token(t, cred)
	claims := verifyJWT(t, trusting(t, w.caFile), w.srv.url+"/"+w.tenantID+"/discovery/keys", tok.Token)
	if claims["appid"] != appID || claims["appidacr"] != "2" {
		t.Errorf("token of %v (appidacr %v); want %s, signed in with a federated credential", claims["appid"], claims["appidacr"], appID)
	}
}
