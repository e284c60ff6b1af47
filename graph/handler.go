package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// Prefix is where the Graph subset is served beside Entra's endpoints:
// {base}/graph/v1.0/…, the path an SDK gets when its base URL is set to
// {base}/graph/v1.0. RootPrefix is its path on a listener of its own, as
// graph.microsoft.com lays it out.
const (
	Prefix     = "/graph/v1.0/"
	RootPrefix = "/v1.0/"
)

// maxBodyBytes bounds a request body; directory objects are small.
const maxBodyBytes = 1 << 20

// Verifier checks the bearer tokens of Graph calls (*issuer.Server).
type Verifier interface {
	VerifyAccessToken(raw string) (issuer.AccessToken, error)
}

// Handler serves the Graph subset. Its fields are set once, before it
// serves.
type Handler struct {
	Directory *tenant.Directory
	Consent   *consent.Manager
	Tokens    Verifier
	// BaseURL is the server's public base URL; @odata.context and
	// @odata.nextLink are built on it, as Graph builds them on its own.
	BaseURL string
	// Prefix is the path the calls are served under (Prefix or
	// RootPrefix); empty means Prefix.
	Prefix string
	Now    func() time.Time
	// Log receives a line per change (info) and per refusal (debug);
	// tokens and secrets never appear in it.
	Log *slog.Logger
}

// request is one Graph call being served.
type request struct {
	id       string // request-id, new per call
	clientID string // client-request-id as sent, or the request id
	ctx      context.Context
	r        *http.Request
	caller   caller
	q        query
	segs     []string // the path after /graph/v1.0/
}

// caller is who a token represents.
type caller struct {
	tenant tenant.Tenant
	token  issuer.AccessToken
	user   *tenant.User // delegated tokens
}

// ServeHTTP authenticates the call and dispatches it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: tenant.NewGUID(), ctx: r.Context(), r: r}
	rq.clientID = r.Header.Get("client-request-id")
	if rq.clientID == "" || len(rq.clientID) > 64 {
		rq.clientID = rq.id
	}
	w.Header().Set("request-id", rq.id)
	w.Header().Set("client-request-id", rq.clientID)
	status, err := h.serve(w, rq)
	if err != nil {
		writeError(w, rq, err, h.Now())
		status = err.status
		lvl := slog.LevelDebug
		if err.status >= 500 {
			lvl = slog.LevelError
		}
		h.log(lvl, "graph call refused", rq, "status", err.status, "code", err.code, "err", err)
		return
	}
	if r.Method != http.MethodGet {
		h.log(slog.LevelInfo, "graph change", rq, "status", status)
	}
}

func (h *Handler) log(lvl slog.Level, msg string, rq *request, args ...any) {
	if h.Log == nil {
		return
	}
	args = append(args, "method", rq.r.Method, "path", rq.r.URL.Path, "request_id", rq.id)
	if rq.caller.tenant.ID != "" {
		args = append(args, "tenant", rq.caller.tenant.ID, "client", rq.caller.token.AppID)
	}
	h.Log.Log(rq.ctx, lvl, msg, args...)
}

// serve runs the call and returns the status it answered with.
func (h *Handler) serve(w http.ResponseWriter, rq *request) (int, *apiError) {
	rest, ok := strings.CutPrefix(rq.r.URL.Path, h.prefix())
	if !ok {
		return 0, &apiError{status: http.StatusBadRequest, code: codeSegment, message: "Invalid version: the path must begin with " + h.prefix() + "."}
	}
	rq.segs = strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if err := h.authenticate(rq); err != nil {
		return 0, err
	}
	q, err := parseQuery(rq.r.URL.RawQuery)
	if err != nil {
		return 0, err
	}
	eventual := strings.EqualFold(rq.r.Header.Get("ConsistencyLevel"), "eventual")
	if q.count && !eventual {
		// Graph's answer to $count on directory objects without the
		// advanced-query header.
		return 0, &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
			message: "The $count query option is only supported with the ConsistencyLevel header set to eventual."}
	}
	if len(q.search) > 0 && !eventual {
		return 0, errSearchNeedsEventual
	}
	rq.q = q
	rt, key, err := route(rq.segs)
	if err != nil {
		return 0, err
	}
	op, ok := rt[rq.r.Method]
	if !ok {
		return 0, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed, message: "Specified HTTP method is not allowed for the request uri."}
	}
	if key.count && (rq.r.Method != http.MethodGet || !eventual) {
		// The $count segment is an advanced query too.
		return 0, &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
			message: "The $count segment is only supported on collections, with the ConsistencyLevel header set to eventual."}
	}
	if err := rq.caller.allowed(op.need); err != nil {
		if !rq.caller.mayOwn(op.need) {
			return 0, err
		}
		o, aerr := h.owned(rq, key)
		if aerr != nil {
			return 0, aerr
		}
		if !o.ownedBy(rq.caller.objectID()) {
			return 0, err
		}
	}
	res, err := op.run(h, rq, key)
	if err != nil {
		return 0, err
	}
	if key.count {
		return countOf(w, res)
	}
	return h.respond(w, rq, res), nil
}

