package main

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at: a handshake stats them when the last look is older.
const certCheckInterval = time.Second

// certReloader serves `serve --tls-cert/--tls-key` and picks up new files
// without a restart (certificate renewals by certbot, cert-manager, …).
// It polls on handshakes rather than watching: a stat of both files at
// most once per second, a reload when either changed (modification time,
// size or identity, which catches an atomic rename). A pair that does not
// load (a half-written renewal, a key that does not match) is logged and
// the last good certificate keeps being served.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time

	mu                sync.Mutex
	cert              *tls.Certificate
	certStat, keyStat os.FileInfo // of the files last tried
	checked           time.Time
	lastErr           string
}

// newCertReloader loads the pair once; failing here fails the start.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now}
	cs, err := os.Stat(certFile)
	if err != nil {
		return nil, err
	}
	ks, err := os.Stat(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert, r.certStat, r.keyStat, r.checked = &cert, cs, ks, r.now()
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= certCheckInterval || now.Before(r.checked) {
		r.checked = now
		r.check()
	}
	return r.cert, nil
}

// check reloads the pair when a file changed since the last attempt.
func (r *certReloader) check() {
	cs, err := os.Stat(r.certFile)
	if err == nil {
		var ks os.FileInfo
		if ks, err = os.Stat(r.keyFile); err == nil {
			if unchanged(cs, r.certStat) && unchanged(ks, r.keyStat) {
				return
			}
			r.certStat, r.keyStat = cs, ks // a bad pair is tried (and logged) once
			var cert tls.Certificate
			if cert, err = tls.LoadX509KeyPair(r.certFile, r.keyFile); err == nil {
				r.cert, r.lastErr = &cert, ""
				attrs := []any{"cert", r.certFile}
				if cert.Leaf != nil {
					attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
				}
				r.logger.Info("TLS certificate reloaded", attrs...)
				return
			}
		}
	}
	if msg := err.Error(); msg != r.lastErr {
		r.lastErr = msg
		r.logger.Warn("TLS certificate not reloaded; serving the previous one", "cert", r.certFile, "key", r.keyFile, "error", msg)
	}
}

// unchanged reports whether a file's stat matches the one seen before.
func unchanged(now, before os.FileInfo) bool {
	return before != nil && os.SameFile(now, before) && now.ModTime().Equal(before.ModTime()) && now.Size() == before.Size()
}
