package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServeGraph: `issuer serve` serves the Graph subset at
// {base}/graph/v1.0 and, with --graph-addr, at /v1.0 on its own listener
// (named on the ready line); a directory the CLI made has Graph, whose app
// roles the CLI assigns; both answer a provisioner's app-only token with
// the same directory, their links on their own roots.
func TestServeGraph(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	const c = "contoso.onmicrosoft.com"
	run := func(args ...string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, db, nil, append([]string{"-o", "json"}, args...)...)), &m); err != nil {
			t.Fatalf("issuer %s: %v", strings.Join(args, " "), err)
		}
		return m
	}
	run("tenant", "add", "--name", "Contoso")
	app := run("app", "add", "--tenant", c, "--name", "Provisioner")["appId"].(string)
	run("role", "assign", "--tenant", c, "--resource", "https://graph.microsoft.com", "--role", "Application.Read.All", "--client", app)
	secret := run("app", "secret", "add", "--app", app)["secretText"].(string)

	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--graph-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`graph: (\S+?),`).FindStringSubmatch(srv.details)
	if m == nil {
		t.Fatalf("the ready line names no graph URL: %s", srv.details)
	}
	hc := trusting(t, filepath.Join(dir, caFileName))
	resp, err := hc.PostForm(srv.url+"/"+c+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {app}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	for _, root := range []string{srv.url + "/graph/v1.0", m[1]} {
		req, _ := http.NewRequest("GET", root+"/applications?$select=appId&$top=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["@odata.context"] != root+"/$metadata#applications" || len(body["value"].([]any)) != 1 {
			t.Errorf("GET %s/applications = %d %v", root, resp.StatusCode, body)
		}
	}
}
