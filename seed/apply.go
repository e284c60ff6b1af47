package seed

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// ErrConflict: the directory holds an object the seed matches by its
// natural key but with a different fixed id (or home tenant, or member
// types), which applying cannot reconcile without deleting something.
var ErrConflict = errors.New("conflicts with the directory")

// Apply makes the directory hold what s describes, through dir's and m's
// operations (m must manage dir's grants). Objects are matched by natural
// key (tenant id or initial domain, appId or display name, role and scope
// values, secret keyId or value, UPN, and the keys of grants and
// assignments), so applying the same seed twice creates nothing the second
// time. Applying adds and updates; it never deletes.
//
// The document is checked whole before anything is written. The seed is
// applied in one transaction where the store batches (tenant.BatchStore:
// bbolt), so a failure writes nothing, and a large seed costs one commit.
// Over another store (etcd, whose transactions are bounded) a failure stops
// at the first error, leaving what was applied before it; since applying
// is idempotent, fixing the seed and applying again converges. Errors are
// *Error values naming the object's path (and line, for a parsed seed).
func Apply(ctx context.Context, dir *tenant.Directory, m *consent.Manager, s Document) (Result, error) {
	if err := s.validate(); err != nil {
		return Result{}, err
	}
	a := &applier{m: m, dir: dir, s: s, tenants: make([]tenant.Tenant, len(s.Tenants)), byName: map[string][]string{}}
	err := dir.Batch(ctx, func(ctx context.Context) error {
		// Phases run over every tenant before the next begins, so that
		// any object may name an application of any tenant.
		for _, phase := range []func(context.Context) error{
			a.applyTenants, a.applyApplications, a.applyManagedIdentities, a.applyRequiredAccess, a.applyUsers,
			a.applyServicePrincipals, a.applyGroups, a.applyOwners, a.applyConsents, a.applyGroupMembers,
			a.applyRoleAssignments, a.applyDisabled,
		} {
			if err := phase(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return a.res, nil
}

// applier is the state of one Apply.
type applier struct {
	m       *consent.Manager
	dir     *tenant.Directory
	s       Document
	res     Result
	tenants []tenant.Tenant // by index in s.Tenants
	// appIDs holds the appId of each seed application, by path.
	appIDs map[string]string
	// byName maps a seed application's display name (lowercase) to the
	// appIds of the applications of that name, for references.
	byName map[string][]string
	// disable lists the permissions the seed wants disabled, applied last
	// so that declarations and assignments of them can be reproduced.
	disable []disabledPermission
	// apps indexes each tenant's applications by display name, by tenant
	// id, once the first entry of the tenant is matched by name.
	apps map[string]*appIndex
	// groupIDs holds the object id of each seed group, by tenant index
	// and group index, once applyGroups has made it exist.
	groupIDs [][]string
}

// appIndex is one tenant's applications by display name while a seed is
// applied: matching each entry by name by listing the tenant's
// applications would make a tenant of n applications cost n² reads.
type appIndex struct {
	byName map[string][]tenant.Application // by nameKey
	keyOf  map[string]string               // nameKey by appId
}

// nameKey is the key of a display name in appIndex; names match without
// case, as Entra's displayName filters do.
func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// put adds app to the index, or moves it to its new name.
func (x *appIndex) put(app tenant.Application) {
	if k, ok := x.keyOf[app.AppID]; ok {
		x.byName[k] = slices.DeleteFunc(x.byName[k], func(o tenant.Application) bool { return o.AppID == app.AppID })
	}
	k := nameKey(app.DisplayName)
	x.byName[k] = append(x.byName[k], app)
	x.keyOf[app.AppID] = k
}

// tenantApps returns the index of the applications homed in tenantID,
// listing them the first time.
func (a *applier) tenantApps(ctx context.Context, tenantID string) (*appIndex, error) {
	if x, ok := a.apps[tenantID]; ok {
		return x, nil
	}
	apps, err := a.dir.ListApplications(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	x := &appIndex{byName: map[string][]tenant.Application{}, keyOf: map[string]string{}}
	for _, app := range apps {
		x.put(app)
	}
	if a.apps == nil {
		a.apps = map[string]*appIndex{}
	}
	a.apps[tenantID] = x
	return x, nil
}

type disabledPermission struct {
	path, appID, value string
	role               bool
}

func count(c *Count, created, updated bool) {
	switch {
	case created:
		c.Created++
	case updated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

func tenantPath(i int) string { return "tenants[" + strconv.Itoa(i) + "]" }

// appRef resolves a reference to an application: an appId, or the display
// name of an application in the seed. Anything else is returned as it is
// when uri allows an identifier URI, else refused.
func (a *applier) appRef(ref string, uri bool) (string, error) {
	ref = strings.TrimSpace(ref)
	if tenant.IsGUID(ref) {
		return strings.ToLower(ref), nil
	}
	switch ids := a.byName[strings.ToLower(ref)]; {
	case len(ids) == 1:
		return ids[0], nil
	case len(ids) > 1:
		return "", fmt.Errorf("%w: %d applications in the seed are named %q; use an appId", tenant.ErrInvalid, len(ids), ref)
	case uri:
		return ref, nil
	}
	return "", fmt.Errorf("%w: %q is neither an appId nor the displayName of an application in the seed", tenant.ErrInvalid, ref)
}

// ---- tenants ----

func (a *applier) applyTenants(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		p := tenantPath(i)
		t, created, updated, err := a.applyTenant(ctx, st)
		if err != nil {
			return a.s.errorAt(p, err)
		}
		a.tenants[i] = t
		count(&a.res.Tenants, created, updated)
	}
	return nil
}

func (a *applier) applyTenant(ctx context.Context, st Tenant) (t tenant.Tenant, created, updated bool, err error) {
	initial, err := tenant.InitialDomain(st.Name)
	if err != nil {
		return t, false, false, err
	}
	byDomain, err := a.dir.ResolveTenant(ctx, initial)
	if err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return t, false, false, err
	}
	found := err == nil
	if st.ID != "" {
		id, _ := tenant.CanonicalGUID(st.ID)
		byID, err := a.dir.ResolveTenant(ctx, id)
		switch {
		case err == nil && byID.Domains[0] != initial:
			return t, false, false, fmt.Errorf("tenant %s exists with initial domain %s, not %s: %w", id, byID.Domains[0], initial, ErrConflict)
		case err == nil:
			byDomain, found = byID, true
		case !errors.Is(err, tenant.ErrNotFound):
			return t, false, false, err
		case found:
			return t, false, false, fmt.Errorf("tenant %s has id %s, not %s: %w", initial, byDomain.ID, id, ErrConflict)
		}
	}
	if !found {
		t, err = a.dir.CreateTenant(ctx, tenant.TenantSpec{Name: st.Name, Domains: st.Domains, ID: st.ID})
		if err != nil {
			return t, false, false, err
		}
		created = true
	} else {
		t = byDomain
		for _, d := range st.Domains {
			v, _ := tenant.ValidateDomain(d)
			if !slices.Contains(t.Domains, v) {
				if t, err = a.dir.AddDomain(ctx, t.ID, v); err != nil {
					return t, false, false, err
				}
				updated = true
			}
		}
	}
	if st.UserConsent != "" {
		want, _ := tenant.ParseUserConsent(st.UserConsent)
		if t.AllowsUserConsent() != (want == tenant.UserConsentAllowed) {
			if t, err = a.dir.UpdateTenant(ctx, t.ID, func(t *tenant.Tenant) error { t.UserConsent = want; return nil }); err != nil {
				return t, false, false, err
			}
			updated = !created
		}
	}
	return t, created, updated, nil
}

// ---- applications, with their roles, scopes and secrets ----

func (a *applier) applyApplications(ctx context.Context) error {
	a.appIDs = map[string]string{}
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, sa := range st.Applications {
			p := fmt.Sprintf("%s.applications[%d]", tenantPath(i), j)
			app, created, updated, err := a.applyApplication(ctx, t, st, sa)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			if x := a.apps[t.ID]; x != nil {
				x.put(app)
			}
			count(&a.res.Applications, created, updated)
			a.appIDs[p] = app.AppID
			n := strings.ToLower(strings.TrimSpace(sa.DisplayName))
			if !slices.Contains(a.byName[n], app.AppID) {
				a.byName[n] = append(a.byName[n], app.AppID)
			}
			if err := a.applyPermissions(ctx, p, app.AppID, sa); err != nil {
				return err
			}
			if err := a.applySecrets(ctx, p, app.AppID, sa.Secrets); err != nil {
				return err
			}
			if err := a.applyCertificates(ctx, p, app.AppID, sa.Certificates); err != nil {
				return err
			}
			if err := a.applyFederated(ctx, p, app.AppID, sa.FederatedCredentials); err != nil {
				return err
			}
		}
	}
	return nil
}

// homeServicePrincipalID returns the fixed id the tenant's
// servicePrincipals give the application's home service principal.
func homeServicePrincipalID(st Tenant, sa Application) string {
	for _, sp := range st.ServicePrincipals {
		ref := strings.TrimSpace(sp.AppID)
		if sp.ID != "" && (sa.AppID != "" && strings.EqualFold(ref, sa.AppID) || strings.EqualFold(ref, strings.TrimSpace(sa.DisplayName))) {
			return sp.ID
		}
	}
	return ""
}

func (a *applier) applyApplication(ctx context.Context, t tenant.Tenant, st Tenant, sa Application) (app tenant.Application, created, updated bool, err error) {
	app, found, err := a.findApplication(ctx, t, sa)
	if err != nil {
		return app, false, false, err
	}
	if !found {
		app, err = a.dir.RegisterApplication(ctx, t.ID, tenant.ApplicationSpec{
			DisplayName: sa.DisplayName, IdentifierURIs: sa.IdentifierURIs, TokenVersion: sa.TokenVersion,
			MultiTenant: sa.MultiTenant != nil && *sa.MultiTenant, PublicClient: sa.PublicClient != nil && *sa.PublicClient,
			AppID: sa.AppID, ObjectID: sa.ID, ServicePrincipalID: homeServicePrincipalID(st, sa),
			WebRedirectURIs: sa.WebRedirectURIs, SPARedirectURIs: sa.SPARedirectURIs, PublicClientRedirectURIs: sa.PublicClientRedirectURIs,
		})
		if err == nil && (sa.OptionalClaims != nil || sa.AccessTokenLifetime != "" || sa.GroupMembershipClaims != "") {
			u := tenant.ApplicationUpdate{OptionalClaims: sa.OptionalClaims}
			if sa.AccessTokenLifetime != "" {
				d, _ := sa.accessTokenLifetime() // checked by validate
				u.AccessTokenLifetime = &d
			}
			if sa.GroupMembershipClaims != "" {
				u.GroupMembershipClaims = &sa.GroupMembershipClaims
			}
			app, err = a.dir.UpdateApplication(ctx, app.AppID, u)
		}
		return app, err == nil, false, err
	}
	if sa.ID != "" && !strings.EqualFold(app.ID, sa.ID) {
		return app, false, false, fmt.Errorf("application %s exists with object id %s, not %s: %w", app.AppID, app.ID, sa.ID, ErrConflict)
	}
	var u tenant.ApplicationUpdate
	if n := strings.TrimSpace(sa.DisplayName); n != app.DisplayName {
		u.DisplayName = &n
	}
	if sa.IdentifierURIs != nil && !sameIdentifiers(app.IdentifierURIs, sa.IdentifierURIs) {
		u.IdentifierURIs = &sa.IdentifierURIs
	}
	if v := sa.TokenVersion; v != 0 && (app.API.RequestedAccessTokenVersion == nil || *app.API.RequestedAccessTokenVersion != v) {
		u.TokenVersion = &v
	}
	if sa.MultiTenant != nil && *sa.MultiTenant != app.IsMultiTenant() {
		u.MultiTenant = sa.MultiTenant
	}
	if sa.PublicClient != nil && *sa.PublicClient != app.IsFallbackPublicClient {
		u.PublicClient = sa.PublicClient
	}
	u.WebRedirectURIs = changedList(app.Web.RedirectURIs, sa.WebRedirectURIs)
	u.SPARedirectURIs = changedList(app.SPA.RedirectURIs, sa.SPARedirectURIs)
	u.PublicClientRedirectURIs = changedList(app.PublicClient.RedirectURIs, sa.PublicClientRedirectURIs)
	if sa.OptionalClaims != nil && !sameOptionalClaims(app.OptionalClaims, sa.OptionalClaims) {
		u.OptionalClaims = sa.OptionalClaims
	}
	if sa.AccessTokenLifetime != "" {
		d, _ := sa.accessTokenLifetime() // checked by validate
		var have time.Duration
		if app.TokenLifetimePolicy != nil {
			have = app.TokenLifetimePolicy.AccessTokenLifetime
		}
		if d != have {
			u.AccessTokenLifetime = &d
		}
	}
	if sa.GroupMembershipClaims != "" {
		// Compared in Graph's spelling, which the store keeps.
		if _, v, _ := tenant.ParseGroupClaims(sa.GroupMembershipClaims); v != app.GroupMembershipClaims {
			u.GroupMembershipClaims = &v
		}
	}
	if u == (tenant.ApplicationUpdate{}) {
		return app, false, false, nil
	}
	app, err = a.dir.UpdateApplication(ctx, app.AppID, u)
	return app, false, err == nil, err
}

// sameOptionalClaims reports whether the application's optional claims
// already are what the seed gives (names compared without case, as
// Entra's).
func sameOptionalClaims(have, want *tenant.OptionalClaims) bool {
	if have == nil {
		have = &tenant.OptionalClaims{}
	}
	same := func(a, b []tenant.OptionalClaim) bool {
		return slices.EqualFunc(a, b, func(x, y tenant.OptionalClaim) bool {
			src := func(p *string) string {
				if p == nil {
					return ""
				}
				return strings.ToLower(*p)
			}
			return strings.EqualFold(x.Name, y.Name) && x.Essential == y.Essential && src(x.Source) == src(y.Source) &&
				slices.Equal(x.AdditionalProperties, y.AdditionalProperties)
		})
	}
	return same(have.AccessToken, want.AccessToken) && same(have.IDToken, want.IDToken) && same(have.SAML2Token, want.SAML2Token)
}

// changedList returns &want when a seed gives a list (want not nil) that
// differs from have, else nil: an absent list leaves the object as it is.
func changedList(have, want []string) *[]string {
	if want == nil || slices.Equal(have, want) {
		return nil
	}
	return &want
}

// findApplication finds the application a seed entry describes: by appId,
// which must then be homed in t, or by display name among t's applications.
func (a *applier) findApplication(ctx context.Context, t tenant.Tenant, sa Application) (tenant.Application, bool, error) {
	if sa.AppID != "" {
		app, err := a.dir.GetApplication(ctx, sa.AppID)
		switch {
		case errors.Is(err, tenant.ErrNotFound):
			return app, false, nil
		case err != nil:
			return app, false, err
		case app.HomeTenantID != t.ID:
			return app, false, fmt.Errorf("application %s is homed in tenant %s, not %s: %w", app.AppID, app.HomeTenantID, t.ID, ErrConflict)
		}
		return app, true, nil
	}
	apps, err := a.tenantApps(ctx, t.ID)
	if err != nil {
		return tenant.Application{}, false, err
	}
	name := strings.TrimSpace(sa.DisplayName)
	match := apps.byName[nameKey(name)]
	switch len(match) {
	case 0:
		return tenant.Application{}, false, nil
	case 1:
		return match[0], true, nil
	}
	return tenant.Application{}, false, fmt.Errorf("%d applications of tenant %s are named %q; give the seed's application its appId: %w",
		len(match), t.DisplayName, name, ErrConflict)
}

// sameIdentifiers compares identifier URI lists as the store's index does.
func sameIdentifiers(have, want []string) bool {
	var w []string
	for _, u := range want {
		if k := tenant.IdentifierKey(strings.TrimSpace(u)); !slices.Contains(w, k) {
			w = append(w, k)
		}
	}
	if len(have) != len(w) {
		return false
	}
	for i, u := range have {
		if tenant.IdentifierKey(u) != w[i] {
			return false
		}
	}
	return true
}

// applyPermissions adds missing app roles and scopes and enables those the
// seed wants enabled; disabling waits for the last phase.
func (a *applier) applyPermissions(ctx context.Context, p, appID string, sa Application) error {
	app, err := a.dir.GetApplication(ctx, appID)
	if err != nil {
		return a.s.errorAt(p, err)
	}
	for j, r := range sa.AppRoles {
		rp := fmt.Sprintf("%s.appRoles[%d]", p, j)
		created, updated, err := a.applyAppRole(ctx, app, rp, r)
		if err != nil {
			return a.s.errorAt(rp, err)
		}
		count(&a.res.AppRoles, created, updated)
	}
	for j, sc := range sa.Scopes {
		sp := fmt.Sprintf("%s.scopes[%d]", p, j)
		created, updated, err := a.applyScope(ctx, app, sp, sc)
		if err != nil {
			return a.s.errorAt(sp, err)
		}
		count(&a.res.Scopes, created, updated)
	}
	return nil
}

func (a *applier) applyAppRole(ctx context.Context, app tenant.Application, p string, r AppRole) (created, updated bool, err error) {
	value := strings.TrimSpace(r.Value)
	types, _ := tenant.ParseMemberTypes(r.AllowedMemberTypes)
	i := slices.IndexFunc(app.AppRoles, func(have tenant.AppRole) bool { return strings.EqualFold(have.Value, value) })
	if i < 0 {
		_, err := a.dir.AddAppRole(ctx, app.AppID, tenant.AppRoleSpec{
			Value: value, DisplayName: r.DisplayName, Description: r.Description,
			AllowedMemberTypes: types, ID: r.ID,
		})
		if err == nil && r.IsEnabled != nil && !*r.IsEnabled {
			a.disable = append(a.disable, disabledPermission{p, app.AppID, value, true})
		}
		return err == nil, false, err
	}
	have := app.AppRoles[i]
	switch {
	case r.ID != "" && !strings.EqualFold(have.ID, r.ID):
		return false, false, fmt.Errorf("app role %q of %s exists with id %s, not %s: %w", value, app.DisplayName, have.ID, r.ID, ErrConflict)
	case !sameSet(have.AllowedMemberTypes, types):
		return false, false, fmt.Errorf("app role %q of %s allows %s, not %s; disable and remove it to redefine it: %w",
			value, app.DisplayName, strings.Join(have.AllowedMemberTypes, ","), strings.Join(types, ","), ErrConflict)
	case r.IsEnabled == nil || *r.IsEnabled == have.IsEnabled:
		return false, false, nil
	case *r.IsEnabled:
		_, err := a.dir.SetAppRoleEnabled(ctx, app.AppID, have.Value, true)
		return false, err == nil, err
	}
	a.disable = append(a.disable, disabledPermission{p, app.AppID, have.Value, true})
	return false, true, nil
}

func (a *applier) applyScope(ctx context.Context, app tenant.Application, p string, sc Scope) (created, updated bool, err error) {
	value := strings.TrimSpace(sc.Value)
	typ, _ := tenant.ParseScopeType(strings.TrimSpace(sc.Type))
	have, ok := app.ScopeByValue(value)
	if !ok {
		_, err := a.dir.AddScope(ctx, app.AppID, tenant.ScopeSpec{
			Value: value, Type: typ, ID: sc.ID,
			AdminConsentDisplayName: sc.AdminConsentDisplayName, AdminConsentDescription: sc.AdminConsentDescription,
			UserConsentDisplayName: sc.UserConsentDisplayName, UserConsentDescription: sc.UserConsentDescription,
		})
		if err == nil && sc.IsEnabled != nil && !*sc.IsEnabled {
			a.disable = append(a.disable, disabledPermission{p, app.AppID, value, false})
		}
		return err == nil, false, err
	}
	switch {
	case sc.ID != "" && !strings.EqualFold(have.ID, sc.ID):
		return false, false, fmt.Errorf("scope %q of %s exists with id %s, not %s: %w", value, app.DisplayName, have.ID, sc.ID, ErrConflict)
	case have.Type != typ:
		return false, false, fmt.Errorf("scope %q of %s has type %s, not %s; disable and remove it to redefine it: %w",
			value, app.DisplayName, have.Type, typ, ErrConflict)
	case sc.IsEnabled == nil || *sc.IsEnabled == have.IsEnabled:
		return false, false, nil
	case *sc.IsEnabled:
		_, err := a.dir.SetScopeEnabled(ctx, app.AppID, have.Value, true)
		return false, err == nil, err
	}
	a.disable = append(a.disable, disabledPermission{p, app.AppID, have.Value, false})
	return false, true, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// applySecrets adds the secrets the application lacks. A secret is known
// by keyId when the seed gives one, else by its value (checked against the
// stored salted hashes).
func (a *applier) applySecrets(ctx context.Context, p, appID string, secrets []Secret) error {
	for j, sec := range secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, j)
		app, err := a.dir.GetApplication(ctx, appID)
		if err != nil {
			return a.s.errorAt(sp, err)
		}
		exists := false
		for _, c := range app.PasswordCredentials {
			if sec.KeyID != "" && strings.EqualFold(c.KeyID, sec.KeyID) {
				if !c.Matches(sec.Value) {
					return a.s.errorAt(sp, fmt.Errorf("secret %s of %s exists with another value: %w", c.KeyID, app.DisplayName, ErrConflict))
				}
				exists = true
			} else if sec.KeyID == "" && c.Matches(sec.Value) {
				exists = true
			}
		}
		if exists {
			a.res.Secrets.Unchanged++
			continue
		}
		lifetime, err := parseExpiry(sec.Expires, a.dir.Now())
		if err != nil {
			return a.s.errorAt(sp+".expires", err)
		}
		if _, _, err := a.dir.AddPassword(ctx, appID, tenant.PasswordSpec{
			DisplayName: sec.DisplayName, Lifetime: lifetime, SecretText: sec.Value, KeyID: sec.KeyID,
		}); err != nil {
			return a.s.errorAt(sp, err)
		}
		a.res.Secrets.Created++
	}
	return nil
}

// applyCertificates registers the certificates the application lacks; a
// certificate is known by its SHA-1 thumbprint, as Entra's keyCredentials
// are (customKeyIdentifier).
func (a *applier) applyCertificates(ctx context.Context, p, appID string, certs []Certificate) error {
	for j, c := range certs {
		cp := fmt.Sprintf("%s.certificates[%d]", p, j)
		der, err := certificateDER(c)
		if err != nil {
			return a.s.errorAt(cp+".pem", err)
		}
		app, err := a.dir.GetApplication(ctx, appID)
		if err != nil {
			return a.s.errorAt(cp, err)
		}
		sum := sha1.Sum(der)
		if _, ok := app.KeyCredentialBySHA1(sum[:]); ok {
			a.res.Certificates.Unchanged++
			continue
		}
		if _, err := a.dir.AddKeyCredential(ctx, appID, der, c.DisplayName); err != nil {
			return a.s.errorAt(cp, err)
		}
		a.res.Certificates.Created++
	}
	return nil
}

// applyFederated adds the federated credentials the application lacks. One
// is known by its name, which Entra makes immutable: a credential of the
// same name with another issuer, subject or audience is a conflict, not an
// update.
func (a *applier) applyFederated(ctx context.Context, p, appID string, fics []FederatedCredential) error {
	for j, f := range fics {
		fp := fmt.Sprintf("%s.federatedCredentials[%d]", p, j)
		want, err := tenant.ValidateFederatedIdentityCredential(f.credential())
		if err != nil {
			return a.s.errorAt(fp, err)
		}
		app, err := a.dir.GetApplication(ctx, appID)
		if err != nil {
			return a.s.errorAt(fp, err)
		}
		i := slices.IndexFunc(app.FederatedIdentityCredentials, func(c tenant.FederatedIdentityCredential) bool {
			return strings.EqualFold(c.Name, want.Name)
		})
		if i >= 0 {
			have := app.FederatedIdentityCredentials[i]
			if have.Issuer != want.Issuer || have.Subject != want.Subject || !slices.Equal(have.Audiences, want.Audiences) {
				return a.s.errorAt(fp, fmt.Errorf("federated credential %s of %s exists with another issuer, subject or audience: %w",
					want.Name, app.DisplayName, ErrConflict))
			}
			a.res.Federated.Unchanged++
			continue
		}
		if _, err := a.dir.AddFederatedIdentityCredential(ctx, appID, want); err != nil {
			return a.s.errorAt(fp, err)
		}
		a.res.Federated.Created++
	}
	return nil
}

// ---- required resource access ----

func (a *applier) applyRequiredAccess(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		for j, sa := range st.Applications {
			p := fmt.Sprintf("%s.applications[%d]", tenantPath(i), j)
			for k, r := range sa.RequiredResourceAccess {
				rp := fmt.Sprintf("%s.requiredResourceAccess[%d]", p, k)
				created, updated, err := a.applyRequired(ctx, a.appIDs[p], r)
				if err != nil {
					return a.s.errorAt(rp, err)
				}
				count(&a.res.Permissions, created, updated)
			}
		}
	}
	return nil
}

func (a *applier) applyRequired(ctx context.Context, clientAppID string, r ResourceAccess) (created, updated bool, err error) {
	ref, err := a.appRef(r.Resource, true)
	if err != nil {
		return false, false, err
	}
	client, err := a.dir.GetApplication(ctx, clientAppID)
	if err != nil {
		return false, false, err
	}
	res, err := a.dir.ResolveResourceApplication(ctx, client, ref)
	if err != nil {
		return false, false, err
	}
	i := slices.IndexFunc(client.RequiredResourceAccess, func(rra tenant.RequiredResourceAccess) bool { return rra.ResourceAppID == res.AppID })
	if i >= 0 && declares(client.RequiredResourceAccess[i], res, r.Scopes, r.Roles) {
		return false, false, nil
	}
	if _, err := a.dir.AddRequiredResourceAccess(ctx, client.AppID, res.AppID, r.Scopes, r.Roles); err != nil {
		return false, false, err
	}
	return i < 0, i >= 0, nil
}

// declares reports whether rra already declares every named scope and role
// of res.
func declares(rra tenant.RequiredResourceAccess, res tenant.Application, scopes, roles []string) bool {
	for _, v := range scopes {
		s, ok := res.ScopeByValue(strings.TrimSpace(v))
		if !ok || !slices.Contains(rra.ResourceAccess, tenant.ResourceAccess{ID: s.ID, Type: tenant.AccessScope}) {
			return false
		}
	}
	for _, v := range roles {
		r, ok := res.AppRoleByValue(strings.TrimSpace(v))
		if !ok || !slices.Contains(rra.ResourceAccess, tenant.ResourceAccess{ID: r.ID, Type: tenant.AccessRole}) {
			return false
		}
	}
	return true
}

// ---- users ----

// ---- managed identities ----

func (a *applier) applyManagedIdentities(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, sm := range st.ManagedIdentities {
			p := fmt.Sprintf("%s.managedIdentities[%d]", tenantPath(i), j)
			sp, created, updated, err := a.applyManagedIdentity(ctx, t, sm)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			count(&a.res.ManagedIdentities, created, updated)
			// Other objects may name the identity as a client by its
			// name, as they name applications.
			n := strings.ToLower(sp.DisplayName)
			if !slices.Contains(a.byName[n], sp.AppID) {
				a.byName[n] = append(a.byName[n], sp.AppID)
			}
		}
	}
	return nil
}

func (a *applier) applyManagedIdentity(ctx context.Context, t tenant.Tenant, sm ManagedIdentity) (sp tenant.ServicePrincipal, created, updated bool, err error) {
	spec, err := sm.spec()
	if err != nil {
		return sp, false, false, err
	}
	rid, _, err := tenant.ManagedIdentityResource(t, spec)
	if err != nil {
		return sp, false, false, err
	}
	sp, err = a.dir.FindManagedIdentity(ctx, t.ID, rid)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		if sp, err = a.dir.AddManagedIdentity(ctx, t.ID, spec); err != nil {
			return sp, false, false, err
		}
		created = true
	case err != nil:
		return sp, false, false, err
	case sm.ClientID != "" && !strings.EqualFold(sm.ClientID, sp.AppID), sm.ID != "" && !strings.EqualFold(sm.ID, sp.ID):
		return sp, false, false, fmt.Errorf("managed identity %s exists with client id %s and object id %s: %w", rid, sp.AppID, sp.ID, ErrConflict)
	case sm.SystemAssigned != sp.SystemAssigned():
		return sp, false, false, fmt.Errorf("managed identity %s exists with another kind: %w", rid, ErrConflict)
	}
	if sm.AccountEnabled != nil && *sm.AccountEnabled != sp.AccountEnabled {
		if sp, err = a.dir.UpdateServicePrincipal(ctx, t.ID, sp.AppID, tenant.ServicePrincipalUpdate{AccountEnabled: sm.AccountEnabled}); err != nil {
			return sp, false, false, err
		}
		updated = !created
	}
	return sp, created, updated, nil
}

