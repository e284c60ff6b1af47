package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// The floor: a bare token server a run can measure beside issuer.
//
// Issue 19 asks for tokens at 80% of the raw signing rate. What bounds
// that on a machine is not only the signature but the cost of a request
// on net/http, crypto/tls and loopback TCP there, which no handler can go
// below. The floor server measures that bound: it answers the bench's
// client-credentials request with the work no token server can skip. It
// reads the form, checks the client secret against the stored hash, builds
// a token of the claims issuer's has (the same bytes are hashed, signed
// and sent) and signs it with the same backend and key, on an http.Server
// with issuer's settings and certificate. It has no directory reads,
// policy, fair gate, sign-in log, Entra headers or access log: issuer's
// rate over the floor's, in the same run, is what issuer's own work costs
// on that machine, whatever its speed at the moment.

// floorServer is the floor's handler and what it read at its start.
type floorServer struct {
	path     string // /{tenant id}/oauth2/v2.0/token
	clientID string
	scope    string
	secrets  tenant.Application // the daemon, for its password credentials
	claims   floorClaims        // fixed fields; the times and ids are per token
	header   string             // the JOSE header, base64url
	signer   signing.Signer
}

// floorClaims are the claims of issuer's v2.0 app-only access token
// (issuer/testdata/golden/token-v2.json).
type floorClaims struct {
	Aud    string   `json:"aud"`
	Iss    string   `json:"iss"`
	Iat    int64    `json:"iat"`
	Nbf    int64    `json:"nbf"`
	Exp    int64    `json:"exp"`
	Aio    string   `json:"aio"`
	Azp    string   `json:"azp"`
	Azpacr string   `json:"azpacr"`
	Oid    string   `json:"oid"`
	Rh     string   `json:"rh"`
	Roles  []string `json:"roles"`
	Sub    string   `json:"sub"`
	Tid    string   `json:"tid"`
	Uti    string   `json:"uti"`
	Ver    string   `json:"ver"`
}

