package issuer

import (
	"net/http"
	"time"
)

// HTTPLimits bound what one client may cost the HTTP server in front of
// Handler: how long it may take to send its headers and its request, how
// long an answer may take to write, how long an idle connection stays open,
// and how large the headers may be. Bodies are bounded by the endpoints
// (the token endpoint reads at most 1 MiB and answers 413 beyond it).
type HTTPLimits struct {
	// ReadHeaderTimeout closes a connection whose request line and headers
	// have not arrived in time (a client holding connections open by
	// sending a header a byte at a time).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the answer.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections that send nothing.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers; beyond it
	// net/http answers 431 Request Header Fields Too Large.
	MaxHeaderBytes int
}

// DefaultHTTPLimits are the limits of `issuer serve` and issuertest: a
// token request is a few kilobytes sent at once, so generous bounds still
// stop slow-sending clients well before they can exhaust connections.
var DefaultHTTPLimits = HTTPLimits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    64 << 10,
}

// withDefaults fills the zero fields of l from DefaultHTTPLimits.
func (l HTTPLimits) withDefaults() HTTPLimits {
	d := DefaultHTTPLimits
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// NewHTTPServer returns the http.Server that serves h with limits l (zero
// fields take DefaultHTTPLimits). `issuer serve` and issuertest both build
// their server here, so tests run against the limits the program serves
// with; the caller adds TLS, logging and the listener.
func NewHTTPServer(h http.Handler, l HTTPLimits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
