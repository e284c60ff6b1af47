package issuer

import (
	"net/http"
	"time"
)

// healthBody is /healthz's answer. Clock appears only when the clock is not
// real, so that a test run against a frozen or shifted clock says so.
type healthBody struct {
	Status string       `json:"status"`
	Signer string       `json:"signer,omitempty"` // go or openssl, once a key is loaded
	Clock  *healthClock `json:"clock,omitempty"`
}

type healthClock struct {
	Mode ClockMode `json:"mode"`
	Now  time.Time `json:"now"`
}

// handleHealth answers 200 {"status":"ok","signer":"go|openssl"} when the server can issue tokens:
// the backend answers Ping and a signing key is loaded. Otherwise
// 503 with the reason, so that a harness waiting for readiness keeps waiting.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store, no-cache")
	body := healthBody{Status: "ok"}
	if c := s.cfg.Clock; c != nil && c.Mode() != ClockReal {
		body.Clock = &healthClock{Mode: c.Mode(), Now: c.Now().UTC()}
	}
	status := http.StatusOK
	if err := s.backend.Ping(r.Context()); err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "not ready", "cause", err.Error())
		body.Status, status = "database unavailable", http.StatusServiceUnavailable
	}
	if kr := s.keyring(); status == http.StatusOK && kr == nil {
		body.Status, status = "no signing key", http.StatusServiceUnavailable
	} else if status == http.StatusOK {
		body.Signer = s.SignerName()
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	writeBody(w, status, body)
}
