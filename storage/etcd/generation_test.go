package etcd_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// daemonFixture is a daemon with an app role on an API, written through
// one replica, and an issuer serving from another.
type daemonFixture struct {
	tenantID, daemonAppID, secret string
}

// seedDaemon writes the fixture through replica w.
func seedDaemon(t *testing.T, w *etcd.Store) daemonFixture {
	t.Helper()
	ctx := context.Background()
	d := tenant.NewDirectory(w)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tn, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"})
	must(err)
	daemon, err := d.RegisterApplication(ctx, tn.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	must(err)
	_, secret, err := d.AddPassword(ctx, daemon.AppID, tenant.PasswordSpec{DisplayName: "test"})
	must(err)
	api, err := d.RegisterApplication(ctx, tn.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2})
	must(err)
	_, err = d.AddAppRole(ctx, api.AppID, tenant.AppRoleSpec{Value: "Orders.Read.All", AllowedMemberTypes: []string{tenant.MemberTypeApplication}})
	must(err)
	_, err = consent.NewManager(d, w).AssignRole(ctx, tn.ID, api.AppID, "Orders.Read.All", consent.Assignee{ClientAppID: daemon.AppID})
	must(err)
	return daemonFixture{tn.ID, daemon.AppID, secret}
}

// tokenAnswer asks srv for the daemon's token and returns the AADSTS code
// of the answer (0 for a token) and the number of roles in the token.
func (f daemonFixture) tokenAnswer(t *testing.T, srv *issuer.Server) (code, roles int) {
	t.Helper()
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.daemonAppID}, "client_secret": {f.secret},
		"scope": {"api://orders/.default"}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/"+f.tenantID+"/oauth2/v2.0/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	var out struct {
		AccessToken string `json:"access_token"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body, err)
	}
	if w.Code != http.StatusOK {
		if len(out.ErrorCodes) != 1 {
			t.Fatalf("status %d without one error code: %s", w.Code, w.Body)
		}
		return out.ErrorCodes[0], 0
	}
	parts := strings.Split(out.AccessToken, ".")
	var claims struct {
		Roles []string `json:"roles"`
	}
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", out.AccessToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return 0, len(claims.Roles)
}

// newServer is an issuer over replica r that syncs before each request,
// as `issuer serve` does on etcd; its read caches are on.
func newServer(t *testing.T, r *etcd.Store) *issuer.Server {
	t.Helper()
	srv, err := issuer.New(context.Background(), r, issuer.Config{BaseURL: "https://issuer.test", Sync: r.Sync})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestGenerationFollowsTheWatch: a write another replica commits reaches
// this one through its watch (storage.DB.Apply), which moves this
// replica's generation on, so the token request after Sync reads the store
// again instead of answering from facts cached before the write.
func TestGenerationFollowsTheWatch(t *testing.T) {
	ctx := context.Background()
	writer, reader, f := twoReplicas(t, "/gen")
	d := tenant.NewDirectory(writer)
	no := false
	tests := []struct {
		name  string
		write func() error
		code  int // the AADSTS code of the next answer; 0 for a token
		roles int
	}{
		{"app role unassigned", func() error {
			_, err := consent.NewManager(d, writer).UnassignRole(ctx, f.tenantID, "api://orders", "Orders.Read.All", consent.Assignee{ClientAppID: f.daemonAppID})
			return err
		}, 0, 0},
		{"app role assigned again", func() error {
			_, err := consent.NewManager(d, writer).AssignRole(ctx, f.tenantID, "api://orders", "Orders.Read.All", consent.Assignee{ClientAppID: f.daemonAppID})
			return err
		}, 0, 1},
		{"client service principal disabled", func() error {
			_, err := d.UpdateServicePrincipal(ctx, f.tenantID, f.daemonAppID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
			return err
		}, issuer.CodeApplicationDisabled, 0},
		{"tenant removed", func() error { return d.RemoveTenant(ctx, f.tenantID) }, issuer.CodeTenantNotFound, 0},
	}
	srv := newServer(t, reader)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second answer comes from the cache
				f.tokenAnswer(t, srv)
			}
			if !generationMoved(t, reader, tt.write) {
				t.Fatal("the generation did not move when the watch applied the write")
			}
			if code, roles := f.tokenAnswer(t, srv); code != tt.code || roles != tt.roles {
				t.Fatalf("after the write: AADSTS%d with %d roles; want AADSTS%d with %d", code, roles, tt.code, tt.roles)
			}
		})
	}
}

// twoReplicas opens a writer and a reader replica of prefix on a new etcd
// member, seeds the daemon through the writer and waits until the
// reader's copy holds it.
func twoReplicas(t *testing.T, prefix string) (writer, reader *etcd.Store, f daemonFixture) {
	t.Helper()
	ep := etcdtest.Start(t)
	writer = open(t, []string{ep}, prefix)
	reader = open(t, []string{ep}, prefix)
	f = seedDaemon(t, writer)
	if err := reader.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return writer, reader, f
}

// generationMoved runs write (through another replica), waits until it
// reached reader's copy and reports whether reader's generation moved.
func generationMoved(t *testing.T, reader *etcd.Store, write func() error) bool {
	t.Helper()
	ctx := context.Background()
	before, ok := reader.Generation(ctx)
	if !ok {
		t.Fatal("no generation")
	}
	revision := reader.Revision()
	if err := write(); err != nil {
		t.Fatal(err)
	}
	if err := reader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if reader.Revision() == revision {
		t.Fatal("the write did not reach the reader's copy")
	}
	after, _ := reader.Generation(ctx)
	return after != before
}

// TestGenerationSkipsRefreshTokens: a refresh token stored and redeemed
// through one replica reaches the other's copy without moving its
// generation (storage.DB.Generation leaves refresh tokens out), so its
// read caches keep their facts; the next directory write still moves it.
func TestGenerationSkipsRefreshTokens(t *testing.T) {
	ctx := context.Background()
	writer, reader, f := twoReplicas(t, "/rt")
	now := time.Now()
	rt := tenant.RefreshToken{Hash: "h1", FamilyID: "f1", TenantID: f.tenantID, ClientAppID: f.daemonAppID, UserID: "u1",
		IssuedDateTime: now, ExpiresDateTime: now.Add(time.Hour)}
	next := rt
	next.Hash = "h2"
	writes := []struct {
		name  string
		write func() error
		moves bool
	}{
		{"refresh token stored", func() error { return writer.CreateRefreshToken(ctx, rt) }, false},
		{"refresh token rotated", func() error { return writer.RotateRefreshToken(ctx, rt.Hash, now, next) }, false},
		{"tenant renamed", func() error {
			return writer.UpdateTenant(ctx, f.tenantID, func(t *tenant.Tenant) error { t.DisplayName = "Renamed"; return nil })
		}, true},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if moved := generationMoved(t, reader, w.write); moved != w.moves {
				t.Fatalf("generation moved=%v, want %v", moved, w.moves)
			}
		})
	}
}

// TestGenerationFollowsAReload: a replica that fell behind a compaction
// loads the directory again (storage.DB.Reset), which moves its generation
// on too, so facts cached before are not served after the reload. The
// replica reads from one member of three; while that member is down, the
// others take a write and compact past it, so the replica's watch resumes
// on a compacted revision and it reloads.
func TestGenerationFollowsAReload(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	ctx := context.Background()
	leader := c.Leader(t)
	var lone *etcdtest.Member // the reader's member: not the leader, so no election follows its loss
	var others []string
	for _, m := range c.Members {
		if m != leader && lone == nil {
			lone = m
		} else {
			others = append(others, m.Endpoint)
		}
	}
	writer := open(t, others, "/reload")
	var reloads atomic.Int32
	reader, err := etcd.Open(ctx, etcd.Config{Endpoints: []string{lone.Endpoint}, Prefix: "/reload", KeyEncryptionKey: testKEK,
		Dir: t.TempDir(), Timeout: 10 * time.Second, Changed: func(roots map[string]bool) {
			if roots == nil { // a reload: every bucket may have changed
				reloads.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	f := seedDaemon(t, writer)
	if err := reader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, reader)
	for range 2 {
		if code, roles := f.tokenAnswer(t, srv); code != 0 || roles != 1 {
			t.Fatalf("before: AADSTS%d with %d roles", code, roles)
		}
	}
	before, _ := reader.Generation(ctx)

	lone.Kill()
	// The two members left keep a quorum; a write is retried should a
	// loaded machine make them elect a leader meanwhile.
	retry := func(what string, do func() error) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err = do(); err == nil {
				return
			}
		}
		t.Fatalf("%s: %v", what, err)
	}
	no := false
	retry("disabling the client", func() error {
		_, err := tenant.NewDirectory(writer).UpdateServicePrincipal(ctx, f.tenantID, f.daemonAppID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
		return err
	})
	// A second write, so that the compaction below, at the last revision,
	// removes the revision the reader's watch resumes from (etcd keeps the
	// revision compacted at).
	retry("a second write", func() error { return writer.PutSetting(ctx, "generation-test", []byte("after")) })
	cli, err := clientv3.New(clientv3.Config{Endpoints: others, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	retry("compacting", func() error {
		resp, err := cli.Get(ctx, "/reload/")
		if err != nil {
			return err
		}
		_, err = cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
		if errors.Is(err, rpctypes.ErrCompacted) { // an earlier try did compact
			return nil
		}
		return err
	})
	lone.Restart(t)
	for deadline := time.Now().Add(60 * time.Second); reloads.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the reader did not reload within 60s of its member's return (its copy is at revision %d)", reader.Revision())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after, _ := reader.Generation(ctx); after == before {
		t.Fatalf("generation %d after the reload; want it moved", after)
	}
	if code, _ := f.tokenAnswer(t, srv); code != issuer.CodeApplicationDisabled {
		t.Fatalf("after the reload: AADSTS%d; want AADSTS%d", code, issuer.CodeApplicationDisabled)
	}
}
