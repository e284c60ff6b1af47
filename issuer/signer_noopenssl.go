//go:build !(cgo && unix && !issuer_noopenssl)

package issuer

import "errors"

// OpenSSLSigner reports that this build has no OpenSSL backend: it was
// built without cgo (CGO_ENABLED=0), for a system without dlopen, or with
// the issuer_noopenssl tag. GoSigner works everywhere.
func OpenSSLSigner() (SignerBackend, error) {
	return nil, errors.New("issuer: this build has no OpenSSL signer (built without cgo); use --signer go")
}