func (a *applier) applyUsers(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, su := range st.Users {
			p := fmt.Sprintf("%s.users[%d]", tenantPath(i), j)
			created, updated, err := a.applyUser(ctx, t, su)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			count(&a.res.Users, created, updated)
		}
	}
	return nil
}

func (a *applier) applyUser(ctx context.Context, t tenant.Tenant, su User) (created, updated bool, err error) {
	upn, _ := tenant.ValidateUPN(su.UserPrincipalName)
	have, err := a.dir.FindUser(ctx, t.ID, upn)
	if errors.Is(err, tenant.ErrNotFound) {
		_, err := a.dir.AddUser(ctx, t.ID, tenant.UserSpec{
			UserPrincipalName: upn, DisplayName: su.DisplayName, Password: su.Password, PasswordHash: su.PasswordHash,
			Disabled: su.AccountEnabled != nil && !*su.AccountEnabled, ID: su.ID, DirectoryRoles: su.DirectoryRoles,
			UserAttributes: su.attributes(),
		})
		return err == nil, false, err
	}
	if err != nil {
		return false, false, err
	}
	if su.ID != "" && !strings.EqualFold(have.ID, su.ID) {
		return false, false, fmt.Errorf("user %s exists with id %s, not %s: %w", upn, have.ID, su.ID, ErrConflict)
	}
	var u tenant.UserUpdate
	if n := strings.TrimSpace(su.DisplayName); n != "" && n != have.DisplayName {
		u.DisplayName = &n
	}
	if su.AccountEnabled != nil && *su.AccountEnabled != have.AccountEnabled {
		u.AccountEnabled = su.AccountEnabled
	}
	if su.Password != "" && !have.CheckPassword(su.Password) {
		u.Password = &su.Password
	}
	if su.PasswordHash != "" && su.PasswordHash != have.PasswordHash {
		u.PasswordHash = &su.PasswordHash
	}
	if su.DirectoryRoles != nil {
		roles := make([]string, 0, len(su.DirectoryRoles))
		for _, r := range su.DirectoryRoles {
			if canon, err := tenant.ParseDirectoryRole(r); err == nil {
				roles = append(roles, canon)
			}
		}
		u.DirectoryRoles = changedList(have.DirectoryRoles, roles)
	}
	// Attributes the seed gives that differ; absent ones stay.
	attr := su.attributes()
	for _, f := range []struct {
		want *string
		have string
		dst  **string
	}{{attr.Mail, have.Mail, &u.Mail}, {attr.GivenName, have.GivenName, &u.GivenName},
		{attr.Surname, have.Surname, &u.Surname}, {attr.Country, have.Country, &u.Country}} {
		if f.want != nil && !strings.EqualFold(*f.want, f.have) {
			*f.dst = f.want
		}
	}
	if u == (tenant.UserUpdate{}) {
		return false, false, nil
	}
	_, err = a.dir.UpdateUser(ctx, t.ID, have.ID, u)
	return false, err == nil, err
}

