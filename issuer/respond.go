package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

const (
	contentTypeJSON = "application/json; charset=utf-8"
	// timestampLayout is Entra's error timestamp: "2023-08-03 00:46:24Z".
	timestampLayout = "2006-01-02 15:04:05Z"
)

// surface says which family of endpoint answers: Entra's token endpoint and
// its metadata endpoints (discovery, JWKS, instance discovery) differ in the
// `error` value of AADSTS90002 and in caching headers.
type surface int

const (
	tokenSurface surface = iota
	metadataSurface
)

// call is one request's identity: the trace ID Entra returns as
// x-ms-request-id and trace_id, the correlation ID, and the request time
// every timestamp of the response uses. It also carries the names the log
// line quotes (never secrets or tokens).
type call struct {
	traceID     string
	correlation string // adopted from the client, or generated when needed
	echo        bool   // the client supplied correlation, so it is echoed
	now         time.Time
	newID       func() string
	// ctx is the request's context, kept for the log line.
	ctx context.Context

	tenant, client string

	// What the grant resolved, for the sign-in log: the tenant id, the
	// resource (as resolved, or as requested until then), the user (UPN or
	// object id) of delegated flows, and the grant type. Grants fill them in
	// as they learn them.
	tenantID, resource, user, flow string

	// judged is the consent request and facts the grant resolved, once it
	// has.
	judged *judgement

	// headers hands out the value slices of the answer's headers.
	headers headerSlab
}

// headerSlab hands out the one-element value slices of an answer's headers
// from one allocation: an answer sets a dozen headers, and http.Header.Set
// allocates a slice for each, and a canonical copy of each name that is
// not written canonically. Each slice is capped at one element, so that
// appending to one header's values cannot overwrite another's.
type headerSlab struct{ free []string }

// set sets the header key, which must be in canonical form
// (textproto.CanonicalMIMEHeaderKey), to value, as h.Set(key, value) does.
func (s *headerSlab) set(h http.Header, key, value string) {
	if len(s.free) == 0 {
		s.free = make([]string, 12) // the headers of a token answer
	}
	s.free[0] = value
	h[key] = s.free[0:1:1]
	s.free = s.free[1:]
}

// begin starts a call. The correlation ID is the client's
// client-request-id / x-ms-client-request-id header or client-request-id
// query parameter when it is a GUID (protocol.md §1.6); a form parameter is
// adopted later by the token endpoint.
func (s *Server) begin(r *http.Request) *call {
	c := &call{traceID: s.cfg.NewID(), now: s.cfg.Now().UTC(), newID: s.cfg.NewID, ctx: r.Context()}
	// Canonical names: Get allocates a canonical copy of any other.
	c.adopt(r.Header.Get("Client-Request-Id"))
	c.adopt(r.Header.Get("X-Ms-Client-Request-Id"))
	if r.URL.RawQuery != "" {
		c.adopt(r.URL.Query().Get("client-request-id"))
	}
	return c
}

// adopt takes v as the correlation ID if none was taken yet and v is a GUID.
func (c *call) adopt(v string) {
	if !c.echo && tenant.IsGUID(v) {
		c.correlation, c.echo = v, true
	}
}

// correlationID returns the adopted ID or generates one.
func (c *call) correlationID() string {
	if c.correlation == "" {
		c.correlation = c.newID()
	}
	return c.correlation
}

// estsServer is x-ms-ests-server. Entra names the build and the serving
// region there ("2.1.17846.6 - SCUS ProdSlices"); clients only log it, so
// we name the program and say it is not a Microsoft region.
const estsServer = "issuer - local"

// setCommonHeaders sets the headers every answer carries. Entra sends
// Strict-Transport-Security, X-Content-Type-Options: nosniff and
// x-ms-ests-server on its token, discovery and instance-discovery
// responses, refusals included (captured response headers, e.g.
// msgraph-sdk-powershell#2439); HSTS's max-age is Entra's one year.
func (c *call) setCommonHeaders(h http.Header) {
	c.headers.set(h, "Content-Type", contentTypeJSON)
	c.headers.set(h, "Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	c.headers.set(h, "X-Content-Type-Options", "nosniff")
	c.headers.set(h, "X-Ms-Ests-Server", estsServer)
	c.headers.set(h, "X-Ms-Request-Id", c.traceID)
	if c.echo {
		c.headers.set(h, "Client-Request-Id", c.correlation)
	}
}

// setNoStore sets the token endpoint's caching headers (protocol.md §1.6).
func (c *call) setNoStore(h http.Header) {
	c.headers.set(h, "Cache-Control", "no-store, no-cache")
	c.headers.set(h, "Pragma", "no-cache")
	c.headers.set(h, "Expires", "-1")
}

// errorBody is Entra's error document, members in Entra's order
// (protocol.md §5.1).
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	SubError         string `json:"suberror,omitempty"`
}

