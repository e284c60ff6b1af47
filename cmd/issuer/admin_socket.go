package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// socketSuffix makes the admin socket's path from the database's:
// /path/issuer.db → /path/issuer.db.sock.
const socketSuffix = ".sock"

// listenAdminSocket listens on the admin socket at path with mode 0600, so
// that only the database's owner can send commands: the socket is bound in
// a fresh private directory (mode 0700) beside path, made 0600 there, and
// renamed into place. Nobody else can connect in between, and the rename
// replaces a stale socket left by a server that did not stop cleanly (the
// caller holds the database lock, so no live server owns it). The caller
// removes path after closing the listener.
func listenAdminSocket(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("admin socket %s: a file that is not a socket is in the way", path)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".issuer-admin-")
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	bound := filepath.Join(tmp, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: bound, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	// The listener's own path is renamed away; closing must not unlink
	// whatever is at it then.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(bound, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Rename(bound, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return ln, nil
}

// removeAdminSocket removes the socket file at path, if it is one.
func removeAdminSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return err
	}
	return os.Remove(path)
}

// adminSocket is the admin socket's server inside `issuer serve`.
type adminSocket struct {
	path string
	srv  *http.Server
}

// startAdminSocket serves the admin channel on the socket at path. A
// socket it cannot own (a file in the way, another user's socket it may not
// replace, a directory it may not write, a path longer than Unix sockets
// allow) fails serve: the CLI would otherwise go on talking to whatever
// answers at path, which may be a listener another local user planted to
// receive passwords and secrets.
func startAdminSocket(path string, st *serverState, logger *slog.Logger) (*adminSocket, error) {
	ln, err := listenAdminSocket(path)
	if err != nil {
		return nil, fmt.Errorf("%w (issuer serve must own the admin socket beside the database; remove what is there, or use a --db path in a directory only you can write)", err)
	}
	mux := http.NewServeMux()
	mux.Handle(adminPath, adminHandler(st, "socket", nil))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeAdminError(w, http.StatusNotFound, "not_found", "the admin socket serves POST "+adminPath)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	return &adminSocket{path: path, srv: srv}, nil
}

// shutdown stops taking commands, waits for those running, and removes the
// socket file.
func (a *adminSocket) shutdown(ctx context.Context) {
	a.srv.Shutdown(ctx)
	removeAdminSocket(a.path)
}

// stop closes the socket at once (serve failing after it opened).
func (a *adminSocket) stop() {
	a.srv.Close()
	removeAdminSocket(a.path)
}

// minAdminTokenLength keeps remote admin tokens out of guessing range.
const minAdminTokenLength = 16

// serverAdminToken reads serve's --admin-token-file: readable, at least
// minAdminTokenLength characters. A file other users may read gets a
// warning rather than a refusal: Docker and Kubernetes mount secrets
// 0444/0644 by default, inside containers that have one user.
func serverAdminToken(path string, logger *slog.Logger) (string, error) {
	token, err := readTokenFile(path)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	if len(token) < minAdminTokenLength {
		return "", usageError("--admin-token-file %s: the token has %d characters; use at least %d, e.g. openssl rand -hex 32 > %s",
			path, len(token), minAdminTokenLength, path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("the admin token file is readable by other users; chmod 600 it unless it is a container secret",
			"file", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	return token, nil
}
