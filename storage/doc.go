// Package storage persists the issuer's state in one bbolt file: the
// directory (tenant.Store), grants and read views (consent.Store), signing
// keys, settings and refresh tokens. *DB implements issuer.Backend, the one contract the
// protocol edge has with a store, and runs its conformance suite
// (conformance_test.go); no bbolt type leaves the package.
//
// # Layout
//
// Keep this drawing true: change it in the same commit as the structure,
// and add a migration (migrate.go) when the change is not purely additive.
// "\x00" is a zero byte joining the parts of a composite key (key in
// buckets.go); values marked JSON are the record structs of records.go.
//
//	meta                                          root
//	  schema_version : <decimal ASCII>            layout version, see migrations in migrate.go
//	  created_at     : <RFC 3339 UTC>             when the file was initialised
//	keys                                          root: signing keys, global as in Entra
//	  ╘══ <kid> : keyRecord JSON                  {kid, privateKeyPkcs8 (DER), certificate (DER), created/retired/expires}
//	settings                                      root: opaque values by name
//	  ╘══ <name> : <bytes>                        e.g. "tls", the local TLS CA
//	tenants                                       root
//	  ╘══ <tenantID> : tenantRecord JSON
//	tenant_by_domain                              root index
//	  ╘══ <domainKey(domain)> : <tenantID>
//	app_home                                      root index: where each application lives
//	  ╘══ <appID> : <homeTenantID>
//	app_by_uri                                    root index, global, for URI conflict checks:
//	  ╘══ <uriKey(uri)>\x00<appID> : <empty>      single-tenant apps of different tenants may share a URI
//	app_sps                                       root index: the tenants where an app has a
//	  ╘══ <appID>\x00<tenantID> : <spID>          service principal (cascading deletes)
//	refresh_tokens                                root: refresh tokens, found by hash alone
//	  ╘══ <hex SHA-256 of the token> : refreshTokenRecord JSON   (a token presented at /common names no tenant)
//	refresh_token_family                          root index: the tokens of one sign-in, for
//	  ╘══ <familyID>\x00<hash> : <expiry>         pruning and replay revocation; <expiry> is
//	                                              familyEntry's 12 bytes, or empty if written
//	                                              before entries held it (pruning reads the record)
//	refresh_token_by_user                         root index (schema 2): the tokens of each user, for
//	  ╘══ <tenantID>\x00<userID>\x00<hash> : <empty>   deletes (user, client, tenant)
//	tenant                                        root: one nested bucket per tenant
//	  ╘══ <tenantID>
//	      ├── applications             ╘══ <appID>      : applicationRecord JSON (apps homed here)
//	      ├── service_principals       ╘══ <spID>       : servicePrincipalRecord JSON
//	      ├── sp_by_app                ╘══ <appID>      : <spID>
//	      ├── sp_by_uri                ╘══ <uriKey(uri)>: <appID>  (identifier URIs of the apps with an SP here)
//	      ├── users                    ╘══ <userID>     : userRecord JSON
//	      ├── user_by_upn              ╘══ <upnKey(upn)>: <userID>
//	      ├── app_role_assignments     ╘══ <id>         : assignmentRecord JSON
//	      ├── assignment_by_principal  ╘══ <principalID>\x00<resourceSPID>\x00<id> : <empty>
//	      ├── permission_grants        ╘══ <id>         : grantRecord JSON
//	      ├── grant_by_client          ╘══ <clientSPID>\x00<resourceSPID>\x00<id> : <empty>
//	      ├── grant_by_key             ╘══ <clientSPID>\x00<resourceSPID>\x00<consentType>\x00<principalID> : <id>
//	      │                                (principalID empty for AllPrincipals)
//	      ├── groups        (schema 3) ╘══ <groupID>    : groupRecord JSON
//	      ├── group_members (schema 3) ╘══ <groupID>\x00<memberID> : <member type: "User"|"ServicePrincipal"|"Group">
//	      └── member_of     (schema 3) ╘══ <memberID>\x00<groupID> : <empty>
//	                                       (each direct membership is in both; a group's
//	                                       members are ordered by id, an object's groups too)
//
// Names used as keys are normalised by one function per kind, used for both
// writing and looking up: domainKey and upnKey are tenant.NormalizeName,
// uriKey is tenant.IdentifierKey (lowercase, one trailing slash dropped).
// IDs are stored as given; the Directory canonicalises GUIDs to lowercase.
//
// # Transactions
//
// Every exported method runs exactly one bbolt transaction (View or
// Update), so a caller sees all or none of its effect. Read-modify-write
// methods take an update callback that runs inside the transaction; an error
// from it rolls everything back, and an updater may not change key fields
// (ErrInvalid). Helpers that need a transaction take it (or the tenant's
// buckets) and end in Tx; they never open one. Nothing read from bbolt
// outlives its transaction: records are decoded, keys are copied.
//
// DB.View is the read view of consent.Viewer: it hands a consent.Reader
// (view.go) to a function and runs all its reads in one read transaction,
// so that consent.Resolve gathers a token request's facts from one state of
// the file. The single-object read methods of DB (GetTenant,
// FindServicePrincipal, AppRoleAssignmentsOf, …) are each one transaction
// around the same reader.
//
// Reads that are on the token path (FindServicePrincipal,
// AppRoleAssignmentsOf, PermissionGrantsOf) are a handful of indexed reads.
// A resource is found through the tenant of the request, as Entra does: the
// tenant's sp_by_uri (or sp_by_app for an appId) names the application,
// app_home leads to its record. sp_by_uri is kept per tenant, rather than
// scanning app_by_uri, so that a URI shared by many single-tenant
// applications still costs one read. Those reads open only the sub-buckets
// they need; tenants, applications, service principals and assignments keep
// their decoded form by their exact stored bytes (cache.go, process-wide),
// so that a record read again is not decoded again; the cache needs no
// invalidation, since changed bytes miss it.
//
// CreateBulk writes many new tenants and applications in one transaction,
// with the checks of CreateTenant and CreateApplication: the seeding path of
// large directories (tenant.Directory.BulkCreate).
// Object ids are unique across a tenant's users, service principals and
// groups (Entra's directory objects). Group memberships are indexed both
// ways, since the token path reads an object's groups (member_of) and
// Graph a group's members (group_members); deleting an object or a group
// removes its memberships from both.
// Cascading deletes scan the tenant's grants and assignments instead of
// keeping reverse indexes. They delete refresh tokens through
// refresh_token_by_user: a user's, a tenant's, and, for a service
// principal, the tokens its application holds as a client in that tenant
// (a scan of the tenant's tokens), so that an object created again with
// the same id does not bring them back. A change of a user's password
// revokes the user's password-based tokens of public clients (Entra's
// revocation table). A family's expired tokens are pruned when it is
// redeemed again; the last token of a family nobody redeems stays in the
// file, unusable once expired (no sweep removes it yet).
//
// # Replicas
//
// A DB opened with Options.Replica is a local copy of a directory kept in a
// shared store (storage/etcd): reads as above; each write transaction runs
// on the copy, the changes it made are recorded by the write helpers (put,
// putRecord, del and the tenant bucket helpers, the only writers), the local
// transaction is rolled back, and the Replica commits them, or reports a
// conflict and the transaction runs again on a newer copy. Apply and Reset
// bring the copy up to the shared store's revision (replica.go). The
// shared store is not migrated: the copy creates the group sub-buckets
// (schema 3) that a tenant written by an older issuer lacks (replica.go).
//
// # Checks and backups
//
// Check verifies a file against this layout (bbolt's page check, then every
// record and index as drawn above, each way round); `issuer db check` runs
// it. Backup copies the file from one read transaction (`issuer db
// backup`). Open refuses a file bbolt cannot read (a torn page) with an
// error rather than a panic.
//
// Errors wrap tenant.ErrNotFound, tenant.ErrExists and tenant.ErrInvalid with
// the object they concern. A record that does not decode, or an index entry
// pointing at nothing, is reported as an error, never a panic, and never as
// ErrNotFound.
package storage
