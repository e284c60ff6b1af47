package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// Graph's error codes (https://learn.microsoft.com/graph/errors): the
// directory's own for directory objects, the generic ones otherwise.
const (
	codeInvalidToken     = "InvalidAuthenticationToken"
	codeDenied           = "Authorization_RequestDenied"
	codeNotFound         = "Request_ResourceNotFound"
	codeBadRequest       = "Request_BadRequest"
	codeSegment          = "BadRequest" // an unknown path segment, a /me call without a user
	codeDuplicate        = "Request_MultipleObjectsWithSameKeyValue"
	codeMethodNotAllowed = "Request_BadRequest"
	codeUnknown          = "UnknownError"
	codeUnsupportedQuery = "Request_UnsupportedQuery"
)

// apiError is a refusal with its HTTP status and Graph code.
type apiError struct {
	status  int
	code    string
	message string
	err     error // the directory's error, for the log; never sent
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: fmt.Sprintf(format, args...)}
}

func notFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound,
		message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)}
}

// errDenied is Graph's answer to a token without the permission a call
// needs, and to a change of a Microsoft object.
var errDenied = &apiError{status: http.StatusForbidden, code: codeDenied, message: "Insufficient privileges to complete the operation."}

// fromDirectory turns a directory or consent error into Graph's answer to
// a call on object id: ErrNotFound 404, ErrInvalid 400 with the
// directory's reason, ErrExists 400 or 409 (dup says which, as Graph
// differs per collection), a first-party object 403. Anything else is the
// server's fault: 500, its text kept out of the body.
func fromDirectory(err error, id string, dup *apiError) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, tenant.ErrFirstParty):
		return &apiError{status: http.StatusForbidden, code: codeDenied, message: "Insufficient privileges to complete the operation.", err: err}
	case errors.Is(err, tenant.ErrNotFound):
		e := notFound(id)
		e.err = err
		return e
	case errors.Is(err, tenant.ErrExists):
		e := *dup
		e.err = err
		return &e
	case errors.Is(err, tenant.ErrInvalid), errors.Is(err, tenant.ErrNotMultiTenant):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: err.Error(), err: err}
	}
	return &apiError{status: http.StatusInternalServerError, code: codeUnknown, message: "An internal server error occurred.", err: err}
}

// errorBody is Graph's error document.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// writeError sends e in Graph's shape, with the request's ids as Graph
// echoes them (request-id, client-request-id).
func writeError(w http.ResponseWriter, rq *request, e *apiError, now time.Time) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.message
	b.Error.InnerError.Date = now.UTC().Format("2006-01-02T15:04:05")
	b.Error.InnerError.RequestID = rq.id
	b.Error.InnerError.ClientRequestID = rq.clientID
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+tenant.MicrosoftGraphAppID+`"`)
	}
	writeJSON(w, e.status, b)
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