// authenticate checks the bearer token: ours, for Microsoft Graph, in a
// tenant that exists, and for a delegated token a user who does.
func (h *Handler) authenticate(rq *request) *apiError {
	unauth := func(msg string, err error) *apiError {
		return &apiError{status: http.StatusUnauthorized, code: codeInvalidToken, message: msg, err: err}
	}
	auth := rq.r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return unauth("Access token is empty.", nil)
	}
	tok, err := h.Tokens.VerifyAccessToken(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, issuer.ErrAccessTokenExpired):
		return unauth("Lifetime validation failed, the token is expired.", err)
	case err != nil:
		return unauth("Access token validation failure.", err)
	case !isGraphAudience(tok.Audience):
		return unauth("Access token validation failure. Invalid audience.", nil)
	}
	t, err := h.Directory.ResolveTenant(rq.ctx, tok.TenantID)
	if err != nil {
		return unauth("Access token validation failure. The tenant of the token does not exist.", err)
	}
	rq.caller = caller{tenant: t, token: tok}
	if !tok.AppOnly() {
		u, err := h.Directory.FindUser(rq.ctx, t.ID, tok.ObjectID)
		if err != nil || !u.AccountEnabled {
			return unauth("Access token validation failure. The user of the token does not exist or is disabled.", err)
		}
		rq.caller.user = &u
	}
	return nil
}

// isGraphAudience accepts the audiences Entra puts in Graph tokens: the
// identifier URI (with or without a trailing slash) or the appId.
func isGraphAudience(aud string) bool {
	return tenant.IdentifierKey(aud) == tenant.IdentifierKey(tenant.MicrosoftGraphURI) || tenant.IsFirstParty(aud)
}

// need is what a call requires: one of roles in an app-only token, or one
// of scopes in a delegated one, whose user must also hold a directory
// role of adminRoles when that list is set.
type need struct {
	roles, scopes []string
	adminRoles    []string
	// ownerRoles lets an owner of the object the path names make
	// the call in an app-only token holding one of these roles, and
	// ownerUsers a user who owns it with one of scopes and no
	// administrator role.
	ownerRoles []string
	ownerUsers bool
	// also is a second need the call must meet as well, where Graph
	// documents a permission pair ("User.Read.All and
	// GroupMember.Read.All").
	also *need
}

// has reports whether have holds one of want, case aside.
func has(have, want []string) bool {
	return slices.ContainsFunc(have, func(h string) bool {
		return slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(h, w) })
	})
}

// mayOwn reports whether the caller could make a call of n as an owner of
// its object (need.ownerRoles, need.ownerUsers), which the caller must
// then own.
func (c caller) mayOwn(n need) bool {
	if c.user == nil {
		return has(c.token.Roles, n.ownerRoles)
	}
	return n.ownerUsers && has(c.token.Scopes, n.scopes)
}

// objectID is the caller's object id: the user of a delegated token, the
// client's service principal of an app-only one.
func (c caller) objectID() string {
	if c.user != nil {
		return c.user.ID
	}
	return c.token.ObjectID
}

// allowed checks the caller against n. Graph answers a token without the
// permission with 403 Authorization_RequestDenied.
func (c caller) allowed(n need) *apiError {
	if c.user == nil {
		if !has(c.token.Roles, n.roles) {
			return errDenied
		}
		return c.allowedAlso(n)
	}
	if !has(c.token.Scopes, n.scopes) || len(n.adminRoles) > 0 && !has(c.user.DirectoryRoles, n.adminRoles) {
		return errDenied
	}
	return c.allowedAlso(n)
}

// allowedAlso checks n.also, the second permission a call needs.
func (c caller) allowedAlso(n need) *apiError {
	if n.also == nil {
		return nil
	}
	return c.allowed(*n.also)
}

// result is what an operation answers: a status, and an object, a
// collection, or nothing.
type result struct {
	status   int
	context  string // the @odata.context fragment after $metadata#
	object   any
	list     []any
	location string // an object's URL, for 201
	// whole: the list is an action's answer (getMemberGroups), sent
	// whole: Graph does not page it, and a nextLink to a POST could not
	// be followed.
	whole bool
}

// respond writes res, applying $select and paging.
func (h *Handler) respond(w http.ResponseWriter, rq *request, res result) int {
	if res.status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return res.status
	}
	ctxURL := h.serviceRoot(rq) + "$metadata#" + res.context
	if res.whole {
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctxURL, "value": res.list})
		return http.StatusOK
	}
	if res.list != nil || res.object == nil {
		end := min(rq.q.skip+rq.q.top, len(res.list))
		page := []any{}
		if rq.q.skip < len(res.list) {
			page = res.list[rq.q.skip:end]
		}
		body := map[string]any{"@odata.context": ctxURL, "value": page}
		if rq.q.count {
			body["@odata.count"] = len(res.list)
		}
		if end < len(res.list) {
			next := cloneValues(rq.q.rest)
			next.Set("$skiptoken", encodeSkip(end))
			body["@odata.nextLink"] = strings.TrimSuffix(h.serviceRoot(rq), h.prefix()) + rq.r.URL.Path + "?" + next.Encode()
		}
		writeJSON(w, http.StatusOK, body)
		return http.StatusOK
	}
	obj := res.object.(map[string]any)
	obj["@odata.context"] = ctxURL
	if res.location != "" {
		w.Header().Set("Location", h.serviceRoot(rq)+res.location)
	}
	writeJSON(w, cmpStatus(res.status), obj)
	return cmpStatus(res.status)
}

