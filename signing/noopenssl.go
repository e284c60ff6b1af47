//go:build !(cgo && unix && !issuer_noopenssl)

package signing

import "errors"

// OpenSSLBackend reports that this build has no OpenSSL backend: it was
// built without cgo (CGO_ENABLED=0), for a system without dlopen, or with
// the issuer_noopenssl tag. GoBackend works everywhere.
func OpenSSLBackend() (Backend, error) {
	return nil, errors.New("signing: this build has no OpenSSL signer (built without cgo); use --signer go")
}
