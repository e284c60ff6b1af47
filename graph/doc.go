// Package graph serves a subset of Microsoft Graph v1.0 over the directory:
// the calls that register applications, instantiate them as service
// principals, assign app roles, grant delegated permissions and manage
// users and groups and their memberships, so that provisioning code written for Entra (the Graph SDKs,
// Terraform's azuread provider, az ad) runs unchanged against issuer.
//
// It is a protocol edge like package issuer: requests are authorized by
// the server's own access tokens for Microsoft Graph (the roles of an
// app-only token, or the scopes of a delegated one and the user's
// directory roles), every change goes through tenant.Directory and
// consent.Manager, the services the CLI, seed files and remote admin use,
// and directory errors become Graph's error bodies only here.
package graph