// ---- service principals ----

func (a *applier) applyServicePrincipals(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, ssp := range st.ServicePrincipals {
			p := fmt.Sprintf("%s.servicePrincipals[%d]", tenantPath(i), j)
			created, updated, err := a.applyServicePrincipal(ctx, t, ssp)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			count(&a.res.ServicePrincipals, created, updated)
		}
	}
	return nil
}

func (a *applier) applyServicePrincipal(ctx context.Context, t tenant.Tenant, ssp ServicePrincipal) (created, updated bool, err error) {
	appID, err := a.appRef(ssp.AppID, false)
	if err != nil {
		return false, false, err
	}
	sp, _, err := a.dir.FindServicePrincipal(ctx, t.ID, appID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		if sp, err = a.dir.CreateServicePrincipal(ctx, t.ID, tenant.ServicePrincipalSpec{AppID: appID, ID: ssp.ID}); err != nil {
			return false, false, err
		}
		created = true
	case err != nil:
		return false, false, err
	case ssp.ID != "" && !strings.EqualFold(sp.ID, ssp.ID):
		return false, false, fmt.Errorf("the service principal of %s in tenant %s exists with id %s, not %s: %w", appID, t.DisplayName, sp.ID, ssp.ID, ErrConflict)
	}
	var u tenant.ServicePrincipalUpdate
	if v := ssp.AccountEnabled; v != nil && *v != sp.AccountEnabled {
		u.AccountEnabled = v
	}
	if v := ssp.AppRoleAssignmentRequired; v != nil && *v != sp.AppRoleAssignmentRequired {
		u.AppRoleAssignmentRequired = v
	}
	if u == (tenant.ServicePrincipalUpdate{}) {
		return created, false, nil
	}
	if _, err := a.dir.UpdateServicePrincipal(ctx, t.ID, appID, u); err != nil {
		return false, false, err
	}
	return created, !created, nil
}

