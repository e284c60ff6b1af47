// Package seed reads and writes seed files: a declarative description of
// directory state (tenants, applications and what they expose and require,
// secrets with known values, service principals, users, groups and their
// members, owners, consents and role assignments) that `issuer apply`, `issuer serve --seed` and
// issuertest.Seed apply, and `issuer export` writes.
//
// Parse reads a document with file:line errors (*Error), checks every rule
// that needs no directory, and keeps the text so that faults found later
// still name the line. Apply and Export go through tenant.Directory's and
// consent.Manager's operations only (the library every other way in uses),
// never the stores' records: a seed describes grants as well as directory
// objects, so this package sits above both.
//
// The format is JSON, read with encoding/json and DisallowUnknownFields: no
// YAML, so no dependency. Property names follow Microsoft Graph where Graph
// has the concept (appId, identifierUris, appRoles, allowedMemberTypes,
// userPrincipalName, accountEnabled, appRoleAssignmentRequired, keyId). Any
// object may carry a "$comment" string, which is ignored.
package seed
