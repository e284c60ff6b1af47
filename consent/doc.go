// Package consent holds the grants that say who may do what in a tenant, and
// the policy engine that decides token requests from directory state alone.
//
// The facts are Graph's: an AppRoleAssignment gives a principal (a client's
// service principal or a user) an app role of a resource; a PermissionGrant
// (oAuth2PermissionGrant) gives a client delegated scopes on a resource, for
// every user (AllPrincipals, admin consent) or for one (Principal, user
// consent).
//
// A token request is judged in two steps, the same for every grant,
// `issuer token user` and `issuer explain`:
//
//   - Resolve reads what a Request names (tenant, client application and
//     service principal, resource application and service principal, user,
//     and the assignments and grants that apply) in one view of the store
//     (Viewer: one read transaction), so the Facts are the state of one
//     instant;
//   - Decide judges the Request on those Facts with no I/O: every rule
//     that can refuse a token lives there (CheckClient holds the client's,
//     which the token endpoint applies before it authenticates the
//     client). Its table tests need no database.
//
// Explain runs the two steps and describes the very Facts it judged, so
// the token endpoint and `issuer explain` give the same answer by
// construction. Refusals are *Denial values with a Reason; package issuer
// maps each Reason to its AADSTS code.
//
// Seed files, which describe directory state and grants declaratively, are
// package seed's; they reach grants through Manager's operations
// (GrantAdminConsent, PutGrant, PutRoleAssignment, List).
package consent