// countOf answers a /$count path: the size of the collection (after
// $filter and $search), as text, the way Graph answers it.
func countOf(w http.ResponseWriter, res result) (int, *apiError) {
	if res.list == nil || res.whole {
		return 0, &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
			message: "The $count segment is only supported on collections, with the ConsistencyLevel header set to eventual."}
	}
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, strconv.Itoa(len(res.list)))
	return http.StatusOK, nil
}

func (h *Handler) prefix() string {
	if h.Prefix == "" {
		return Prefix
	}
	return h.Prefix
}

// serviceRoot is the URL the call's links are built on, ending in "/":
// {base}/graph/v1.0/ beside Entra's endpoints; on a listener of its own,
// the scheme and host the call came to.
func (h *Handler) serviceRoot(rq *request) string {
	if h.prefix() == Prefix {
		return h.BaseURL + Prefix
	}
	scheme := "https"
	if rq.r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + rq.r.Host + h.prefix()
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// readBody decodes a JSON object body into v, refusing properties v does
// not declare (Graph: "Property 'x' does not exist on type …"), trailing
// data, and bodies beyond maxBodyBytes.
func readBody(rq *request, v any, typeName string) *apiError {
	var src io.Reader = rq.r.Body
	// The Graph SDKs compress request bodies (Kiota's compression
	// handler); Graph accepts gzip.
	if strings.EqualFold(rq.r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(rq.r.Body)
		if err != nil {
			return badRequest("The request body is not valid gzip.")
		}
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, maxBodyBytes+1))
	if err != nil {
		return badRequest("The request body could not be read.")
	}
	if len(body) > maxBodyBytes {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBadRequest, message: "The request body is too large."}
	}
	return decodeStrict(body, v, typeName)
}

// decodeStrict is readBody's decoding, for fuzzing on its own.
func decodeStrict(body []byte, v any, typeName string) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return badRequest("Property %s does not exist on type 'microsoft.graph.%s'.", name, typeName)
		}
		return badRequest("Invalid request body: %s.", err)
	}
	if dec.More() {
		return badRequest("Invalid request body: data after the JSON object.")
	}
	return nil
}

// toMap is the Graph JSON of v as a map, for $select, $filter and the
// @odata members.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // directory types always marshal
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// collect turns objects into the listed, filtered and projected maps.
func collect[T any](rq *request, objs []T, typeName string, shape func(T) map[string]any) ([]any, *apiError) {
	if err := checkSearchable(rq.q.search, typeName); err != nil {
		return nil, err
	}
	var kept []map[string]any
	for _, o := range objs {
		m := shape(o)
		ok, err := matches(m, rq.q.filter, typeName)
		if err != nil {
			return nil, err
		}
		found, err := searchMatches(m, rq.q.search, typeName)
		if err != nil {
			return nil, err
		}
		if ok && found {
			kept = append(kept, m)
		}
	}
	// Sorted before the projection: $select may leave out the property.
	if err := sortObjects(kept, rq.q, typeName); err != nil {
		return nil, err
	}
	out := []any{}
	for _, m := range kept {
		p, err := project(m, rq.q.selct, typeName)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// one projects a single object.
func one(rq *request, m map[string]any, typeName string) (map[string]any, *apiError) {
	return project(m, rq.q.selct, typeName)
}

func encodeSkip(n int) string { return base64RawURL(strconv.Itoa(n)) }

// New returns the Graph subset over s: its directory, consent manager,
// tokens, base URL and clock. Serve it with Mount.
func New(s *issuer.Server, log *slog.Logger) *Handler {
	return &Handler{Directory: s.Directory(), Consent: s.Consent(), Tokens: s, BaseURL: s.BaseURL(), Now: s.Clock().Now, Log: log}
}

// Mount serves the Graph subset and the cloud metadata beside s's Entra
// endpoints, and has every flow (token, authorize, device code) read the
// server's Graph endpoint as Microsoft Graph, so that tokens asked for it
// (go-azure-sdk's way) are Graph's. It returns the handler.
func Mount(ctx context.Context, s *issuer.Server, log *slog.Logger) (*Handler, error) {
	h := New(s, log)
	if err := s.Directory().EnsureMicrosoftGraph(ctx, nil); err != nil {
		return nil, err
	}
	s.AliasResource(GraphEndpoint(h.BaseURL), tenant.MicrosoftGraphURI)
	s.Mount(Prefix, h)
	s.Mount("GET "+MetadataPath, h.Metadata())
	return h, nil
}
