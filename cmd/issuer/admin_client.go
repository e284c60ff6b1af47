package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

// The client side of live administration: finding a server to send the
// command to, and sending it.

const (
	// adminClientTimeout bounds one admin request, beyond the server's own
	// limit on the command.
	adminClientTimeout = adminRunTimeout + 30*time.Second
	// socketDialTimeout bounds the check that a server answers on the
	// socket; a live server accepts at once.
	socketDialTimeout = time.Second
)

// serverFlag, adminTokenFileFlag and caFileFlag are the global flags that
// send every command to a remote server instead of opening a database.
func serverFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "server",
		Usage:   "send the command to the issuer serving at `URL` (its base URL; needs --admin-token-file) instead of opening --db",
		EnvVars: []string{"ISSUER_SERVER"},
	}
}

func adminTokenFileFlag() cli.Flag {
	return &cli.PathFlag{
		Name:    "admin-token-file",
		Usage:   "with --server: the bearer token the server was started with (serve --admin-token-file), in `FILE`",
		EnvVars: []string{"ISSUER_ADMIN_TOKEN_FILE"},
	}
}

func caFileFlag() cli.Flag {
	return &cli.PathFlag{
		Name:    "ca-file",
		Usage:   "with --server: trust the CA certificate in `FILE` (e.g. the server's issuer-ca.pem) instead of the system's",
		EnvVars: []string{"ISSUER_CA_FILE"},
	}
}

// adminTarget is a server that takes commands: over the admin socket beside
// the database, or over HTTPS with a bearer token.
type adminTarget struct {
	socket string // path of the Unix socket; or:
	url    string // https://host:port/admin/v1/run
	token  string
	client *http.Client
}

func (t *adminTarget) String() string {
	if t.socket != "" {
		return "the admin socket " + t.socket
	}
	return t.url
}

// remoteTarget returns the server named by --server, or nil without it.
func remoteTarget(c *cli.Context) (*adminTarget, error) {
	raw := c.String("server")
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, usageError("--server %q: want the server's base URL, e.g. https://issuer.test:8443", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		// Plain HTTP carries the token in clear: only to this machine.
	default:
		return nil, usageError("--server %q: want https:// (http:// only to a loopback address, since the admin token would travel in clear)", raw)
	}
	tokenFile := c.Path("admin-token-file")
	if tokenFile == "" {
		return nil, usageError("--server needs --admin-token-file FILE (or ISSUER_ADMIN_TOKEN_FILE): the token the server was started with")
	}
	token, err := readTokenFile(tokenFile)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile := c.Path("ca-file"); caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
		tlsConfig.RootCAs = pool
	}
	return &adminTarget{
		url:   strings.TrimSuffix(u.String(), "/") + adminPath,
		token: token,
		client: &http.Client{
			Timeout:   adminClientTimeout,
			Transport: &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second},
			// The admin endpoint never redirects; following one would
			// send the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readTokenFile reads an admin token: the file's content without
// surrounding white space, which must not be empty.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return token, nil
}

// socketTarget returns the server listening on the admin socket beside the
// database at dbPath, or nil when none answers (no socket file, or a stale
// one left by a server that did not stop cleanly). Every connection, the
// probe's and the commands', checks that the process listening runs as
// this user (the peer credentials of the socket, SO_PEERCRED): another
// local user who bound the path first in a shared directory would receive
// passwords and secrets, so a command sent there fails instead.
func socketTarget(dbPath string) *adminTarget {
	path := dbPath + socketSuffix
	if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		return nil
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return nil, err
		}
		if err := checkSocketPeer(conn, path); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), socketDialTimeout)
	defer cancel()
	conn, err := dial(ctx, "", "")
	if err != nil && !errors.Is(err, errForeignSocket) {
		return nil
	}
	if conn != nil {
		conn.Close()
	}
	// A foreign listener is a target all the same, whose every connection
	// fails: the command must not fall back to opening the file either.
	return &adminTarget{
		socket: path,
		url:    "http://issuer-admin" + adminPath,
		client: &http.Client{Timeout: adminClientTimeout, Transport: &http.Transport{DialContext: dial}},
	}
}

// errForeignSocket: the admin socket is served by another user.
var errForeignSocket = errors.New("served by another user")

// checkSocketPeer refuses a connection whose listening process does not
// run as this process's effective user.
func checkSocketPeer(conn net.Conn, path string) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("admin socket %s: not a Unix connection", path)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	if credErr != nil {
		return fmt.Errorf("admin socket %s: reading the peer's credentials: %w", path, credErr)
	}
	if int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("admin socket %s is %w (uid %d, pid %d), not by uid %d running this command: refusing to send it anything; remove it and start issuer serve",
			path, errForeignSocket, cred.Uid, cred.Pid, os.Geteuid())
	}
	return nil
}

// send posts req and returns the command's answer.
func (t *adminTarget) send(ctx context.Context, req adminRequest) (adminResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return adminResponse{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return adminResponse{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if t.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(hreq)
	if err != nil {
		return adminResponse{}, fmt.Errorf("sending the command to %s: %w", t, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminResponseBytes))
	if err != nil {
		return adminResponse{}, fmt.Errorf("reading the answer of %s: %w", t, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e adminError
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return adminResponse{}, fmt.Errorf("%s refused the command: %d %s: %s", t, resp.StatusCode, e.Error, e.Description)
		}
		return adminResponse{}, fmt.Errorf("%s refused the command: %s (is it an issuer with the remote admin API enabled?)", t, resp.Status)
	}
	var out adminResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return adminResponse{}, fmt.Errorf("the answer of %s is not an admin response: %w", t, err)
	}
	return out, nil
}
