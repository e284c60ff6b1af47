package issuer

import (
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unique"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// DefaultSignInLogSize is how many token requests the sign-in log keeps.
const DefaultSignInLogSize = 10000

// Results of a sign-in.
const (
	SignInSuccess = "success"
	SignInFailure = "failure"
)

// SignIn is the outcome of one token request, as Entra's sign-in logs show
// it to an administrator: who asked for what, and for a refusal the AADSTS
// code, the OAuth error and why. It never holds a secret, an assertion, a
// password or a token: only names and ids the request or the directory
// resolved, and the error message the client was sent (which quotes no
// credential).
type SignIn struct {
	// Seq numbers the entries of one server from 1; ReadSignIns returns it
	// as a cursor.
	Seq uint64 `json:"seq"`
	// Replica names the server that answered, in the shared log of
	// replicas on etcd; empty in one server's own log.
	Replica       string    `json:"replica,omitempty"`
	Time          time.Time `json:"time"`
	TraceID       string    `json:"traceId"`
	CorrelationID string    `json:"correlationId,omitempty"`
	// Tenant is the {tenant} path segment as sent; TenantID the tenant it
	// resolved to, when it did.
	Tenant   string `json:"tenant"`
	TenantID string `json:"tenantId,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	// Resource is the resource the grant resolved, or as requested (resource
	// parameter or scope) when it got no further.
	Resource string `json:"resource,omitempty"`
	// User is the user's UPN or object id, for delegated flows.
	User string `json:"user,omitempty"`
	// Flow is the grant_type.
	Flow   string `json:"flow,omitempty"`
	Result string `json:"result"` // SignInSuccess or SignInFailure
	Status int    `json:"status"` // HTTP status
	// ErrorCode is the AADSTS code and Error the OAuth error of a failure.
	ErrorCode int    `json:"errorCode,omitempty"`
	Error     string `json:"error,omitempty"`
	// Reason names the rule that refused the request: the policy rule
	// (consent.Reason) when the policy engine decided, else the name of the
	// AADSTS code's rule (Error.Reason). Detail is the directory facts
	// behind a policy refusal (consent.Denial.Detail), or else the error
	// message sent to the client.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Failed reports whether the request was refused.
func (e SignIn) Failed() bool { return e.Result == SignInFailure }

// SignInFilter selects sign-ins. Zero fields select everything.
type SignInFilter struct {
	// Tenant matches the tenant segment as sent or the resolved tenant id,
	// case-insensitively.
	Tenant string
	// ClientID matches the client id, case-insensitively.
	ClientID string
	// Failed keeps failures only.
	Failed bool
	// After keeps entries with Seq > After: a cursor from ReadSignIns.
	After uint64
	// Last keeps only the last n matching entries (0: all).
	Last int
}

// Matches reports whether f selects e.
func (f SignInFilter) Matches(e SignIn) bool { return f.match(e) }

func (f SignInFilter) match(e SignIn) bool {
	return e.Seq > f.After &&
		(!f.Failed || e.Failed()) &&
		(f.ClientID == "" || strings.EqualFold(e.ClientID, f.ClientID)) &&
		(f.Tenant == "" || strings.EqualFold(e.Tenant, f.Tenant) || strings.EqualFold(e.TenantID, f.Tenant))
}

// signInLog is a bounded ring of sign-ins in memory. Recording takes a mutex
// and copies one small struct: the token path writes nothing to the
// database. The ring grows as entries come rather than being allocated
// whole, because a server of a short test records a few and the default
// ring is megabytes.
type signInLog struct {
	mu      sync.Mutex
	entries []signInEntry // ring; len == size once full
	size    int
	next    int    // where the next entry goes once full
	seq     uint64 // Seq of the newest entry
}

// signInEntry is a SignIn as the ring keeps it, in 72 bytes. What repeats
// from request to request (tenant, client, resource, user, flow, outcome)
// is one interned value that all entries of the same kind share. The trace
// id, a GUID this server made, is kept as its 16 bytes; a trace id of
// another form (a test's Config.NewID), or one that comes with the
// client's correlation id, is copied into ids with it. Strings of a
// request are often slices of its body or request line, and an entry
// holding one kept the whole of it alive for as long as the ring
// remembered the entry: a full ring of 10,000 entries took about 5 MiB of
// the heap that way, and takes 0.7 now.
type signInEntry struct {
	seq               uint64
	time              time.Time
	trace             [16]byte   // the trace id when ids is nil
	ids               *signInIDs // the ids, when they are not just a GUID trace id
	kind              unique.Handle[signInKind]
	status, errorCode int32
}

// signInIDs are an entry's ids when they are not just a GUID trace id.
type signInIDs struct{ trace, correlation string }

// signInKind is the part of a SignIn that many requests share.
type signInKind struct {
	replica, tenant, tenantID, clientID, resource, user, flow string
	result, err, reason, detail                               string
}

func newSignInLog(size int) *signInLog {
	return &signInLog{size: size}
}

func (l *signInLog) add(e SignIn) {
	r := signInEntry{
		time: e.Time,
		kind: unique.Make(signInKind{
			replica: e.Replica, tenant: e.Tenant, tenantID: e.TenantID, clientID: e.ClientID, resource: e.Resource,
			user: e.User, flow: e.Flow, result: e.Result, err: e.Error, reason: e.Reason, detail: e.Detail,
		}),
		status: int32(e.Status), errorCode: int32(e.ErrorCode),
	}
	if g, ok := tenant.GUIDBytes(e.TraceID); ok && e.CorrelationID == "" {
		r.trace = g
	} else {
		r.ids = &signInIDs{trace: strings.Clone(e.TraceID), correlation: strings.Clone(e.CorrelationID)}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	r.seq = l.seq
	if len(l.entries) < l.size {
		if len(l.entries) == cap(l.entries) {
			// Double, but never past the ring's size: append's own
			// growth would leave a full ring of 10,000 with room for
			// 16,384 entries.
			grown := make([]signInEntry, len(l.entries), len(l.entries)+min(max(len(l.entries), 64), l.size-len(l.entries)))
			copy(grown, l.entries)
			l.entries = grown
		}
		l.entries = append(l.entries, r)
		return
	}
	if l.size == 0 {
		return
	}
	l.entries[l.next] = r
	l.next = (l.next + 1) % len(l.entries)
}

// signIn is the SignIn r records.
func (r *signInEntry) signIn() SignIn {
	k := r.kind.Value()
	ids := signInIDs{trace: tenant.FormatGUID(r.trace)}
	if r.ids != nil {
		ids = *r.ids
	}
	return SignIn{
		Seq: r.seq, Replica: k.replica, Time: r.time, TraceID: ids.trace, CorrelationID: ids.correlation,
		Tenant: k.tenant, TenantID: k.tenantID, ClientID: k.clientID, Resource: k.resource, User: k.user, Flow: k.flow,
		Result: k.result, Status: int(r.status), ErrorCode: int(r.errorCode), Error: k.err, Reason: k.reason, Detail: k.detail,
	}
}

// read returns the matching entries, oldest first, and the Seq of the newest
// entry recorded: a cursor that skips what was read and what did not match.
func (l *signInLog) read(f SignInFilter) ([]SignIn, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []SignIn{}
	// Entries are in Seq order, one apart: those at or before f.After (a
	// follower's or the cluster shipper's cursor, read every second) are
	// skipped without being rebuilt, under the lock every token takes.
	first := 0
	if oldest := l.seq - uint64(len(l.entries)); f.After > oldest {
		first = int(min(f.After-oldest, uint64(len(l.entries))))
	}
	for i := first; i < len(l.entries); i++ {
		e := l.entries[(l.next+i)%len(l.entries)].signIn()
		if f.match(e) {
			out = append(out, e)
		}
	}
	if f.Last > 0 && len(out) > f.Last {
		out = out[len(out)-f.Last:]
	}
	return out, l.seq
}

// SignIns returns the recorded token requests f selects, oldest first.
func (s *Server) SignIns(f SignInFilter) []SignIn {
	out, _ := s.signIns.read(f)
	return out
}

// ReadSignIns is SignIns with a cursor: pass it as f.After to read only what
// was recorded since (`issuer logs --follow`).
func (s *Server) ReadSignIns(f SignInFilter) ([]SignIn, uint64) {
	return s.signIns.read(f)
}

// recordSignIn records the outcome of the token request c; err is what the
// client was sent (nil for a token). A policy refusal contributes its Reason
// and Detail; any other refusal its message, never its internal cause,
// which may quote store internals (the trace id leads to it in the log).
func (s *Server) recordSignIn(c *call, err error) {
	e := SignIn{
		Time: c.now, TraceID: c.traceID, CorrelationID: c.correlation,
		Tenant: clip(c.tenant, maxSignInField), TenantID: c.tenantID, ClientID: clip(c.client, maxSignInField),
		Resource: clip(c.resource, maxSignInField), User: clip(c.user, maxSignInField), Flow: clip(c.flow, maxSignInField),
		Result: SignInSuccess, Status: 200,
	}
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			ae = serverError(err)
		}
		e.Result, e.Status, e.ErrorCode, e.Error = SignInFailure, ae.Status(), ae.Code, ae.OAuthError()
		e.Reason, e.Detail = ae.Reason(), ae.Message
		var d *consent.Denial
		if errors.As(err, &d) {
			e.Reason, e.Detail = string(d.Reason), d.Detail
			if e.TenantID == "" {
				e.TenantID = d.TenantID
			}
			if e.User == "" {
				e.User = d.UserPrincipal
			}
		}
		e.Detail, e.User = clip(e.Detail, maxSignInDetail), clip(e.User, maxSignInField)
	}
	s.signIns.add(e)
}

// Bounds of what one sign-in keeps of the request. The fields quote what
// the client sent (the tenant segment, client_id, the scope parameter, an
// error message naming them), which may be up to a megabyte each: kept
// whole, 10,000 entries of a client sending such requests would hold
// gigabytes. Real values are GUIDs, domains and URIs well within these.
const (
	maxSignInField  = 512
	maxSignInDetail = 2048
)

// clip returns s cut to at most n bytes at a rune boundary, with "…"
// marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