// ---- owners ----

// applyOwners adds the owners the seed lists to its applications and
// service principals, once every user and service principal exists. An
// owner already there counts as unchanged; owners the seed does not list
// are kept, as applying never deletes.
func (a *applier) applyOwners(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, sa := range st.Applications {
			p := fmt.Sprintf("%s.applications[%d]", tenantPath(i), j)
			appID := a.appIDs[p]
			err := a.addOwners(ctx, p, t, sa.Owners, func() (func(string) bool, error) {
				app, err := a.dir.GetApplication(ctx, appID)
				return app.OwnedBy, err
			}, func(id string) error { return a.dir.AddApplicationOwner(ctx, appID, id) })
			if err != nil {
				return err
			}
		}
		for j, ssp := range st.ServicePrincipals {
			p := fmt.Sprintf("%s.servicePrincipals[%d]", tenantPath(i), j)
			appID, err := a.appRef(ssp.AppID, false)
			if err != nil {
				return a.s.errorAt(p+".appId", err)
			}
			err = a.addOwners(ctx, p, t, ssp.Owners, func() (func(string) bool, error) {
				sp, _, err := a.dir.FindServicePrincipal(ctx, t.ID, appID)
				return sp.OwnedBy, err
			}, func(id string) error { return a.dir.AddServicePrincipalOwner(ctx, t.ID, appID, id) })
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// addOwners adds owners, objects of tenant t, to the object at path p,
// whose OwnedBy current reads (again for each owner, so that one listed
// twice is added once).
func (a *applier) addOwners(ctx context.Context, p string, t tenant.Tenant, owners []Owner, current func() (func(string) bool, error), add func(id string) error) error {
	for k, o := range owners {
		op := fmt.Sprintf("%s.owners[%d]", p, k)
		id, err := a.ownerID(ctx, t, o)
		if err != nil {
			return a.s.errorAt(op, err)
		}
		ownedBy, err := current()
		if err != nil {
			return a.s.errorAt(p, err)
		}
		if ownedBy(id) {
			count(&a.res.Owners, false, false)
			continue
		}
		if err := add(id); err != nil {
			return a.s.errorAt(op, err)
		}
		count(&a.res.Owners, true, false)
	}
	return nil
}

// ownerID is the object id of the user or the client's service principal
// an owner entry names in tenant t.
func (a *applier) ownerID(ctx context.Context, t tenant.Tenant, o Owner) (string, error) {
	var appID string
	if o.User == "" {
		var err error
		if appID, err = a.appRef(o.Client, false); err != nil {
			return "", err
		}
	}
	id, err := a.dir.OwnerObjectID(ctx, t.ID, strings.TrimSpace(o.User), appID)
	if err != nil {
		return "", fmt.Errorf("owner in tenant %s: %w", t.DisplayName, err)
	}
	return id, nil
}

// ---- consents ----

func (a *applier) applyConsents(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, c := range st.Consents {
			p := fmt.Sprintf("%s.consents[%d]", tenantPath(i), j)
			created, updated, err := a.applyConsent(ctx, t, c)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			count(&a.res.Consents, created, updated)
		}
	}
	return nil
}

func (a *applier) applyConsent(ctx context.Context, t tenant.Tenant, c Consent) (created, updated bool, err error) {
	clientID, err := a.appRef(c.Client, false)
	if err != nil {
		return false, false, err
	}
	if c.Admin && c.Resource == "" {
		res, err := a.m.GrantAdminConsent(ctx, t.ID, clientID)
		return res.Changed(), false, err
	}
	resource, err := a.appRef(c.Resource, true)
	if err != nil {
		return false, false, err
	}
	return a.m.PutGrant(ctx, t, clientID, resource, c.User, c.Scopes)
}

// ---- role assignments ----

func (a *applier) applyRoleAssignments(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, r := range st.RoleAssignments {
			p := fmt.Sprintf("%s.roleAssignments[%d]", tenantPath(i), j)
			created, err := a.applyRoleAssignment(ctx, i, t, r)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			count(&a.res.RoleAssignments, created, false)
		}
	}
	return nil
}

