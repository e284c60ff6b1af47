package issuer

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
	"sync"
)

// The pages of the interactive flows are server-rendered from one
// html/template file: no script but the form_post auto-submit, no external
// asset (the style sheet is inline, under a per-response CSP nonce), and
// every control a labelled form element, so a keyboard (and a screen
// reader) can drive them. They look like this issuer's, not like
// Microsoft's.
//
//go:embed web/pages.html
var pagesHTML string

// pageNames are the pages; each has a "NAME-content" template.
var pageNames = []string{"signin", "picker", "consent", "approval", "error", "device", "message", "formpost"}

// pageTemplates parses the pages on first use: at start it cost every
// process (a CLI command, a server that never shows a page) 0.4 MB of
// allocations and about 2 ms. The layout is parsed once; each page is a
// clone that binds "content" to its own template.
var pageTemplates = sync.OnceValue(func() map[string]*template.Template {
	layout := template.Must(template.New("page").Parse(pagesHTML))
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(layout.Clone())
		template.Must(t.New("content").Parse(`{{template "` + name + `-content" .}}`))
		out[name] = t
	}
	return out
})

// pageData is what the templates read. Fields a page does not use stay
// empty.
type pageData struct {
	Title, Nonce string
	// Action is where the page's form posts: ours (same origin), or the
	// validated redirect URI of a form_post response.
	Action               template.URL
	Flow, CSRF           string
	ClientName           string
	TenantName, UserName string
	Publisher            string
	Message              string
	LoginHint            string
	Accounts             []accountChoice
	Permissions          []permissionView
	OrgChoice            bool
	OrgWide              bool // admin consent: the grant covers the organization
	Code                 int
	TraceID              string
	CorrelationID        string
	Timestamp            string
	UserCode             string
	Fields               []formField
}

type accountChoice struct{ Name, UPN, Tenant string }

// permissionView is one permission on the consent page, with the display
// name and description the exposed scope (or app role) gives for the
// reader: the user consent texts for a user, the admin texts for an
// administrator (Entra's consent prompt does the same).
type permissionView struct {
	Name, Description string
	AdminOnly         bool
}

type formField struct{ Name, Value string }

// renderPage writes page with data. Pages are never cached, never framed
// (clickjacking of the consent button) and send no referrer (the URL holds
// the request's parameters).
func (s *Server) renderPage(w http.ResponseWriter, c *call, status int, page string, data pageData) {
	nonce, err := newSecret(s.cfg.Random)
	if err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	data.Nonce = nonce
	var buf bytes.Buffer
	if err := pageTemplates()[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.cfg.Logger.ErrorContext(c.ctx, "rendering a page", "trace_id", c.traceID, "page", page, "error", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'; img-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("x-ms-request-id", c.traceID)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows an error that cannot be sent to the client (its
// redirect URI is unknown or not registered): Entra's error page, with
// the AADSTS code, the message and the ids to quote. Entra serves it with
// HTTP 200 (its authorization endpoint errors article); so do we. The
// error is logged and recorded in the sign-in log like a token refusal.
func (s *Server) errorPage(w http.ResponseWriter, c *call, err error) {
	e := asError(err)
	s.log(c, e)
	s.recordSignIn(c, e)
	status := http.StatusOK
	if e.Code == CodeServerError {
		status = http.StatusInternalServerError
	}
	s.renderPage(w, c, status, "error", pageData{
		Title: "Sign-in error", Code: e.Code, Message: e.Message,
		TraceID: c.traceID, CorrelationID: c.correlationID(), Timestamp: c.now.Format(timestampLayout),
	})
}
