package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// caFileName is the local CA certificate written beside the database, for
// clients to trust (curl --cacert, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS).
const caFileName = "issuer-ca.pem"

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
certificate to issuer-ca.pem beside the database file.

When ready it prints one line to stderr:
   issuer: listening on https://127.0.0.1:8443 (ca: /path/issuer-ca.pem, db: /path/issuer.db, signer: openssl)

The server holds the database lock: stop it (Ctrl-C or SIGTERM; requests in
flight finish) before running other issuer commands on the same database.

EXAMPLES
   issuer serve --demo
   issuer serve --addr 127.0.0.1:0
   issuer serve --addr 0.0.0.0:8443 --base-url https://issuer.test:8443 --tls-cert cert.pem --tls-key key.pem
   issuer serve --insecure-http --addr 127.0.0.1:8080`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Usage: "listen on `HOST:PORT` (port 0 picks a free port)", Value: "127.0.0.1:8443", EnvVars: []string{"ISSUER_ADDR"}},
			&cli.StringFlag{Name: "base-url", Usage: "public https `URL` of the server, the only source of issuer and endpoint URLs (default: https:// + addr)", EnvVars: []string{"ISSUER_BASE_URL"}},
			&cli.PathFlag{Name: "tls-cert", Usage: "serve with this certificate chain (PEM `FILE`) instead of the local CA", EnvVars: []string{"ISSUER_TLS_CERT"}},
			&cli.PathFlag{Name: "tls-key", Usage: "private key (PEM `FILE`) of --tls-cert", EnvVars: []string{"ISSUER_TLS_KEY"}},
			&cli.BoolFlag{Name: "insecure-http", Usage: "serve plain HTTP, for curl-style use or behind a TLS proxy (published URLs become http:// unless --base-url says otherwise; MSAL refuses http)", EnvVars: []string{"ISSUER_INSECURE_HTTP"}},
			&cli.BoolFlag{Name: "entra-issuers", Usage: "put Microsoft's production issuer strings in tokens and discovery", EnvVars: []string{"ISSUER_ENTRA_ISSUERS"}},
			&cli.DurationFlag{Name: "token-lifetime", Usage: "access token lifetime (expires_in)", DefaultText: "1h: expires_in 3599, as Entra", EnvVars: []string{"ISSUER_TOKEN_LIFETIME"}},
			&cli.BoolFlag{Name: "demo", Usage: "on an empty database, create a demo tenant and apps and print a curl command that gets a token"},
			// Performance (issue 8): the RS256 implementation and the fair signing gate.
			&cli.GenericFlag{Name: "signer", Usage: "RS256 implementation: auto (OpenSSL's libcrypto when this build has cgo and the library loads, else Go), go, or openssl", Value: &choice{allowed: []string{issuer.SignerAuto, issuer.SignerGo, issuer.SignerOpenSSL}, value: issuer.SignerAuto}, EnvVars: []string{"ISSUER_SIGNER"}},
			&cli.IntFlag{Name: "token-concurrency", Usage: "token requests computed at once, admitted in arrival order (0: one per CPU; -1: unbounded, in the Go runtime's order)", EnvVars: []string{"ISSUER_TOKEN_CONCURRENCY"}},
		},
		Action: serve,
	}
}

// serveOptions are the serve flags, checked before anything is opened.
type serveOptions struct {
	addr          string
	baseURL       string // empty: derived from the listener
	tlsCert       string
	tlsKey        string
	insecureHTTP  bool
	entraIssuers  bool
	tokenLifetime time.Duration
	demo          bool
	signer        string // auto, go or openssl
	tokenConc     int
}

func serveOptionsFrom(c *cli.Context) (serveOptions, error) {
	o := serveOptions{
		addr: c.String("addr"), baseURL: c.String("base-url"),
		tlsCert: c.Path("tls-cert"), tlsKey: c.Path("tls-key"),
		insecureHTTP: c.Bool("insecure-http"), entraIssuers: c.Bool("entra-issuers"),
		tokenLifetime: c.Duration("token-lifetime"), demo: c.Bool("demo"),
		signer: c.Generic("signer").(*choice).value, tokenConc: c.Int("token-concurrency"),
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, usageError("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8443", o.addr)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, usageError("--tls-cert and --tls-key go together")
	}
	if o.tlsCert != "" && o.insecureHTTP {
		return o, usageError("--tls-cert and --insecure-http exclude each other")
	}
	if o.tokenLifetime < 0 {
		return o, usageError("--token-lifetime must be positive")
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
// server's settings come from flags.
func serveConfig(o serveOptions, baseURL string, db *storage.DB, dir *tenant.Directory, logger *slog.Logger, signer issuer.SignerBackend) issuer.Config {
	cfg := issuer.Config{
		BaseURL:       baseURL,
		AllowHTTP:     o.insecureHTTP,
		EntraIssuers:  o.entraIssuers,
		Directory:     dir,
		Grants:        db,
		Keys:          db,
		Logger:        logger,
		TokenLifetime: o.tokenLifetime,
	}
	cfg.Signer, cfg.TokenConcurrency = signer, o.tokenConc
	return cfg
}

func serve(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	o, err := serveOptionsFrom(c)
	if err != nil {
		return err
	}
	signer, err := issuer.SelectSigner(o.signer)
	if err != nil {
		return fmt.Errorf("--signer %s: %w", o.signer, err)
	}
	return withDB(c, func(db *storage.DB, dir *tenant.Directory) error {
		ctx := c.Context
		ln, err := net.Listen("tcp", o.addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", o.addr, err)
		}
		defer ln.Close()
		baseURL := o.publicURL(ln.Addr())
		listenURL := o.scheme() + "://" + ln.Addr().String()
		logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))

		tlsConfig, caPath, err := serverTLS(ctx, o, db, baseURL, ln.Addr())
		if err != nil {
			return err
		}
		iss, err := issuer.New(ctx, serveConfig(o, baseURL, db, dir, logger, signer))
		if err != nil {
			return err
		}
		if o.demo {
			if err := demo(c, dir, demoTarget{dbPath: db.Path(), baseURL: baseURL, caPath: caPath}); err != nil {
				return err
			}
		}
		srv := &http.Server{
			Handler:           accessLog(logger, iss.Handler()),
			TLSConfig:         tlsConfig,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		srv.ConnContext = iss.ConnContext // fair order of token requests under load
		served := make(chan error, 1)
		go func() {
			if tlsConfig != nil {
				served <- srv.ServeTLS(ln, "", "")
			} else {
				served <- srv.Serve(ln)
			}
		}()
		fmt.Fprintf(c.App.ErrWriter, "issuer: listening on %s (%s)\n", listenURL, readyDetails(o, listenURL, baseURL, caPath, db.Path())+", signer: "+iss.SignerName())

		select {
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		case <-ctx.Done():
		}
		fmt.Fprintln(c.App.ErrWriter, "issuer: shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutting down: %w", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving: %w", err)
		}
		return nil
	})
}

// readyDetails is the parenthesis of the ready line: where the CA
// certificate and the database are, and the base URL when it is not the
// address listened on.
func readyDetails(o serveOptions, listenURL, baseURL, caPath, dbPath string) string {
	var parts []string
	switch {
	case caPath != "":
		parts = append(parts, "ca: "+caPath)
	case o.tlsCert != "":
		parts = append(parts, "cert: "+o.tlsCert)
	default:
		parts = append(parts, "plain HTTP")
	}
	if baseURL != listenURL {
		parts = append(parts, "base URL: "+baseURL)
	}
	parts = append(parts, "db: "+dbPath)
	return strings.Join(parts, ", ")
}

// serverTLS returns the TLS configuration, or nil with --insecure-http.
// Without --tls-cert it uses the local CA kept in the database and writes
// the CA certificate beside the database file, returning its path.
func serverTLS(ctx context.Context, o serveOptions, db *storage.DB, baseURL string, listening net.Addr) (*tls.Config, string, error) {
	if o.insecureHTTP {
		return nil, "", nil
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, "", fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, "", nil
	}
	cert, caPEM, err := issuer.LocalTLS(ctx, db, certificateHosts(baseURL, listening), time.Now())
	if err != nil {
		return nil, "", fmt.Errorf("local TLS certificate: %w", err)
	}
	caPath := filepath.Join(filepath.Dir(db.Path()), caFileName)
	if err := writePublicFile(caPath, caPEM); err != nil {
		return nil, "", fmt.Errorf("writing the CA certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPath, nil
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

// writePublicFile writes data with mode 0644 (a CA certificate is public).
func writePublicFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

// accessLog logs one line per request: method, path (never the query or the
// body, which may carry secrets), status and duration.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
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
