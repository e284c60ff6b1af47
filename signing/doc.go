// Package signing makes, keeps and uses the issuer's token-signing keys:
// RSA-2048 keys with a self-signed certificate whose SHA-1 thumbprint is
// the kid, as Entra publishes its keys (NewKey, Thumbprint); the key ring a
// server signs with and publishes as its JWKS (Load, NewRing, Ring); key
// rotation with a grace period (Rotate); and the RS256 implementations
// (Backend: Go's crypto/rsa everywhere, OpenSSL's libcrypto through cgo
// where it loads; Select picks one by its `serve --signer` name).
//
// It knows nothing of HTTP, grants or tenants: the protocol edge (package
// issuer) builds claims and asks a Ring to sign them, and serves the
// Ring's JWKS entries. Keys are kept by a KeyStore, which every
// issuer.Backend is.
package signing
