// Package managedidentity serves the local endpoints from which code running
// on an Azure resource gets its managed identity's tokens, so that
// DefaultAzureCredential and ManagedIdentityCredential work unmodified
// against this issuer. Azure serves them over plain HTTP on the resource
// itself; `issuer serve --managed-identity-addr` serves them on a loopback
// listener.
//
// Each endpoint's path names the tenant and the identity it serves when a
// request selects none (a resource's system-assigned identity, or the
// identity `issuer identity env` chose):
//
//	GET  /{tenant}/{identity}/msi/token                          App Service and Functions, api-version 2019-08-01
//	GET  /{tenant}/{identity}/metadata/identity/oauth2/token     IMDS, api-version 2018-02-01
//	POST /{tenant}/{identity}/cloudshell/token                   Cloud Shell (MSI_ENDPOINT)
//	GET  /{tenant}/{identity}/azureml/token                      Azure Machine Learning (MSI_ENDPOINT, MSI_SECRET), api-version 2017-09-01
//
// App Service's IDENTITY_ENDPOINT and the MSI_ENDPOINT of Cloud Shell and
// Azure Machine Learning are these URLs whole; IMDS clients that let the
// host be moved (AZURE_POD_IDENTITY_AUTHORITY_HOST) append the IMDS path to
// http://host:port/{tenant}/{identity}.
package managedidentity

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// Issuer issues managed identities' tokens (issuer.Server).
type Issuer interface {
	IssueManagedIdentityToken(ctx context.Context, r issuer.ManagedIdentityRequest) (issuer.ManagedIdentityToken, error)
}

// maxFormBytes bounds Cloud Shell's form body, which holds one resource.
const maxFormBytes = 64 << 10

// Handler serves the endpoints. Secret is the App Service header secret
// (IDENTITY_HEADER) and Azure Machine Learning's (MSI_SECRET), compared in
// constant time; it is never logged.
type Handler struct {
	Issuer Issuer
	Secret string
	Logger *slog.Logger // nil: none
	NewID  func() string
}

// ServeHTTP routes a request to its endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenantID, identity, rest, ok := splitPath(r.URL.EscapedPath())
	e, found := endpoints[rest]
	if !ok || !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "No managed identity endpoint at " + r.URL.Path})
		return
	}
	if r.Method != e.method {
		w.Header().Set("Allow", e.method)
		e.refuse(w, h.newID(), http.StatusMethodNotAllowed, "invalid_request", "The endpoint accepts "+e.method+" only.")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err == nil && e.method == http.MethodPost {
		q, err = readForm(w, r)
	}
	if err != nil {
		e.refuse(w, h.newID(), http.StatusBadRequest, "invalid_request", "The parameters are malformed.")
		return
	}
	req, status, msg := e.parse(h.Secret, r.Header, q)
	if status != 0 {
		e.refuse(w, h.newID(), status, "invalid_request", msg)
		return
	}
	req.TenantID, req.Default = tenantID, identity
	tok, err := h.Issuer.IssueManagedIdentityToken(r.Context(), req)
	if err != nil {
		h.refuseIssue(w, r, e, err)
		return
	}
	e.answer(w, tok)
}

// splitPath splits /{tenant}/{identity}/{rest}; the tenant and identity are
// path segments without escapes (GUIDs, domains).
func splitPath(p string) (tenantID, identity, rest string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || strings.Contains(parts[0]+parts[1], "%") {
		return "", "", "", false
	}
	return parts[0], parts[1], strings.TrimSuffix(parts[2], "/"), true
}

func (h *Handler) newID() string {
	if h.NewID != nil {
		return h.NewID()
	}
	return tenant.NewGUID()
}

// endpoint is one endpoint protocol: how a request reaches it, what it
// must carry and what its answers look like.
type endpoint struct {
	method string
	// secretHeader names the header that must hold the handler's secret
	// (401 otherwise), checked first; "" for none.
	secretHeader string
	// metadata: the request must carry "Metadata: true", IMDS's guard
	// against server-side request forgery, refused with IMDS's exact
	// message (DefaultAzureCredential's probe is such a request).
	metadata   bool
	apiVersion string // the api-version required; "" for none
	// The parameters that select a user-assigned identity; "" for none.
	// objectID lists the object id's names, the documented one last.
	clientID   string
	objectID   []string
	resourceID string
	// oauthErrors: refusals are OAuth's {error, error_description} (IMDS,
	// Cloud Shell), else App Service's {statusCode, message,
	// correlationId}. imdsAnswer: tokens are answered with IMDS's members,
	// else App Service's.
	oauthErrors, imdsAnswer bool
}

