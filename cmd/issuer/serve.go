package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/graph"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/managedidentity"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// caFileName is the local CA certificate written beside the default
// database, issuer.db, for clients to trust (curl --cacert, SSL_CERT_FILE,
// NODE_EXTRA_CA_CERTS); caFilePath names the file of any database.
const caFileName = "issuer-ca.pem"

// caFilePath is the CA file of the database at dbPath: its name without
// ".db", then "-ca.pem" (issuer.db: issuer-ca.pem; orders.db:
// orders-ca.pem). Each database keeps its own CA, so two databases in one
// directory must not share one file: serving the second would replace the
// CA the first server's clients trust.
func caFilePath(dbPath string) string {
	return strings.TrimSuffix(dbPath, ".db") + "-ca.pem"
}

// shutdownTimeout bounds how long requests in flight may take to finish
// after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

// serveCommand is `issuer serve`: the token service.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the token, discovery and JWKS endpoints",
		Description: `HTTPS by default, because MSAL refuses http authorities. Without --tls-cert,
the server creates a local CA and a server certificate on first start, keeps
them in the database (restarts keep the same trust) and writes the CA
certificate beside the database file, named after it: issuer-ca.pem for
issuer.db, NAME-ca.pem for NAME.db.

When ready it prints one line to stderr:
   issuer: listening on https://127.0.0.1:8443 (ca: /path/issuer-ca.pem, admin: /path/issuer.db.sock, db: /path/issuer.db, signer: openssl)

The server holds the database lock, and listens on an admin socket beside the
database (mode 0600): other issuer commands on the same database are sent
there and run in the server, with the same output. --admin-token-file also
accepts them over HTTPS at {base URL}/admin/v1/run, from clients presenting
the token (issuer --server URL --admin-token-file FILE …); off by default.

--seed applies a seed file (see issuer apply) before serving. --clock frozen
or offset lets issuer clock set|advance move the server's time, so that
tests expire tokens and secrets without waiting; /healthz reports it.

EXAMPLES
   issuer serve --demo
   issuer serve --addr 127.0.0.1:0 --seed testdata/seed/example.json --clock frozen
   issuer serve --addr 0.0.0.0:8443 --base-url https://issuer.test:8443 --tls-cert cert.pem --tls-key key.pem
   issuer serve --addr 0.0.0.0:8443 --admin-token-file /run/secrets/issuer-admin
   issuer serve --insecure-http --addr 127.0.0.1:8080

   issuer serve --rotate-every 24h --rotate-grace 48h
   issuer serve --federation-ca other-issuer-ca.pem

--tls-cert and --tls-key are re-read when the files change (checked at most
once a second), so renewed certificates are served without a restart; a
pair that does not load is logged and the previous one kept.

Federated credentials make the server fetch external issuers' discovery
documents and keys over HTTPS. It trusts the system roots, its own CA (or
the certificates of --tls-cert), so that a tenant of this server can be the
identity provider, and the CAs of --federation-ca.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Usage: "listen on `HOST:PORT` (port 0 picks a free port)", Value: "127.0.0.1:8443", EnvVars: []string{"ISSUER_ADDR"}},
			&cli.StringFlag{Name: "base-url", Usage: "public https `URL` of the server, the only source of issuer and endpoint URLs (default: https:// + addr)", EnvVars: []string{"ISSUER_BASE_URL"}},
			&cli.PathFlag{Name: "tls-cert", Usage: "serve with this certificate chain (PEM `FILE`) instead of the local CA", EnvVars: []string{"ISSUER_TLS_CERT"}},
			&cli.PathFlag{Name: "tls-key", Usage: "private key (PEM `FILE`) of --tls-cert", EnvVars: []string{"ISSUER_TLS_KEY"}},
			&cli.BoolFlag{Name: "insecure-http", Usage: "serve plain HTTP, for curl-style use or behind a TLS proxy (published URLs become http:// unless --base-url says otherwise; MSAL refuses http)", EnvVars: []string{"ISSUER_INSECURE_HTTP"}},
			&cli.BoolFlag{Name: "entra-issuers", Usage: "put Microsoft's production issuer strings in tokens and discovery", EnvVars: []string{"ISSUER_ENTRA_ISSUERS"}},
			&cli.DurationFlag{Name: "token-lifetime", Usage: "lifetime (expires_in) of app-only access tokens and of id_tokens", DefaultText: "1h: expires_in 3599, as Entra", EnvVars: []string{"ISSUER_TOKEN_LIFETIME"}},
			&cli.DurationFlag{Name: "user-token-lifetime", Usage: "lifetime (expires_in) of delegated (user) access tokens", DefaultText: "drawn between 60 and 90 minutes for each token, as Entra", EnvVars: []string{"ISSUER_USER_TOKEN_LIFETIME"}},
			lifetimeFlag("refresh-token-lifetime", "how long a refresh token may wait to be redeemed, e.g. 90d or 24h (default: 90d, as Entra)"),
			&cli.GenericFlag{Name: "refresh-token-reuse", Usage: "what redeeming a refresh token does to it: allow (Entra: it stays valid, so retries, parallel workers and shared caches work) or revoke-family (strict one-time rotation: a second use is AADSTS70008 and revokes every token of the sign-in)",
				Value:   &choice{allowed: []string{string(issuer.RefreshTokenReuseAllow), string(issuer.RefreshTokenReuseRevokeFamily)}, value: string(issuer.RefreshTokenReuseAllow)},
				EnvVars: []string{"ISSUER_REFRESH_TOKEN_REUSE"}},
			&cli.BoolFlag{Name: "demo", Usage: "on an empty database, create a demo tenant and apps and print a curl command that gets a token"},
			&cli.StringSliceFlag{Name: "federation-ca", Usage: "also trust the CA certificates in PEM `FILE` when fetching a federated credential issuer's keys (repeatable)", EnvVars: []string{"ISSUER_FEDERATION_CA"}},
			&cli.DurationFlag{Name: "rotate-every", Usage: "rotate the signing key every `DURATION`", DefaultText: "never", EnvVars: []string{"ISSUER_ROTATE_EVERY"}},
			&cli.DurationFlag{Name: "rotate-grace", Usage: "keep a retired signing key in the JWKS for `DURATION`", Value: signing.DefaultRotationGrace, EnvVars: []string{"ISSUER_ROTATE_GRACE"}},
			inputFile(cli.PathFlag{Name: "seed", Usage: "apply the seed `FILE` (see issuer apply) before serving", EnvVars: []string{"ISSUER_SEED"}}),
			&cli.GenericFlag{Name: "clock", Usage: "the server's clock `MODE`: real, frozen (stands still until issuer clock set|advance) or offset (real time moved by issuer clock set|advance)",
				Value:   &choice{allowed: []string{string(issuer.ClockReal), string(issuer.ClockFrozen), string(issuer.ClockOffset)}, value: string(issuer.ClockReal)},
				EnvVars: []string{"ISSUER_CLOCK"}},
			// Performance: the RS256 implementation and the fair order of token requests.
			&cli.GenericFlag{Name: "signer", Usage: "RS256 implementation: auto (OpenSSL's libcrypto when this build has cgo and the library loads, else Go), go, or openssl", Value: &choice{allowed: []string{signing.Auto, signing.Go, signing.OpenSSL}, value: signing.Auto}, EnvVars: []string{"ISSUER_SIGNER"}},
			&cli.IntFlag{Name: "token-concurrency", Usage: "token requests computed at once, admitted in arrival order (0: one per CPU, 16 per CPU with the OpenSSL signer, whose threads sign from a queue; -1: unbounded, in the Go runtime's order)", EnvVars: []string{"ISSUER_TOKEN_CONCURRENCY"}},
			&cli.PathFlag{Name: "admin-token-file", Usage: "accept admin commands over HTTPS at {base URL}/admin/v1/run from clients presenting the bearer token in `FILE` (off by default)",
				EnvVars: []string{"ISSUER_SERVE_ADMIN_TOKEN_FILE"}},
			&cli.BoolFlag{Name: "insecure-remote-admin", Usage: "allow --admin-token-file with --insecure-http on an --addr that is not loopback: the admin bearer token then crosses the network in clear text unless a TLS proxy terminates in front of the server",
				EnvVars: []string{"ISSUER_INSECURE_REMOTE_ADMIN"}},
			&cli.DurationFlag{Name: "read-header-timeout", Usage: "close connections whose request headers take longer than `DURATION`",
				Value: issuer.DefaultHTTPLimits.ReadHeaderTimeout, EnvVars: []string{"ISSUER_READ_HEADER_TIMEOUT"}},
			&cli.DurationFlag{Name: "read-timeout", Usage: "close connections whose whole request takes longer than `DURATION`",
				Value: issuer.DefaultHTTPLimits.ReadTimeout, EnvVars: []string{"ISSUER_READ_TIMEOUT"}},
			&cli.StringFlag{Name: "managed-identity-addr", Usage: "serve the local managed identity endpoints (App Service, IMDS) over plain HTTP on `HOST:PORT`, a loopback address (see issuer identity env)", EnvVars: []string{"ISSUER_MANAGED_IDENTITY_ADDR"}},
			&cli.StringFlag{Name: "graph-addr", Usage: "also serve the Microsoft Graph subset on `HOST:PORT` at /v1.0, as graph.microsoft.com lays it out (it is always served at {base URL}/graph/v1.0), with the server's TLS", EnvVars: []string{"ISSUER_GRAPH_ADDR"}},
			&cli.BoolFlag{Name: "managed-identity-any-addr", Usage: "allow --managed-identity-addr on an address that is not loopback: anyone who reaches it and knows an identity's id gets its tokens from IMDS, which has no secret", EnvVars: []string{"ISSUER_MANAGED_IDENTITY_ANY_ADDR"}},
			&cli.GenericFlag{Name: "log-level", Usage: "what the server logs to standard error: debug (also a line per request and per token issued), info (refusals, admin commands, start and stop), warn or error",
				Value: &choice{allowed: []string{"debug", "info", "warn", "error"}, value: "info"}, EnvVars: []string{"ISSUER_LOG_LEVEL"}},
		},
		Action: serve,
	}
}

// logLevels are the values of --log-level.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// serveOptions are the serve flags, checked before anything is opened.
type serveOptions struct {
	addr          string
	baseURL       string // empty: derived from the listener
	tlsCert       string
	tlsKey        string
	insecureHTTP  bool
	entraIssuers  bool
	tokenLifetime time.Duration
	userLifetime  time.Duration // 0: drawn between 60 and 90 minutes
	refreshLife   time.Duration // 0: the issuer's default
	refreshReuse  issuer.RefreshTokenReuse
	demo          bool
	federationCAs []string
	rotateEvery   time.Duration
	rotateGrace   time.Duration
	seed          string
	clock         issuer.ClockMode
	adminToken    string // the token of --admin-token-file; empty: remote admin off
	signer        string // auto, go or openssl
	tokenConc     int
	limits        issuer.HTTPLimits
	logLevel      slog.Level
	// miAddr is --managed-identity-addr; miLn its listener, opened with
	// the main one.
	miAddr string
	miLn   net.Listener
	// graphAddr is --graph-addr; graphLn its listener, opened with the
	// main one.
	graphAddr string
	graphLn   net.Listener

	// The store, as the ready line names it, and where the local CA's
	// certificate is written (beside a bolt file; the working directory
	// with etcd).
	storeName, caDir string
	// replica is set with etcd: the server syncs with it before each
	// request, and reloads the signing keys when they change in etcd.
	replica *replica
}

func serveOptionsFrom(c *cli.Context) (serveOptions, error) {
	o := serveOptions{
		addr: c.String("addr"), baseURL: c.String("base-url"),
		tlsCert: c.Path("tls-cert"), tlsKey: c.Path("tls-key"),
		insecureHTTP: c.Bool("insecure-http"), entraIssuers: c.Bool("entra-issuers"),
		tokenLifetime: c.Duration("token-lifetime"), userLifetime: c.Duration("user-token-lifetime"), refreshLife: lifetimeValue(c, "refresh-token-lifetime"), demo: c.Bool("demo"),
		federationCAs: nonEmpty(c.StringSlice("federation-ca")),
		rotateEvery:   c.Duration("rotate-every"), rotateGrace: c.Duration("rotate-grace"),
		seed: c.Path("seed"), clock: issuer.ClockReal,
		signer: c.Generic("signer").(*choice).value, tokenConc: c.Int("token-concurrency"),
		refreshReuse: issuer.RefreshTokenReuse(c.Generic("refresh-token-reuse").(*choice).value),
		limits:       issuer.HTTPLimits{ReadHeaderTimeout: c.Duration("read-header-timeout"), ReadTimeout: c.Duration("read-timeout")},
		logLevel:     logLevels[c.Generic("log-level").(*choice).value],
		miAddr:       c.String("managed-identity-addr"),
		graphAddr:    c.String("graph-addr"),
	}
	if v, ok := c.Generic("clock").(*choice); ok && v.value != "" {
		o.clock = issuer.ClockMode(v.value)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, usageError("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8443", o.addr)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, usageError("--tls-cert and --tls-key go together")
	}
	if o.miAddr != "" && !isLoopbackAddr(o.miAddr) && !c.Bool("managed-identity-any-addr") {
		return o, usageError("--managed-identity-addr %s is not a loopback address: its IMDS endpoint hands out tokens to whoever names an identity; listen on 127.0.0.1, or add --managed-identity-any-addr", o.miAddr)
	}
	if o.tlsCert != "" && o.insecureHTTP {
		return o, usageError("--tls-cert and --insecure-http exclude each other")
	}
	if o.insecureHTTP && c.Path("admin-token-file") != "" && !isLoopbackAddr(o.addr) && !c.Bool("insecure-remote-admin") {
		return o, usageError("--admin-token-file with --insecure-http on %s, which is not a loopback address, would send the admin bearer token in clear text; serve TLS, listen on 127.0.0.1, or add --insecure-remote-admin when a TLS proxy terminates in front of the server", o.addr)
	}
	if o.tokenLifetime < 0 {
		return o, usageError("--token-lifetime must be positive")
	}
	if o.userLifetime < 0 {
		return o, usageError("--user-token-lifetime must be positive")
	}
	if o.rotateEvery < 0 || o.rotateEvery > 0 && o.rotateEvery < time.Second {
		return o, usageError("--rotate-every must be at least 1s")
	}
	if o.limits.ReadHeaderTimeout <= 0 || o.limits.ReadTimeout <= 0 {
		return o, usageError("--read-header-timeout and --read-timeout must be positive")
	}
	if o.rotateGrace < 0 {
		return o, usageError("--rotate-grace must not be negative")
	}
	if o.baseURL != "" {
		u, err := url.Parse(o.baseURL)
		if err != nil || !(u.Scheme == "https" || o.insecureHTTP && u.Scheme == "http") || u.Host == "" ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return o, usageError("--base-url %q: want https://host[:port], with no path (http:// only with --insecure-http)", o.baseURL)
		}
		o.baseURL = u.Scheme + "://" + u.Host
	}
	return o, nil
}

// isLoopbackAddr reports whether the HOST of addr (HOST:PORT) is a
// loopback address or localhost. A wildcard (empty, 0.0.0.0, ::) or any
// other name is not: it may be reached from the network.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scheme is the scheme the server speaks.
func (o serveOptions) scheme() string {
	if o.insecureHTTP {
		return "http"
	}
	return "https"
}

// publicURL is --base-url, or scheme://host:port of the listener, where a
// wildcard or empty host becomes localhost and the port is the real one
// (so that --addr 127.0.0.1:0 works). With --insecure-http the default is
// http://, so that issuers and endpoints name the URL clients really use;
// behind a TLS-terminating proxy, pass --base-url https://….
func (o serveOptions) publicURL(listening net.Addr) string {
	if o.baseURL != "" {
		return o.baseURL
	}
	host, _, _ := net.SplitHostPort(o.addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(listening.String())
	return o.scheme() + "://" + net.JoinHostPort(host, port)
}

// serveConfig builds the issuer's Config; it is the only place where the
// server's settings come from flags. NewID and Random stay the defaults
// (random GUIDs, crypto/rand) even where a test fixes the env's: admin
// commands run in the server take theirs from the env (serverState), one
// at a time, and what they print must not depend on how many token
// requests the server answered meanwhile (each takes trace and token ids),
// while the server's goroutines need a random source safe for concurrent
// use, which a test's seeded generator is not.
func serveConfig(o serveOptions, baseURL string, clock *issuer.Clock, logger *slog.Logger, roots func() *x509.CertPool, signer signing.Backend) issuer.Config {
	cfg := issuer.Config{
		BaseURL:              baseURL,
		AllowHTTP:            o.insecureHTTP,
		EntraIssuers:         o.entraIssuers,
		Clock:                clock,
		Logger:               logger,
		TokenLifetime:        o.tokenLifetime,
		UserTokenLifetime:    o.userLifetime,
		FederationRoots:      roots,
		RefreshTokenLifetime: o.refreshLife,
		RefreshTokenReuse:    o.refreshReuse,
		Signer:               signer,
		TokenConcurrency:     o.tokenConc,
	}
	if o.replica != nil {
		cfg.Sync = o.replica.sync
	}
	return cfg
}

// federationRoots is the trust of outbound fetches for federated
// credentials: the system roots, the server's own certificates (the local
// CA, or every certificate of --tls-cert, so that a self-signed one works)
// and the --federation-ca files. The files are read and checked now; the
// pool is made on the first fetch (issuer.Config.FederationRoots), since
// the system roots cost about 13 ms of a start.
func federationRoots(own []byte, files []string) (func() *x509.CertPool, error) {
	extra := [][]byte{own}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--federation-ca: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--federation-ca %s: %w: no PEM certificate in the file", f, tenant.ErrInvalid)
		}
		extra = append(extra, pem)
	}
	return sync.OnceValue(func() *x509.CertPool {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, pem := range extra {
			pool.AppendCertsFromPEM(pem)
		}
		return pool
	}), nil
}

func serve(c *cli.Context) (err error) {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	if err := refuseInServer(c, "serve"); err != nil {
		return err
	}
	o, err := serveOptionsFrom(c)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: o.logLevel}))
	if p := c.Path("admin-token-file"); p != "" {
		if o.adminToken, err = serverAdminToken(p, logger); err != nil {
			return err
		}
	}
	var doc seed.Document
	if o.seed != "" {
		data, err := readInput(c, o.seed)
		if err != nil {
			return err
		}
		if doc, err = seed.Parse(o.seed, data); err != nil {
			return err
		}
	}
	u, err := storeTarget(c)
	if err != nil {
		return err
	}
	// The address first: a port in use must fail before anything is
	// created, the database included.
	ln, err := listen(c, o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if o.miAddr != "" {
		if o.miLn, err = listen(c, o.miAddr); err != nil {
			return fmt.Errorf("--managed-identity-addr: %w", err)
		}
		defer o.miLn.Close()
	}
	if o.graphAddr != "" {
		if o.graphLn, err = listen(c, o.graphAddr); err != nil {
			return fmt.Errorf("--graph-addr: %w", err)
		}
		defer o.graphLn.Close()
	}
	var db *storage.DB
	if u.isEtcd() {
		if db, err = openReplica(c, u, &o); err != nil {
			return err
		}
	} else {
		db, err = openLocalDB(c, u.bolt)
		if errors.Is(err, storage.ErrLocked) && socketTarget(u.bolt) != nil {
			// Not ErrLocked's exit code 3, which says that no server
			// answers: one does.
			return fmt.Errorf("%s is already served by a running issuer (admin socket %s): stop that server first, or serve another --db", u.bolt, u.bolt+socketSuffix)
		}
		if err != nil {
			return err
		}
		o.storeName, o.caDir = u.bolt, filepath.Dir(u.bolt)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing database: %w", cerr)
		}
	}()
	signer, err := signing.Select(o.signer)
	if err != nil {
		return fmt.Errorf("--signer %s: %w", o.signer, err)
	}
	return serveDB(c, o, ln, db, doc, signer, logger)
}

// listen opens serve's listener, saying plainly when the address is taken.
func listen(c *cli.Context, addr string) (net.Listener, error) {
	ln, err := envOf(c).listen(addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot serve on %s: the address is already in use (another issuer serve?); choose another with --addr, or --addr 127.0.0.1:0 for any free port", addr)
	case err != nil:
		return nil, fmt.Errorf("cannot serve on %s: %w", addr, err)
	}
	return ln, nil
}

// serveDB serves on ln with the database open: it assembles the server,
// applies the seed, opens the admin socket, prints the ready line, and on
// cancellation stops
// taking admin commands, then lets requests in flight finish.
func serveDB(c *cli.Context, o serveOptions, ln net.Listener, db *storage.DB, doc seed.Document, signer signing.Backend, logger *slog.Logger) error {
	ctx := c.Context
	e := envOf(c)
	clock, err := issuer.NewClock(o.clock, e.now)
	if err != nil {
		return err
	}
	if o.replica != nil && clock.Mode() != issuer.ClockReal {
		// Replicas share a frozen or offset clock: `clock` on one moves
		// them all.
		if err := clock.Share(ctx, o.replica.store); err != nil {
			return err
		}
		o.replica.clock = clock
	}
	baseURL := o.publicURL(ln.Addr())
	listenURL := o.scheme() + "://" + ln.Addr().String()

	tlsConfig, caPath, ownCerts, err := serverTLS(ctx, o, db, baseURL, ln.Addr(), logger)
	if err != nil {
		return err
	}
	roots, err := federationRoots(ownCerts, o.federationCAs)
	if err != nil {
		return err
	}
	var backend issuer.Backend = db
	if o.replica != nil {
		backend = o.replica.store // its Ping asks etcd too
	}
	iss, err := issuer.New(ctx, backend, serveConfig(o, baseURL, clock, logger, roots, signer))
	if err != nil {
		return err
	}
	if o.replica != nil {
		o.replica.serving(ctx, iss, replicaName(ln.Addr()), logger)
		// Deferred first, so run last: after the servers below have
		// drained their requests, before the caller closes the store.
		defer o.replica.stop()
	}
	// The seed goes in before the server takes its first request.
	dir := iss.Directory()
	if o.seed != "" {
		res, err := seed.Apply(ctx, dir, iss.Consent(), doc)
		if err != nil {
			return err
		}
		tot := res.Total()
		fmt.Fprintf(c.App.ErrWriter, "issuer: applied %s: %d created, %d updated, %d unchanged\n", o.seed, tot.Created, tot.Updated, tot.Unchanged)
	}
	// Directories made before Graph existed get it now; then every
	// tenant has it, and the Graph subset is served beside Entra's
	// endpoints.
	gh, err := graph.Mount(ctx, iss, logger)
	if err != nil {
		return err
	}
	if err := recordServed(ctx, db, served{BaseURL: iss.BaseURL(), EntraIssuers: o.entraIssuers}); err != nil {
		return err
	}
	if o.demo {
		if err := demo(c, dir, demoTarget{dbPath: db.Path(), baseURL: baseURL, caPath: caPath}); err != nil {
			return err
		}
	}
	state := newServerState(db, clock, iss, e, logger)
	mi, err := startManagedIdentity(ctx, o, state, iss, e, logger)
	if err != nil {
		return err
	}
	gs, graphURL := startGraph(ctx, o, gh, tlsConfig, logger)
	admin, err := startAdminSocket(db.Path()+socketSuffix, state, logger)
	if err != nil {
		return err
	}
	defer admin.stop()

	handler := iss.Handler()
	if o.adminToken != "" {
		mux := http.NewServeMux()
		var h http.Handler = adminHandler(state, "https", bearerAuth(o.adminToken))
		if o.replica != nil {
			h = o.replica.syncing(h)
		}
		mux.Handle(adminPath, h)
		mux.Handle("/", handler)
		handler = mux
	}
	srv := issuer.NewHTTPServer(accessLog(logger, handler), o.limits)
	srv.TLSConfig = tlsConfig
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	srv.ConnContext = iss.ConnContext // fair order of token requests under load
	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	rotating := make(chan struct{})
	rctx, stopRotating := context.WithCancel(ctx)
	go func() {
		defer close(rotating)
		if o.rotateEvery > 0 {
			rotateKeysEvery(rctx, o.rotateEvery, o.rotateGrace, clock.Now, db, iss, o.replica, logger)
		}
	}()
	// The rotation goroutine uses the database: it ends before the caller
	// closes it.
	defer func() { stopRotating(); <-rotating }()
	fmt.Fprintf(c.App.ErrWriter, "issuer: listening on %s (%s)\n", listenURL, readyDetails(o, readyInfo{
		listenURL: listenURL, baseURL: baseURL, caPath: caPath, adminSocket: admin.path, dbPath: o.storeName, managedIdentity: state.miURL, graph: graphURL,
	})+", signer: "+iss.SignerName())

	// Serving ends when ctx does (SIGINT, SIGTERM) or when the listener
	// fails; either way the servers stop taking requests and answer those
	// they have before the deferred steps run (the replica's last batch of
	// sign-ins, then the store's closing, in serve).
	var serveErr error
	select {
	case serveErr = <-served:
		fmt.Fprintf(c.App.ErrWriter, "issuer: serving failed: %v\n", serveErr)
	case <-ctx.Done():
	}
	fmt.Fprintln(c.App.ErrWriter, "issuer: shutting down")
	stopRotating()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	admin.shutdown(sctx)
	if mi != nil {
		mi.Shutdown(sctx)
	}
	if gs != nil {
		gs.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		err = fmt.Errorf("shutting down: %w", err)
		if serveErr != nil { // the cause comes first
			err = errors.Join(fmt.Errorf("serving: %w", serveErr), err)
		}
		return err
	}
	if serveErr == nil {
		if serveErr = <-served; errors.Is(serveErr, http.ErrServerClosed) {
			serveErr = nil
		}
	}
	if serveErr != nil {
		return fmt.Errorf("serving: %w", serveErr)
	}
	return nil
}

// replicaName names a replica in the cluster's sign-in log: its host and
// the address it listens on.
func replicaName(addr net.Addr) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + "/" + addr.String()
}

// readyInfo is what the ready line reports.
type readyInfo struct {
	listenURL, baseURL, caPath, adminSocket, dbPath, managedIdentity, graph string
}

// readyDetails is the parenthesis of the ready line: where the CA
// certificate, the admin socket and the database are, the base URL when it
// is not the address listened on, and the remote admin endpoint and the
// clock when they are not the defaults.
func readyDetails(o serveOptions, r readyInfo) string {
	var parts []string
	switch {
	case r.caPath != "":
		parts = append(parts, "ca: "+r.caPath)
	case o.tlsCert != "":
		parts = append(parts, "cert: "+o.tlsCert)
	default:
		parts = append(parts, "plain HTTP")
	}
	if r.baseURL != r.listenURL {
		parts = append(parts, "base URL: "+r.baseURL)
	}
	if r.adminSocket != "" {
		parts = append(parts, "admin: "+r.adminSocket)
	}
	if o.adminToken != "" {
		parts = append(parts, "remote admin: "+r.baseURL+adminPath)
	}
	if o.clock != issuer.ClockReal {
		parts = append(parts, "clock: "+string(o.clock))
	}
	if r.managedIdentity != "" {
		parts = append(parts, "managed identity: "+r.managedIdentity)
	}
	if r.graph != "" {
		parts = append(parts, "graph: "+r.graph)
	}
	parts = append(parts, "db: "+r.dbPath)
	return strings.Join(parts, ", ")
}

// serverTLS returns the TLS configuration, or nil with --insecure-http,
// and the PEM certificates the server presents as its own (for the
// federation trust). Without --tls-cert it uses the local CA kept in the
// database and writes the CA certificate beside the database file,
// returning its path. With --tls-cert the files are reloaded when they
// change.
func serverTLS(ctx context.Context, o serveOptions, db *storage.DB, baseURL string, listening net.Addr, logger *slog.Logger) (*tls.Config, string, []byte, error) {
	if o.insecureHTTP {
		return nil, "", nil, nil
	}
	if o.tlsCert != "" {
		r, err := newCertReloader(o.tlsCert, o.tlsKey, logger)
		if err != nil {
			return nil, "", nil, fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		own, err := os.ReadFile(o.tlsCert)
		if err != nil {
			return nil, "", nil, err
		}
		return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12}, "", own, nil
	}
	cert, caPEM, err := issuer.LocalTLS(ctx, db, certificateHosts(baseURL, listening), time.Now())
	if err != nil {
		return nil, "", nil, fmt.Errorf("local TLS certificate: %w", err)
	}
	// A database's CA file is named after it; the replicas of an etcd
	// cluster share one CA, published as issuer-ca.pem where they run.
	caPath := filepath.Join(o.caDir, caFileName)
	if o.replica == nil {
		caPath = caFilePath(o.storeName)
		if err := checkCAFileFree(caPath, caPEM, o.storeName); err != nil {
			return nil, "", nil, err
		}
	}
	if err := writePublicFile(caPath, caPEM); err != nil {
		return nil, "", nil, fmt.Errorf("writing the CA certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPath, caPEM, nil
}

// checkCAFileFree refuses to replace the CA file at caPath with another CA
// while a server of another database publishes it: both "orders.db" and
// "orders" name orders-ca.pem, and that server's clients trust the file.
// A file holding the same CA, or one no running server publishes (a
// database re-created under the same name), is rewritten.
func checkCAFileFree(caPath string, caPEM []byte, dbPath string) error {
	old, err := os.ReadFile(caPath)
	if err != nil || bytes.Equal(old, caPEM) {
		return nil
	}
	stem := strings.TrimSuffix(caPath, "-ca.pem")
	for _, other := range []string{stem, stem + ".db"} {
		if other != dbPath && socketTarget(other) != nil {
			return fmt.Errorf("%s is the CA of %s, which a running server serves; rename this database (its CA file is named after it)", caPath, other)
		}
	}
	return nil
}

// rotateKeysEvery rotates the signing keys every d until ctx ends, and has
// iss load each new key: `serve --rotate-every`. Keys are stamped with the
// server's clock (now), against which the JWKS judges them. A failed
// rotation is logged and tried again at the next tick.
func rotateKeysEvery(ctx context.Context, every, grace time.Duration, now func() time.Time, ks signing.KeyStore, iss *issuer.Server, r *replica, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r != nil { // replicas rotate once for the cluster
			if ok, err := r.claimRotation(ctx, now(), every); !ok {
				if err != nil {
					logger.Error("signing key rotation failed", "error", err)
				}
				continue
			}
		}
		k, err := signing.Rotate(ctx, ks, now(), grace)
		if err == nil {
			err = iss.ReloadKeys(ctx)
		}
		if err != nil {
			logger.Error("signing key rotation failed", "error", err)
			continue
		}
		logger.Info("signing key rotated", "kid", k.KeyID, "grace", grace.String())
	}
}

// certificateHosts are the names the local server certificate must carry:
// the loopback names, the base URL's host and a specific listen address.
func certificateHosts(baseURL string, listening net.Addr) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, strings.ToLower(u.Hostname()))
	}
	if host, _, err := net.SplitHostPort(listening.String()); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			hosts = append(hosts, ip.String())
		}
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// writePublicFile writes data with mode 0644 (a CA certificate is public)
// to a temporary file renamed over path. The rename replaces whatever
// entry is at path, a symbolic link included, without following it: a
// link planted there cannot make the server overwrite its target.
//
// A regular file of ours at path that already holds data with mode 0644
// (every restart over the same database) is left as it is, which spares
// each restart a write, two fsyncs and a rename.
func writePublicFile(path string, data []byte) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == 0o644 &&
		fi.Size() == int64(len(data)) && ownedByUs(fi) {
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
			return nil
		}
	}
	return writeViaTemp(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, os.Rename)
}

// accessLog logs one line per request at debug level: method, path (never
// the query or the body, which may carry secrets), status and duration.
// Not at info: two lines of stderr per token cost about a sixth of the
// server's CPU under load (issuer bench), and the sign-in log (issuer logs)
// already records every token request.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// startGraph serves the Graph subset on o.graphLn, when --graph-addr is
// set, at /v1.0 as graph.microsoft.com does, with the main listener's TLS,
// and returns the server and its base URL for SDKs.
func startGraph(ctx context.Context, o serveOptions, gh *graph.Handler, tlsConfig *tls.Config, logger *slog.Logger) (*http.Server, string) {
	if o.graphLn == nil {
		return nil, ""
	}
	own := *gh
	own.Prefix = graph.RootPrefix
	var h http.Handler = &own
	if o.replica != nil {
		h = o.replica.syncing(h)
	}
	srv := issuer.NewHTTPServer(accessLog(logger, h), o.limits)
	if tlsConfig != nil {
		// A copy: each http.Server adds its protocols to its TLS config.
		srv.TLSConfig = tlsConfig.Clone()
	}
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	if tlsConfig != nil {
		go srv.ServeTLS(o.graphLn, "", "") //nolint:errcheck // ends with Shutdown
	} else {
		go srv.Serve(o.graphLn) //nolint:errcheck // ends with Shutdown
	}
	return srv, o.scheme() + "://" + o.graphLn.Addr().String() + strings.TrimSuffix(graph.RootPrefix, "/")
}

// startManagedIdentity serves the managed identity endpoints on o.miLn, when
// --managed-identity-addr opened it, with a new App Service header secret
// (identity env prints both). It returns the server to shut down, or nil.
func startManagedIdentity(ctx context.Context, o serveOptions, state *serverState, iss *issuer.Server, e *env, logger *slog.Logger) (*http.Server, error) {
	if o.miLn == nil {
		return nil, nil
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(e.random, secret); err != nil {
		return nil, fmt.Errorf("generating the managed identity header secret: %w", err)
	}
	state.miURL, state.miSecret = "http://"+o.miLn.Addr().String(), hex.EncodeToString(secret)
	var h http.Handler = &managedidentity.Handler{Issuer: iss, Secret: state.miSecret, Logger: logger, NewID: e.newID}
	if o.replica != nil {
		h = o.replica.syncing(h)
	}
	srv := issuer.NewHTTPServer(accessLog(logger, h), o.limits)
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	go srv.Serve(o.miLn) //nolint:errcheck // ends with Shutdown
	return srv, nil
}

// ownedByUs reports whether fi's file belongs to the user running issuer.
func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
