package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
)

// Live administration. While `issuer serve` holds the database (bbolt locks
// it), the CLI sends its command line to the server, which runs the same
// command tree in-process against its open database and answers with what
// the command printed and its exit code. There is one implementation of each
// operation, the command itself, whichever way it arrives: run directly, over
// the admin socket beside the database, or over HTTPS (serve
// --admin-token-file). route.go decides where a command runs and sends it;
// admin.go is the protocol and the server side; admin_client.go finds and
// talks to a server; admin_socket.go is the socket.

// adminPath is the admin endpoint, on the socket and under the base URL.
const adminPath = "/admin/v1/run"

// Limits of the admin protocol. A request carries a command line and the
// files it reads (a seed file for apply); an answer what the command
// printed (an export may be large).
const (
	maxAdminRequestBytes  = 24 << 20
	maxAdminResponseBytes = 64 << 20
	maxAdminArgs          = 1000
	maxAdminFiles         = 16
	// adminRunTimeout bounds one forwarded command.
	adminRunTimeout = 2 * time.Minute
)

// adminRequest is what the client sends: its command line without the
// program name and the connection flags (--db, --server, …), and the
// content of the files the command reads, by the name given on the command
// line.
type adminRequest struct {
	Args  []string          `json:"args"`
	Files map[string][]byte `json:"files,omitempty"`
	// Dir is the client's working directory, sent over the admin socket
	// only: files the command writes are created relative to it
	// (outfile.go).
	Dir string `json:"dir,omitempty"`
}

// adminResponse is what the command printed and its exit code. Cursor is
// set by `logs`: the newest sign-in's sequence number, so that --follow
// asks for what comes after it.
type adminResponse struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exitCode"`
	Cursor   uint64 `json:"cursor,omitempty"`
	// Files are the files a command sent over HTTPS wrote, for the client
	// to create (outfile.go).
	Files []adminFile `json:"files,omitempty"`
}

// adminError is the body of a refused admin request.
type adminError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// decodeAdminRequest reads and checks a request body: one JSON object with
// known fields only, arguments and file names that are UTF-8 without NUL,
// within the limits.
func decodeAdminRequest(r io.Reader) (adminRequest, error) {
	var req adminRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return adminRequest{}, fmt.Errorf("the request is not an admin request: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return adminRequest{}, errors.New("the request has data after its JSON object")
	}
	if len(req.Args) > maxAdminArgs || len(req.Files) > maxAdminFiles {
		return adminRequest{}, fmt.Errorf("the request has more than %d arguments or %d files", maxAdminArgs, maxAdminFiles)
	}
	for _, a := range req.Args {
		if !utf8.ValidString(a) || strings.ContainsRune(a, 0) {
			return adminRequest{}, errors.New("an argument is not UTF-8 text")
		}
	}
	for name := range req.Files {
		if name == "" || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
			return adminRequest{}, errors.New("a file name is empty or not UTF-8 text")
		}
	}
	if req.Dir != "" && (!utf8.ValidString(req.Dir) || strings.ContainsRune(req.Dir, 0) || !filepath.IsAbs(req.Dir)) {
		return adminRequest{}, errors.New("the working directory is not an absolute path")
	}
	return req, nil
}

// serverState is what a running `issuer serve` lends to the commands it
// runs for the admin channel: its open database, its clock, the issuer
// (sign-in log, keys), and the sources of ids and randomness.
type serverState struct {
	db     *storage.DB
	clock  *issuer.Clock
	iss    *issuer.Server
	newID  func() string
	random io.Reader
	logger *slog.Logger
	// turn lets one forwarded command run at a time, so that commands from
	// several clients never interleave their reads and writes.
	turn chan struct{}
	// miURL and miSecret are the managed identity listener's base URL and
	// App Service header secret, with --managed-identity-addr.
	miURL, miSecret string
}

func newServerState(db *storage.DB, clock *issuer.Clock, iss *issuer.Server, e *env, logger *slog.Logger) *serverState {
	return &serverState{db: db, clock: clock, iss: iss, newID: e.newID, random: e.random, logger: logger, turn: make(chan struct{}, 1)}
}