// applyRoleAssignment assigns the role unless the principal holds it. The
// role's member types are checked; whether it is enabled is not, so that an
// assignment of a role disabled since can be reproduced.
func (a *applier) applyRoleAssignment(ctx context.Context, i int, t tenant.Tenant, r RoleAssignment) (bool, error) {
	resource, err := a.appRef(r.Resource, true)
	if err != nil {
		return false, err
	}
	who := consent.Assignee{User: r.User}
	switch {
	case r.Client != "":
		if who.ClientAppID, err = a.appRef(r.Client, false); err != nil {
			return false, err
		}
	case r.Group != "":
		if who.Group, err = a.groupRef(ctx, i, r.Group); err != nil {
			return false, err
		}
	}
	return a.m.PutRoleAssignment(ctx, t.ID, resource, strings.TrimSpace(r.Role), who)
}

// ---- last: permissions the seed wants disabled ----

func (a *applier) applyDisabled(ctx context.Context) error {
	for _, d := range a.disable {
		var err error
		if d.role {
			_, err = a.dir.SetAppRoleEnabled(ctx, d.appID, d.value, false)
		} else {
			_, err = a.dir.SetScopeEnabled(ctx, d.appID, d.value, false)
		}
		if err != nil {
			return a.s.errorAt(d.path, err)
		}
	}
	return nil
}
