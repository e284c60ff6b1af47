// Package tenant holds the directory: tenants, app registrations
// (applications), the service principals that instantiate an application in a
// tenant, users, and the issuer's signing keys.
//
// Names follow Microsoft Graph (appId, identifierUris,
// appRoleAssignmentRequired, …) so that a reader who knows Entra ID is at home
// and so that JSON output looks like Graph resources.
//
// The package knows nothing about persistence or about the wire protocol:
// Store is implemented by package storage, and the AADSTS vocabulary lives in
// package issuer. Errors returned here wrap the sentinels below.
package tenant