// writeError writes err in Entra's shape. Anything that is not an *Error
// becomes AADSTS50000 server_error; internal causes are logged with the
// trace ID and never sent.
func (s *Server) writeError(w http.ResponseWriter, c *call, sf surface, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = serverError(err)
	}
	oauth := e.OAuthError()
	if sf == metadataSurface {
		oauth = e.metadataError()
	}
	stamp := c.now.Format(timestampLayout)
	body := errorBody{
		Error: oauth,
		ErrorDescription: fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.Error(), c.traceID, c.correlationID(), stamp),
		ErrorCodes:    []int{e.Code},
		Timestamp:     stamp,
		TraceID:       c.traceID,
		CorrelationID: c.correlationID(),
		ErrorURI:      errorURIBase + strconv.Itoa(e.Code),
		SubError:      e.SubError,
	}
	h := w.Header()
	c.setCommonHeaders(h)
	if sf == metadataSurface {
		// Entra's discovery refusals are cacheable privately (protocol.md §1.2).
		h.Set("Cache-Control", "private")
	} else {
		c.setNoStore(h)
		c.headers.set(h, "X-Ms-Clitelem", clitelem(e.Code))
	}
	s.log(c, e)
	writeBody(w, e.Status(), body)
}

// log records the outcome of a refused call: trace and correlation IDs, the
// tenant and client as presented, the code, and the internal cause.
func (s *Server) log(c *call, e *Error) {
	attrs := []slog.Attr{
		slog.String("trace_id", c.traceID),
		slog.String("correlation_id", c.correlationID()),
		slog.String("tenant", clip(c.tenant, maxSignInField)),
		slog.String("client_id", clip(c.client, maxSignInField)),
		slog.Int("code", e.Code),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("cause", clip(e.Err.Error(), maxSignInDetail)))
	}
	level := slog.LevelInfo
	if e.Status() >= 500 {
		level = slog.LevelError
	}
	s.cfg.Logger.LogAttrs(c.ctx, level, "request refused", attrs...)
}

// clitelem is x-ms-clitelem: "1,{AADSTS code or 0},0,,".
func clitelem(code int) string { return "1," + strconv.Itoa(code) + ",0,," }

// clitelemOK is clitelem(0), of every token answer.
var clitelemOK = clitelem(0)

// writeMetadata writes a discovery, JWKS or instance-discovery document with
// Entra's metadata headers (protocol.md §1.3).
func (s *Server) writeMetadata(w http.ResponseWriter, c *call, v any) {
	h := w.Header()
	c.setCommonHeaders(h)
	h.Set("Cache-Control", "max-age=86400, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	writeBody(w, http.StatusOK, v)
}

// writeToken writes a token response with the token endpoint's headers.
func (s *Server) writeToken(w http.ResponseWriter, c *call, v any) {
	c.setTokenHeaders(w.Header())
	writeBody(w, http.StatusOK, v)
}

// writeIssued writes the answer of endpoint that carries t: the JSON
// t.response(endpoint) encodes to, built without reflection when its
// strings need no escaping (issued.appendJSON), which is the case of every
// app-only answer.
func (s *Server) writeIssued(w http.ResponseWriter, c *call, t issued, endpoint int) {
	buf := answerBuffers.Get().(*[]byte)
	defer answerBuffers.Put(buf)
	body, ok := t.appendJSON(slices.Grow((*buf)[:0], t.jsonSize()), endpoint)
	*buf = body
	if !ok {
		s.writeToken(w, c, t.response(endpoint))
		return
	}
	h := w.Header()
	c.setTokenHeaders(h)
	c.headers.set(h, "Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body) // copies: the buffer is free when Write returns
}

// answerBuffers holds the buffers token answers are built in; an answer
// is about 1.5 KB, one of the larger allocations of a token.
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// setTokenHeaders sets the headers of a token endpoint's success.
func (c *call) setTokenHeaders(h http.Header) {
	c.setCommonHeaders(h)
	c.setNoStore(h)
	c.headers.set(h, "X-Ms-Clitelem", clitelemOK)
}

// notFoundBody answers paths Entra does not serve. It has no AADSTS code:
// Entra's own answer there is not an AADSTS error.
type notFoundBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// writeNotFound writes a JSON 404 (or 405) for an unrouted request.
func (s *Server) writeNotFound(w http.ResponseWriter, r *http.Request, status int) {
	c := s.begin(r)
	c.setCommonHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store, no-cache")
	desc := "The requested path is not an endpoint of this issuer."
	errValue := "not_found"
	if status == http.StatusMethodNotAllowed {
		desc = fmt.Sprintf("The endpoint does not accept %s requests.", r.Method)
		errValue = "method_not_allowed"
	}
	writeBody(w, status, notFoundBody{
		Error: errValue, ErrorDescription: desc,
		Timestamp: c.now.Format(timestampLayout), TraceID: c.traceID, CorrelationID: c.correlationID(),
	})
}

// marshalJSON encodes v without HTML escaping (Entra's JSON carries & and <
// as is) and without a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeBody writes v as JSON with status. Our documents always encode; a
// failure would be a bug, answered with a bare 500.
func writeBody(w http.ResponseWriter, status int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