// endpoints are the protocols by path, after /{tenant}/{identity}/.
var endpoints = map[string]endpoint{
	// App Service and Functions, 2019-08-01: principal_id is the
	// documented name of the object id; MSAL sends object_id.
	"msi/token": {method: http.MethodGet, secretHeader: "X-IDENTITY-HEADER", apiVersion: "2019-08-01",
		clientID: "client_id", objectID: []string{"object_id", "principal_id"}, resourceID: "mi_res_id"},
	"metadata/identity/oauth2/token": {method: http.MethodGet, metadata: true, apiVersion: "2018-02-01",
		clientID: "client_id", objectID: []string{"object_id"}, resourceID: "msi_res_id", oauthErrors: true, imdsAnswer: true},
	// Cloud Shell takes a form with the resource and serves only the
	// shell's own identity. (Azure's Cloud Shell hands out the signed-in
	// user's token; here the endpoint's identity stands in for that user.)
	"cloudshell/token": {method: http.MethodPost, metadata: true, oauthErrors: true, imdsAnswer: true},
	// Azure Machine Learning, 2017-09-01: the secret is MSI_SECRET, and
	// clientid (sic) selects a user-assigned identity.
	"azureml/token": {method: http.MethodGet, secretHeader: "secret", apiVersion: "2017-09-01", clientID: "clientid"},
}

// readForm reads a form body (Cloud Shell's resource=…).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return nil, errors.New("not a form")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(b))
}

// parse checks a request's headers and parameters as the endpoint does;
// a non-zero status is a refusal.
func (e endpoint) parse(secret string, hdr http.Header, q url.Values) (req issuer.ManagedIdentityRequest, status int, msg string) {
	for name, v := range q {
		if len(v) > 1 {
			return req, http.StatusBadRequest, "The parameter " + name + " is given more than once."
		}
	}
	if e.secretHeader != "" {
		got := hdr.Get(e.secretHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			return req, http.StatusUnauthorized, "The " + e.secretHeader + " header is missing or is not this endpoint's secret."
		}
	}
	if e.metadata && !strings.EqualFold(hdr.Get("Metadata"), "true") {
		return req, http.StatusBadRequest, "Required metadata header not specified"
	}
	if e.apiVersion != "" && q.Get("api-version") != e.apiVersion {
		return req, http.StatusBadRequest, "The api-version must be " + e.apiVersion + "."
	}
	req.Resource = q.Get("resource")
	if e.clientID != "" {
		req.ClientID = q.Get(e.clientID)
	}
	for _, name := range e.objectID {
		if v := q.Get(name); v != "" {
			req.ObjectID = v
		}
	}
	if e.resourceID != "" {
		req.ResourceID = q.Get(e.resourceID)
	}
	req.CorrelationID = hdr.Get("x-ms-client-request-id")
	if strings.TrimSpace(req.Resource) == "" {
		return req, http.StatusBadRequest, "Required query variable 'resource' is missing"
	}
	return req, 0, ""
}

// refuseIssue answers an error of the issuer: an unknown identity as the
// endpoint says it, Entra's refusals (AADSTS) relayed with their status, a
// server error as 500 with the cause in the log only.
func (h *Handler) refuseIssue(w http.ResponseWriter, r *http.Request, e endpoint, err error) {
	id := h.newID()
	var ae *issuer.Error
	switch {
	case errors.Is(err, issuer.ErrUnknownManagedIdentity):
		e.refuse(w, id, http.StatusBadRequest, "invalid_request", "Identity not found")
	case errors.Is(err, tenant.ErrInvalid):
		e.refuse(w, id, http.StatusBadRequest, "invalid_request", "Give at most one of client_id, object_id and the resource id.")
	case errors.As(err, &ae) && ae.Status() < 500:
		e.refuse(w, id, ae.Status(), ae.OAuthError(), ae.Error())
	default:
		if h.Logger != nil {
			h.Logger.ErrorContext(r.Context(), "managed identity token failed", "trace_id", id, "cause", err.Error())
		}
		e.refuse(w, id, http.StatusInternalServerError, "server_error", "The identity endpoint failed; trace id "+id+".")
	}
}

// refuse writes the endpoint's error body. IMDS and Cloud Shell answer
// OAuth's {error, error_description}; App Service and Azure Machine
// Learning answer {statusCode, message, correlationId}, the shape App
// Service's identity endpoint sends (not documented by Microsoft; the SDKs
// read only the status).
func (e endpoint) refuse(w http.ResponseWriter, id string, status int, code, msg string) {
	if e.oauthErrors {
		writeJSON(w, status, map[string]string{"error": code, "error_description": msg})
		return
	}
	writeJSON(w, status, appServiceError{StatusCode: status, Message: msg, CorrelationID: id})
}

type appServiceError struct {
	StatusCode    int    `json:"statusCode"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
}

// appServiceToken is App Service's answer (2019-08-01): expires_on is a
// string of Unix seconds.
type appServiceToken struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

// imdsToken is IMDS's answer (2018-02-01): every number a string, and an
// empty refresh_token.
type imdsToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	ClientID     string `json:"client_id"`
}

func (e endpoint) answer(w http.ResponseWriter, t issuer.ManagedIdentityToken) {
	s := func(n int64) string { return strconv.FormatInt(n, 10) }
	if e.imdsAnswer {
		writeJSON(w, http.StatusOK, imdsToken{AccessToken: t.AccessToken, ExpiresIn: s(t.ExpiresIn), ExpiresOn: s(t.ExpiresOn),
			NotBefore: s(t.NotBefore), Resource: t.Resource, TokenType: "Bearer", ClientID: t.ClientID})
		return
	}
	writeJSON(w, http.StatusOK, appServiceToken{AccessToken: t.AccessToken, ExpiresOn: s(t.ExpiresOn),
		Resource: t.Resource, TokenType: "Bearer", ClientID: t.ClientID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
