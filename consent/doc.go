// Package consent holds the grants that say who may do what in a tenant, and
// the policy engine that decides token requests from directory state alone.
//
// The facts are Graph's: an AppRoleAssignment gives a principal (a client's
// service principal or a user) an app role of a resource; a PermissionGrant
// (oAuth2PermissionGrant) gives a client delegated scopes on a resource, for
// every user (AllPrincipals, admin consent) or for one (Principal, user
// consent).
//
// Every rule that can refuse a token lives in Engine.Decide, so the token
// endpoint and `issuer explain` give the same answer. Refusals are *Denial
// values with a Reason; package issuer maps each Reason to its AADSTS code.
//
// Seed files, which describe directory state and grants declaratively, are
// package seed's; they reach grants through Manager's operations
// (GrantAdminConsent, PutGrant, PutRoleAssignment, List).
package consent