// adminRun is what a command run for a client of the admin channel has
// besides its flags: the server's state, the files the client sent (the
// only files it may read), where the files it writes go (outfile.go), and
// what it reports back besides its output.
type adminRun struct {
	server *serverState
	files  map[string][]byte
	// dir is, over the admin socket, the client's working directory;
	// collect is set over HTTPS, whose files go back in the answer
	// (outFiles).
	dir      string
	collect  bool
	outFiles []adminFile
	// cursor is set by `logs`: the newest sign-in's sequence number.
	cursor uint64
	// command is the command route ran (or refused), for the server's log;
	// empty when the command line named none.
	command string
}

// serverOf returns the state of the server an onServer command runs in;
// route runs such a command nowhere else.
func serverOf(c *cli.Context) *serverState { return envOf(c).admin.server }

// run runs one forwarded command in-process, with its output captured, and
// then reloads what a command may have changed under the issuer (signing
// keys). The directory needs no reload: the issuer reads it live.
func (st *serverState) run(ctx context.Context, req adminRequest, channel string) adminResponse {
	select {
	case st.turn <- struct{}{}:
	case <-ctx.Done():
		return adminResponse{Stderr: "issuer: the server is busy with another admin command: " + ctx.Err().Error() + "\n", ExitCode: exitError}
	}
	defer func() { <-st.turn }()
	start := time.Now()
	var stdout, stderr bytes.Buffer
	ran := &adminRun{server: st, files: req.Files}
	if channel == "socket" {
		ran.dir = req.Dir
	} else {
		ran.collect = true
	}
	args := append([]string{"issuer"}, req.Args...)
	code := run(ctx, args, &stdout, &stderr, func(e *env) {
		e.now, e.newID, e.random = st.clock.Now, st.newID, st.random
		e.stdin, e.admin = strings.NewReader(""), ran
	})
	if err := st.iss.ReloadKeys(ctx); err != nil {
		st.logger.ErrorContext(ctx, "reloading signing keys after an admin command", "cause", err.Error())
	}
	st.logger.LogAttrs(ctx, slog.LevelInfo, "admin command",
		slog.String("command", ran.command),
		slog.String("channel", channel), slog.Int("exit_code", code), slog.Duration("duration", time.Since(start)))
	res := adminResponse{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code, Cursor: ran.cursor}
	if code == exitOK {
		res.Files = ran.outFiles
	}
	return res
}

// adminHandler serves POST adminPath for one channel. authorize is nil on
// the socket, whose file mode (0600) is the access control.
func adminHandler(st *serverState, channel string, authorize func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeAdminError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the admin endpoint accepts POST only")
			return
		}
		if authorize != nil {
			if err := authorize(r); err != nil {
				// The reason, never the token presented.
				st.logger.WarnContext(r.Context(), "admin request refused", "channel", channel, "remote", r.RemoteAddr, "reason", err.Error())
				w.Header().Set("WWW-Authenticate", `Bearer realm="issuer admin"`)
				writeAdminError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token (serve --admin-token-file) is required")
				return
			}
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeAdminError(w, http.StatusUnsupportedMediaType, "invalid_request", "the admin endpoint accepts application/json")
			return
		}
		req, err := decodeAdminRequest(http.MaxBytesReader(w, r.Body, maxAdminRequestBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeAdminError(w, http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("the request exceeds %d bytes", maxAdminRequestBytes))
			return
		case err != nil:
			writeAdminError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		// A command may outlast the server's write timeout (a large seed).
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(adminRunTimeout + 10*time.Second))
		ctx, cancel := context.WithTimeout(r.Context(), adminRunTimeout)
		defer cancel()
		writeAdminJSON(w, http.StatusOK, st.run(ctx, req, channel))
	})
}

// bearerAuth accepts requests whose Authorization header carries token.
// Both sides are hashed before the constant-time comparison, so that
// neither the token's content nor its length leaks through timing.
func bearerAuth(token string) func(*http.Request) error {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) error {
		h := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(h, " ")
		switch {
		case h == "":
			return errors.New("no Authorization header")
		case !ok || !strings.EqualFold(scheme, "Bearer"):
			return errors.New("the Authorization header is not a bearer token")
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return errors.New("wrong bearer token")
		}
		return nil
	}
}

func writeAdminError(w http.ResponseWriter, status int, code, description string) {
	writeAdminJSON(w, status, adminError{Error: code, Description: description})
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