// ServeFloor serves the floor on ln until ctx ends. It reads the bench
// tenant, the daemon clientID names, the API, the signing key and the TLS
// certificate from the database at dbFile, which a run has provisioned,
// and closes it before serving.
func ServeFloor(ctx context.Context, ln net.Listener, dbFile, clientID, signerName string) error {
	backend, err := signing.Select(signerName)
	if err != nil {
		return err
	}
	f, cert, err := loadFloor(ctx, dbFile, clientID, backend, "https://"+ln.Addr().String())
	if err != nil {
		return fmt.Errorf("bench: floor: %w", err)
	}
	srv := issuer.NewHTTPServer(f, issuer.HTTPLimits{})
	// issuer serve's own configuration with its local certificate.
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

func loadFloor(ctx context.Context, dbFile, clientID string, backend signing.Backend, base string) (*floorServer, tls.Certificate, error) {
	db, err := storage.Open(dbFile, storage.Options{ReadOnly: true})
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	defer db.Close()
	dir := tenant.NewDirectory(db)
	t, err := dir.ResolveTenant(ctx, TenantName+".onmicrosoft.com")
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	daemon, err := dir.GetApplication(ctx, clientID)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	sp, _, err := dir.FindServicePrincipal(ctx, t.ID, clientID)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	_, api, err := dir.FindServicePrincipal(ctx, t.ID, APIURI)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	var key *tenant.SigningKey
	for i := range keys {
		if keys[i].Active() {
			key = &keys[i]
		}
	}
	if key == nil {
		return nil, tls.Certificate{}, errors.New("the database has no active signing key")
	}
	signer, err := backend.NewSigner(key.PrivateKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	cert, _, err := issuer.LocalTLS(ctx, db, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	header, err := json.Marshal(struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"JWT", "RS256", key.KeyID})
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return &floorServer{
		path:     "/" + t.ID + "/oauth2/v2.0/token",
		clientID: clientID,
		scope:    APIURI + "/.default",
		secrets:  daemon,
		claims: floorClaims{
			Aud: api.AppID, Iss: base + "/" + t.ID + "/v2.0", Azp: clientID, Azpacr: "1",
			Oid: sp.ID, Sub: sp.ID, Tid: t.ID, Roles: []string{RoleValue}, Ver: "2.0",
			Rh: floorRH(t.ID, api.AppID),
		},
		header: base64.RawURLEncoding.EncodeToString(header),
		signer: signer,
	}, cert, nil
}

// floorRH is an rh claim of the length of issuer's: "0.", the base64url
// of 37 bytes (the tenant's and the resource's GUIDs among them), ".".
func floorRH(tenantID, resourceAppID string) string {
	var raw [37]byte
	tid, _ := tenant.GUIDBytes(tenantID)
	aid, _ := tenant.GUIDBytes(resourceAppID)
	copy(raw[3:], tid[:])
	copy(raw[19:], aid[:])
	return "0." + base64.RawURLEncoding.EncodeToString(raw[:]) + "."
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != f.path {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		floorError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	form := r.PostForm
	if form.Get("grant_type") != "client_credentials" || form.Get("scope") != f.scope {
		floorError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if form.Get("client_id") != f.clientID || f.secrets.VerifySecret(form.Get("client_secret"), time.Now()) != nil {
		floorError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	token, err := f.token(time.Now())
	if err != nil {
		floorError(w, http.StatusInternalServerError, "server_error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"` + token + `"}`))
}

// token is a signed compact JWS of f's claims at now.
func (f *floorServer) token(now time.Time) (string, error) {
	var ids [28]byte
	if _, err := rand.Read(ids[:]); err != nil {
		return "", err
	}
	c := f.claims
	c.Iat, c.Nbf, c.Exp = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	c.Aio = base64.StdEncoding.EncodeToString(ids[:12])
	c.Uti = base64.RawURLEncoding.EncodeToString(ids[12:])
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := f.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := f.signer.SignRS256(digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// floorError answers an OAuth error. The floor answers only the bench's
// own client, so it carries no AADSTS code: error_codes would have to be
// made up.
func floorError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + code + `"}`))
}

// FloorCommand is the hidden command of the issuer binary that serves the
// floor: FloorCommand --database FILE --addr HOST:PORT --client-id ID
// --signer NAME.
const FloorCommand = "bench-floor"

// FloorReport is the floor server's levels, measured after issuer's on the
// same CPU, with the same client and raw-rate measurements around each.
type FloorReport struct {
	Levels []Level `json:"levels"`
	// IssuerRatio is issuer's throughput at the highest level over the
	// floor's: the share of what net/http, TLS and the signer allow on
	// this machine that issuer reaches.
	IssuerRatio float64 `json:"issuer_ratio"`
}

// floorPhase starts the floor server on the provisioned dbFile (no server
// holding it) and measures it like issuer.
func floorPhase(ctx context.Context, o Options, dbFile string, client *http.Client, target Target, rep *Report) (err error) {
	command := func(addr string) []string {
		return []string{FloorCommand, "--database", dbFile, "--addr", addr, "--client-id", target.ClientID, "--signer", rep.Signer}
	}
	srv, err := startBenchServer(filepath.Join(filepath.Dir(dbFile), "floor"), command, o, o.CPU)
	if err != nil {
		return err
	}
	defer stopAll(&err, srv)
	base := "https://" + srv.addr
	if _, err := firstToken(ctx, client, base, target, srv); err != nil {
		return fmt.Errorf("the floor server: %w\nits log (%s):\n%s", err, srv.logPath, tail(srv.logPath, 20))
	}
	fr := &FloorReport{}
	rawRate := func() (float64, error) { return measureSigner(rep.Signer, o.CPU, o.SignTime, rep) }
	fr.Levels, err = runLevels(ctx, TokenRequest(client, base, target), o, srv.cpuTime, rawRate)
	if err != nil {
		return err
	}
	if floor := fr.Levels[len(fr.Levels)-1].TokensPerSec; floor > 0 {
		fr.IssuerRatio = rep.Levels[len(rep.Levels)-1].TokensPerSec / floor
	}
	rep.Floor = fr
	return nil
}
