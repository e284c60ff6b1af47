package tenant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Directory applies the directory's rules over a Store: how tenants,
// applications, service principals, secrets and users come to be. It is the
// one implementation behind the CLI, seed files and the admin API.
type Directory struct {
	store Store
	now   func() time.Time
	newID func() string
	rand  io.Reader
}

// Option configures a Directory.
type Option func(*Directory)

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(d *Directory) { d.now = now } }

// WithIDs sets the GUID source for new objects (default NewGUID).
func WithIDs(newID func() string) Option { return func(d *Directory) { d.newID = newID } }

// WithRandom sets the source of secrets and salts (default crypto/rand).
func WithRandom(r io.Reader) Option { return func(d *Directory) { d.rand = r } }

// NewDirectory returns a Directory over s.
func NewDirectory(s Store, opts ...Option) *Directory {
	d := &Directory{store: s, now: time.Now, newID: NewGUID, rand: rand.Reader}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Now returns the directory's current time.
func (d *Directory) Now() time.Time { return d.now() }

// ---- tenants ----

// TenantSpec describes a tenant to create.
type TenantSpec struct {
	Name    string   // display name; also forms the initial domain
	Domains []string // extra domains
	ID      string   // fixed GUID, or empty for a new one
}

// CreateTenant creates a tenant with the initial domain <name>.onmicrosoft.com
// followed by any extra domains.
func (d *Directory) CreateTenant(ctx context.Context, spec TenantSpec) (Tenant, error) {
	t, err := d.newTenant(spec)
	if err != nil {
		return Tenant{}, err
	}
	// The tenant and its Microsoft Graph service principal are one
	// transaction where the store can batch: a tenant always has Graph.
	err = d.Batch(ctx, func(ctx context.Context) error {
		if err := d.store.CreateTenant(ctx, t); err != nil {
			return fmt.Errorf("creating tenant %s: %w", t.DisplayName, err)
		}
		return d.EnsureMicrosoftGraph(ctx, []string{t.ID})
	})
	if err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// newTenant builds the tenant CreateTenant stores (and BulkCreate).
func (d *Directory) newTenant(spec TenantSpec) (Tenant, error) {
	initial, err := InitialDomain(spec.Name)
	if err != nil {
		return Tenant{}, err
	}
	domains := []string{initial}
	for _, dom := range spec.Domains {
		v, err := ValidateDomain(dom)
		if err != nil {
			return Tenant{}, err
		}
		if !slices.Contains(domains, v) {
			domains = append(domains, v)
		}
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return Tenant{}, err
	}
	return Tenant{ID: id, DisplayName: strings.TrimSpace(spec.Name), Domains: domains,
		UserConsent: UserConsentAllowed, CreatedDateTime: d.now().UTC()}, nil
}

func (d *Directory) idOrNew(id string) (string, error) {
	if id == "" {
		return d.newID(), nil
	}
	return CanonicalGUID(id)
}

// ResolveTenant finds a tenant by GUID or by any of its domains, in any case.
func (d *Directory) ResolveTenant(ctx context.Context, ref string) (Tenant, error) {
	return ResolveTenant(ctx, d.store, ref)
}

// ListTenants lists every tenant but Microsoft's own, which exists only to
// home Microsoft Graph.
func (d *Directory) ListTenants(ctx context.Context) ([]Tenant, error) {
	ts, err := d.store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ts, func(t Tenant) bool { return firstPartyTenant(t.ID) }), nil
}

// UpdateTenant applies update to the tenant named by ref.
func (d *Directory) UpdateTenant(ctx context.Context, ref string, update func(*Tenant) error) (Tenant, error) {
	t, err := d.ResolveTenant(ctx, ref)
	if err != nil {
		return Tenant{}, err
	}
	if firstPartyTenant(t.ID) {
		return Tenant{}, refuseFirstParty("tenant " + t.DisplayName)
	}
	err = d.store.UpdateTenant(ctx, t.ID, func(t2 *Tenant) error {
		if err := update(t2); err != nil {
			return err
		}
		t = *t2
		return nil
	})
	return t, err
}

// AddDomain adds a domain to a tenant.
func (d *Directory) AddDomain(ctx context.Context, ref, domain string) (Tenant, error) {
	v, err := ValidateDomain(domain)
	if err != nil {
		return Tenant{}, err
	}
	return d.UpdateTenant(ctx, ref, func(t *Tenant) error {
		if !slices.Contains(t.Domains, v) {
			t.Domains = append(t.Domains, v)
		}
		return nil
	})
}

// RemoveTenant deletes a tenant and everything in it.
func (d *Directory) RemoveTenant(ctx context.Context, ref string) error {
	t, err := d.ResolveTenant(ctx, ref)
	if err != nil {
		return err
	}
	if firstPartyTenant(t.ID) {
		return refuseFirstParty("tenant " + t.DisplayName)
	}
	return d.store.DeleteTenant(ctx, t.ID)
}

// ---- applications ----

// ApplicationSpec describes an application to register.
type ApplicationSpec struct {
	DisplayName    string
	IdentifierURIs []string
	// TokenVersion is requestedAccessTokenVersion: 0 (unset), 1 or 2.
	TokenVersion int
	MultiTenant  bool
	PublicClient bool
	AppID        string // fixed appId, or empty for a new one
	ObjectID     string // fixed object id, or empty for a new one
	// ServicePrincipalID fixes the object id of the home tenant's service
	// principal (the oid of the application's app-only tokens), or empty
	// for a new one.
	ServicePrincipalID string
	// Owner is the object id of the user or service principal registering
	// the application through Graph, which Entra makes its first owner; empty
	// for none (the CLI and seeds register applications as no one).
	Owner string
	// Redirect URIs of the web, spa and publicClient platforms.
	WebRedirectURIs, SPARedirectURIs, PublicClientRedirectURIs []string
}

// RegisterApplication registers an application in its home tenant and creates
// its service principal there, as the Entra portal does.
func (d *Directory) RegisterApplication(ctx context.Context, tenantRef string, spec ApplicationSpec) (Application, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Application{}, err
	}
	app, sp, err := d.newApplication(t, spec)
	if err != nil {
		return Application{}, err
	}
	if err := d.store.CreateApplication(ctx, app, sp); err != nil {
		return Application{}, fmt.Errorf("registering application %s: %w", app.DisplayName, err)
	}
	return app, nil
}

// newApplication builds the application RegisterApplication stores in its
// home tenant t, and its service principal there (and BulkCreate).
func (d *Directory) newApplication(t Tenant, spec ApplicationSpec) (Application, ServicePrincipal, error) {
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" || len(name) > 120 {
		return Application{}, ServicePrincipal{}, fmt.Errorf("%w: application name must have 1 to 120 characters", ErrInvalid)
	}
	appID, err := d.idOrNew(spec.AppID)
	if err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	objectID, err := d.idOrNew(spec.ObjectID)
	if err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	spID, err := d.idOrNew(spec.ServicePrincipalID)
	if err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	app := Application{
		ID: objectID, AppID: appID, HomeTenantID: t.ID, DisplayName: name,
		SignInAudience: AudienceMyOrg, IdentifierURIs: []string{},
		AppRoles: []AppRole{}, RequiredResourceAccess: []RequiredResourceAccess{},
		PasswordCredentials: []PasswordCredential{}, KeyCredentials: []KeyCredential{},
		API:                    API{OAuth2PermissionScopes: []PermissionScope{}},
		IsFallbackPublicClient: spec.PublicClient, CreatedDateTime: d.now().UTC(),
	}
	if spec.MultiTenant {
		app.SignInAudience = AudienceMultipleOrgs
	}
	if spec.Owner != "" {
		owner, err := CanonicalGUID(spec.Owner)
		if err != nil {
			return Application{}, ServicePrincipal{}, err
		}
		app.Owners = []string{owner}
	}
	if err := SetTokenVersion(&app, spec.TokenVersion); err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	if err := setIdentifierURIs(&app, t, spec.IdentifierURIs); err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	if err := setPlatforms(&app, &spec.WebRedirectURIs, &spec.SPARedirectURIs, &spec.PublicClientRedirectURIs); err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	return app, newServicePrincipal(spID, t.ID, app), nil
}

// SetTokenVersion sets requestedAccessTokenVersion: 0 clears it (v1 tokens),
// 1 or 2 set it.
func SetTokenVersion(app *Application, v int) error {
	switch v {
	case 0:
		app.API.RequestedAccessTokenVersion = nil
	case 1, 2:
		app.API.RequestedAccessTokenVersion = &v
	default:
		return fmt.Errorf("%w: token version must be 1 or 2, not %d", ErrInvalid, v)
	}
	return nil
}

// setIdentifierURIs validates and sets the App ID URIs. Entra requires an
// https (or http) URI's host to be a verified domain of the home tenant, or a
// subdomain of one. An api:// URI whose first part is a GUID must name the
// application's own appId (api://{appId}) or its home tenant's id
// (api://{tenantId}/…): Entra's identifier URI rules allow those forms only
// with the app's own ids, so that no application, multi-tenant ones
// included, can claim the URI another application's id makes its default
// (https://learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions).
// Other api:// and urn: URIs are free.
func setIdentifierURIs(app *Application, home Tenant, uris []string) error {
	out := []string{}
	seen := map[string]bool{}
	for _, u := range uris {
		u = strings.TrimSpace(u)
		if err := ValidateIdentifierURI(u); err != nil {
			return err
		}
		p, _ := url.Parse(u)
		switch {
		case (p.Scheme == "https" || p.Scheme == "http") && !hostInDomains(FoldASCII(p.Hostname()), home.Domains):
			return fmt.Errorf("%w: identifier URI %q must use a domain of tenant %s (%s), or api://",
				ErrInvalid, u, home.DisplayName, strings.Join(home.Domains, ", "))
		case FoldASCII(p.Scheme) == "api" && IsGUID(p.Host) && !EqualFoldASCII(p.Host, app.AppID) && !EqualFoldASCII(p.Host, home.ID):
			return fmt.Errorf("%w: identifier URI %q: an api:// URI that starts with a GUID must use the application's own appId (api://%s) or its home tenant's id (api://%s/…)",
				ErrInvalid, u, app.AppID, home.ID)
		}
		if n := NormalizeName(u); !seen[n] {
			seen[n] = true
			out = append(out, u)
		}
	}
	app.IdentifierURIs = out
	return nil
}

// setPlatforms validates and sets the redirect URIs of each platform whose
// list is not nil.
func setPlatforms(app *Application, web, spa, public *[]string) error {
	for _, pl := range []struct {
		p    Platform
		uris *[]string
		dst  *RedirectURIs
	}{{PlatformWeb, web, &app.Web}, {PlatformSPA, spa, &app.SPA}, {PlatformPublicClient, public, &app.PublicClient}} {
		if pl.uris == nil {
			if pl.dst.RedirectURIs == nil {
				pl.dst.RedirectURIs = []string{}
			}
			continue
		}
		uris, err := setRedirectURIs(pl.p, *pl.uris)
		if err != nil {
			return err
		}
		pl.dst.RedirectURIs = uris
	}
	return nil
}

func hostInDomains(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// GetApplication returns an application by appId.
func (d *Directory) GetApplication(ctx context.Context, appID string) (Application, error) {
	id, err := CanonicalGUID(strings.TrimSpace(appID))
	if err != nil {
		return Application{}, err
	}
	return d.store.GetApplication(ctx, id)
}

// ListApplications lists the app registrations homed in a tenant: its
// applications, without those behind managed identities.
func (d *Directory) ListApplications(ctx context.Context, tenantRef string) ([]Application, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	apps, err := d.store.ListApplications(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	// A managed identity's application is not an app registration: Entra
	// lists it with no application, only as its service principal.
	sps, err := d.store.ListServicePrincipals(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	identities := map[string]bool{}
	for _, sp := range sps {
		if sp.IsManagedIdentity() {
			identities[sp.AppID] = true
		}
	}
	return slices.DeleteFunc(apps, func(a Application) bool { return identities[a.AppID] }), nil
}

// ApplicationUpdate lists the changes `app update` may make; nil fields are
// left alone.
type ApplicationUpdate struct {
	DisplayName    *string
	IdentifierURIs *[]string
	TokenVersion   *int
	MultiTenant    *bool
	PublicClient   *bool
	// Redirect URIs replace the platform's list when set.
	WebRedirectURIs, SPARedirectURIs, PublicClientRedirectURIs *[]string
	// OptionalClaims replaces the application's optional claims when set.
	OptionalClaims *OptionalClaims
	// AccessTokenLifetime sets the application's token lifetime policy
	// when set; zero removes it.
	AccessTokenLifetime *time.Duration
	// AppRoles, Scopes and RequiredResourceAccess replace the whole
	// collection when set, as a Graph PATCH does (ReplaceAppRoles).
	AppRoles               *[]AppRole
	Scopes                 *[]PermissionScope
	RequiredResourceAccess *[]RequiredResourceAccess
	// KeyCredentials replaces the certificates when set.
	KeyCredentials *[]KeyCredentialSpec
	// GroupMembershipClaims sets the groups claim (ParseGroupClaims);
	// empty or "None" removes it.
	GroupMembershipClaims *string
}

// UpdateApplication applies the changes in u.
func (d *Directory) UpdateApplication(ctx context.Context, appID string, u ApplicationUpdate) (Application, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return Application{}, err
	}
	home, err := d.store.GetTenant(ctx, app.HomeTenantID)
	if err != nil {
		return Application{}, err
	}
	return d.updateApplication(ctx, app.AppID, func(a *Application) error { return d.applyUpdate(a, home, u) })
}

// CreateApplication registers an application in its home tenant with the
// changes of u applied before it is stored, in one write: Graph's POST
// /applications, whose body may carry everything an update may.
func (d *Directory) CreateApplication(ctx context.Context, tenantRef string, spec ApplicationSpec, u ApplicationUpdate) (Application, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Application{}, err
	}
	if firstPartyTenant(t.ID) {
		return Application{}, refuseFirstParty("tenant " + t.DisplayName)
	}
	app, sp, err := d.newApplication(t, spec)
	if err != nil {
		return Application{}, err
	}
	if err := d.applyUpdate(&app, t, u); err != nil {
		return Application{}, err
	}
	if err := d.store.CreateApplication(ctx, app, sp); err != nil {
		return Application{}, fmt.Errorf("registering application %s: %w", app.DisplayName, err)
	}
	return app, nil
}

// applyUpdate makes the changes of u to a, homed in home.
func (d *Directory) applyUpdate(a *Application, home Tenant, u ApplicationUpdate) error {
	if u.DisplayName != nil {
		n := strings.TrimSpace(*u.DisplayName)
		if n == "" || len(n) > 120 {
			return fmt.Errorf("%w: application name must have 1 to 120 characters", ErrInvalid)
		}
		a.DisplayName = n
	}
	if u.OptionalClaims != nil {
		oc := *u.OptionalClaims
		if err := oc.Validate(); err != nil {
			return err
		}
		a.OptionalClaims = &oc
		if oc.IsZero() {
			a.OptionalClaims = nil
		}
	}
	if u.TokenVersion != nil {
		if err := SetTokenVersion(a, *u.TokenVersion); err != nil {
			return err
		}
	}
	if u.AccessTokenLifetime != nil {
		p := TokenLifetimePolicy{AccessTokenLifetime: *u.AccessTokenLifetime}
		if err := p.Validate(); err != nil {
			return err
		}
		a.TokenLifetimePolicy = &p
		if p.AccessTokenLifetime == 0 {
			a.TokenLifetimePolicy = nil
		}
	}
	if u.MultiTenant != nil {
		a.SignInAudience = AudienceMyOrg
		if *u.MultiTenant {
			a.SignInAudience = AudienceMultipleOrgs
		}
	}
	if u.PublicClient != nil {
		a.IsFallbackPublicClient = *u.PublicClient
	}
	if err := setPlatforms(a, u.WebRedirectURIs, u.SPARedirectURIs, u.PublicClientRedirectURIs); err != nil {
		return err
	}
	if u.AppRoles != nil {
		if err := d.replaceAppRoles(a, *u.AppRoles); err != nil {
			return err
		}
	}
	if u.Scopes != nil {
		if err := d.replaceScopes(a, *u.Scopes); err != nil {
			return err
		}
	}
	if u.RequiredResourceAccess != nil {
		if err := replaceRequiredResourceAccess(a, *u.RequiredResourceAccess); err != nil {
			return err
		}
	}
	if u.KeyCredentials != nil {
		if err := d.replaceKeyCredentials(a, *u.KeyCredentials); err != nil {
			return err
		}
	}
	if u.GroupMembershipClaims != nil {
		_, v, err := ParseGroupClaims(*u.GroupMembershipClaims)
		if err != nil {
			return err
		}
		a.GroupMembershipClaims = v
	}
	if u.IdentifierURIs != nil {
		return setIdentifierURIs(a, home, *u.IdentifierURIs)
	}
	return nil
}

// updateApplication runs update in one store transaction and returns the
// application as written.
func (d *Directory) updateApplication(ctx context.Context, appID string, update func(*Application) error) (Application, error) {
	if IsFirstParty(appID) {
		return Application{}, refuseFirstParty("application " + appID)
	}
	var out Application
	err := d.store.UpdateApplication(ctx, appID, func(a *Application) error {
		if err := update(a); err != nil {
			return err
		}
		out = *a
		return nil
	})
	if err != nil {
		return Application{}, fmt.Errorf("updating application %s: %w", appID, err)
	}
	return out, nil
}

// RemoveApplication deletes an application and its service principals.
func (d *Directory) RemoveApplication(ctx context.Context, appID string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	if IsFirstParty(app.AppID) {
		return refuseFirstParty("application " + app.DisplayName)
	}
	return d.store.DeleteApplication(ctx, app.AppID)
}

// PasswordSpec describes a client secret to add.
type PasswordSpec struct {
	DisplayName string
	// Lifetime is how long the secret is valid; zero means it never expires.
	Lifetime time.Duration
	// SecretText fixes the secret (seed files for tests); empty generates one.
	SecretText string
	KeyID      string // fixed keyId, or empty for a new one
}

// minSecretLength keeps fixed secrets out of guessing range; generated
// secrets are much longer.
const minSecretLength = 16

// AddPassword adds a client secret and returns it with its text, which is
// shown this once and never stored.
func (d *Directory) AddPassword(ctx context.Context, appID string, spec PasswordSpec) (PasswordCredential, string, error) {
	if spec.Lifetime < 0 {
		return PasswordCredential{}, "", fmt.Errorf("%w: secret lifetime must not be negative", ErrInvalid)
	}
	secret := spec.SecretText
	if secret == "" {
		var err error
		if secret, err = newSecret(d.rand); err != nil {
			return PasswordCredential{}, "", err
		}
	} else if len(secret) < minSecretLength {
		return PasswordCredential{}, "", fmt.Errorf("%w: a client secret needs at least %d characters", ErrInvalid, minSecretLength)
	}
	keyID, err := d.idOrNew(spec.KeyID)
	if err != nil {
		return PasswordCredential{}, "", err
	}
	start := d.now().UTC()
	var end time.Time
	if spec.Lifetime > 0 {
		end = start.Add(spec.Lifetime)
	}
	cred, err := newPasswordCredential(d.rand, keyID, spec.DisplayName, secret, start, end)
	if err != nil {
		return PasswordCredential{}, "", err
	}
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return PasswordCredential{}, "", err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		for _, c := range a.PasswordCredentials {
			if c.KeyID == cred.KeyID {
				return fmt.Errorf("%w: secret %s", ErrExists, c.KeyID)
			}
		}
		a.PasswordCredentials = append(a.PasswordCredentials, cred)
		return nil
	})
	return cred, secret, err
}

// RemovePassword removes the client secret with the given keyId.
func (d *Directory) RemovePassword(ctx context.Context, appID, keyID string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.PasswordCredentials, func(c PasswordCredential) bool { return strings.EqualFold(c.KeyID, keyID) })
		if i < 0 {
			return fmt.Errorf("secret %s: %w", keyID, ErrNotFound)
		}
		a.PasswordCredentials = slices.Delete(a.PasswordCredentials, i, i+1)
		return nil
	})
	return err
}

// ---- service principals ----

// AddServicePrincipal instantiates an application in a tenant. Only
// multi-tenant applications may be instantiated outside their home tenant.
func (d *Directory) AddServicePrincipal(ctx context.Context, tenantRef, appID string) (ServicePrincipal, error) {
	return d.CreateServicePrincipal(ctx, tenantRef, ServicePrincipalSpec{AppID: appID})
}

// ServicePrincipalSpec describes a service principal to create.
type ServicePrincipalSpec struct {
	AppID string
	ID    string // fixed object id, or empty for a new one
}

// CreateServicePrincipal is AddServicePrincipal with a fixed object id
// allowed, for seed files that reproduce a directory.
func (d *Directory) CreateServicePrincipal(ctx context.Context, tenantRef string, spec ServicePrincipalSpec) (ServicePrincipal, error) {
	appID := spec.AppID
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, err
	}
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	if app.HomeTenantID != t.ID && !app.IsMultiTenant() {
		return ServicePrincipal{}, fmt.Errorf("application %s (%s) in tenant %s: %w",
			app.AppID, app.DisplayName, t.DisplayName, ErrNotMultiTenant)
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	sp := newServicePrincipal(id, t.ID, app)
	if err := d.store.CreateServicePrincipal(ctx, sp); err != nil {
		return ServicePrincipal{}, fmt.Errorf("service principal of %s in %s: %w", app.AppID, t.DisplayName, err)
	}
	return sp, nil
}

// EnsureServicePrincipal returns the application's service principal in the
// tenant, creating it when absent (consent provisions this way). The bool
// reports whether it was created. An existing service principal is returned
// as it is, even if the application has since become single-tenant.
func (d *Directory) EnsureServicePrincipal(ctx context.Context, tenantRef, appID string) (ServicePrincipal, bool, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, false, err
	}
	id, err := CanonicalGUID(strings.TrimSpace(appID))
	if err != nil {
		return ServicePrincipal{}, false, err
	}
	get := func() (ServicePrincipal, error) { return d.store.GetServicePrincipal(ctx, t.ID, id) }
	if sp, err := get(); !errors.Is(err, ErrNotFound) {
		return sp, false, err
	}
	sp, err := d.AddServicePrincipal(ctx, t.ID, id)
	if errors.Is(err, ErrExists) { // created meanwhile by another writer
		sp, err = get()
		return sp, false, err
	}
	return sp, err == nil, err
}

// ListServicePrincipals lists the service principals in a tenant.
func (d *Directory) ListServicePrincipals(ctx context.Context, tenantRef string) ([]ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	return d.store.ListServicePrincipals(ctx, t.ID)
}

// ServicePrincipalUpdate lists the changes `sp update` may make.
type ServicePrincipalUpdate struct {
	AccountEnabled            *bool
	AppRoleAssignmentRequired *bool
}

// UpdateServicePrincipal changes the application's service principal in a tenant.
func (d *Directory) UpdateServicePrincipal(ctx context.Context, tenantRef, appID string, u ServicePrincipalUpdate) (ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, err
	}
	id, err := CanonicalGUID(appID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	if IsFirstParty(id) {
		return ServicePrincipal{}, refuseFirstParty("service principal of " + id)
	}
	var out ServicePrincipal
	err = d.store.UpdateServicePrincipal(ctx, t.ID, id, func(sp *ServicePrincipal) error {
		if u.AccountEnabled != nil {
			sp.AccountEnabled = *u.AccountEnabled
		}
		if u.AppRoleAssignmentRequired != nil {
			sp.AppRoleAssignmentRequired = *u.AppRoleAssignmentRequired
		}
		out = *sp
		return nil
	})
	return out, err
}

// RemoveServicePrincipal deletes the application's service principal in a
// tenant, with the grants and assignments that name it.
func (d *Directory) RemoveServicePrincipal(ctx context.Context, tenantRef, appID string) error {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return err
	}
	id, err := CanonicalGUID(appID)
	if err != nil {
		return err
	}
	if IsFirstParty(id) {
		return refuseFirstParty("service principal of " + id)
	}
	return d.store.DeleteServicePrincipal(ctx, t.ID, id)
}

// FindServicePrincipal resolves an application name (appId or identifier URI)
// to its service principal in the tenant.
func (d *Directory) FindServicePrincipal(ctx context.Context, tenantID, name string) (ServicePrincipal, Application, error) {
	return d.store.FindServicePrincipal(ctx, tenantID, name)
}

// ---- users ----

// UserSpec describes a user to add.
type UserSpec struct {
	UserPrincipalName string
	DisplayName       string
	Password          string // empty: no password
	// PasswordHash is the password as an argon2id PHC string
	// (HashPassword), in place of Password.
	PasswordHash string
	Disabled     bool
	ID           string // fixed object id, or empty for a new one
	// DirectoryRoles are directory role names (ParseDirectoryRole).
	DirectoryRoles []string
	UserAttributes
}

// AddUser adds a user to a tenant. The UPN's domain must be one of the
// tenant's domains, as Entra requires for members.
func (d *Directory) AddUser(ctx context.Context, tenantRef string, spec UserSpec) (User, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return User{}, err
	}
	upn, err := ValidateUPN(spec.UserPrincipalName)
	if err != nil {
		return User{}, err
	}
	if _, domain, _ := strings.Cut(upn, "@"); !slices.Contains(t.Domains, domain) {
		return User{}, fmt.Errorf("%w: the domain of %s is not a domain of tenant %s (%s)",
			ErrInvalid, upn, t.DisplayName, strings.Join(t.Domains, ", "))
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return User{}, err
	}
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" {
		name, _, _ = strings.Cut(upn, "@")
	}
	roles, err := parseDirectoryRoles(spec.DirectoryRoles)
	if err != nil {
		return User{}, err
	}
	u := User{ID: id, TenantID: t.ID, UserPrincipalName: upn, DisplayName: name,
		AccountEnabled: !spec.Disabled, CreatedDateTime: d.now().UTC()}
	if len(roles) > 0 {
		u.DirectoryRoles = roles
	}
	if err := spec.UserAttributes.apply(&u); err != nil {
		return User{}, err
	}
	if u.PasswordHash, err = d.passwordHash(spec.Password, spec.PasswordHash); err != nil {
		return User{}, err
	}
	if u.PasswordHash != "" {
		u.LastPasswordChangeDateTime = u.CreatedDateTime
	}
	if err := d.store.CreateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("adding user %s: %w", upn, err)
	}
	return u, nil
}

// FindUser returns a user by UPN or object id.
func (d *Directory) FindUser(ctx context.Context, tenantID, ref string) (User, error) {
	return FindUser(ctx, d.store, tenantID, ref)
}

// ListUsers lists a tenant's users.
func (d *Directory) ListUsers(ctx context.Context, tenantRef string) ([]User, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	return d.store.ListUsers(ctx, t.ID)
}

// UserUpdate lists the changes `user update` may make.
type UserUpdate struct {
	DisplayName *string
	Password    *string // empty string removes the password
	// PasswordHash sets the password as an argon2id PHC string
	// (HashPassword), in place of Password.
	PasswordHash   *string
	AccountEnabled *bool
	// DirectoryRoles replaces the user's directory roles when set.
	DirectoryRoles *[]string
	UserAttributes
}

// UpdateUser changes a user named by UPN or object id.
func (d *Directory) UpdateUser(ctx context.Context, tenantRef, userRef string, u UserUpdate) (User, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return User{}, err
	}
	cur, err := d.FindUser(ctx, t.ID, userRef)
	if err != nil {
		return User{}, err
	}
	var hash *string
	if u.Password != nil || u.PasswordHash != nil {
		h, err := d.passwordHash(deref(u.Password), deref(u.PasswordHash))
		if err != nil {
			return User{}, err
		}
		hash = &h
	}
	var roles []string
	if u.DirectoryRoles != nil {
		if roles, err = parseDirectoryRoles(*u.DirectoryRoles); err != nil {
			return User{}, err
		}
	}
	var out User
	err = d.store.UpdateUser(ctx, t.ID, cur.ID, func(usr *User) error {
		if err := u.UserAttributes.apply(usr); err != nil {
			return err
		}
		if u.DisplayName != nil {
			usr.DisplayName = strings.TrimSpace(*u.DisplayName)
		}
		if hash != nil {
			// The store revokes the user's password-based refresh
			// tokens at this time (Entra's revocation table).
			usr.PasswordHash, usr.LastPasswordChangeDateTime = *hash, d.now().UTC()
		}
		if u.AccountEnabled != nil {
			usr.AccountEnabled = *u.AccountEnabled
		}
		if u.DirectoryRoles != nil {
			usr.DirectoryRoles = nil
			if len(roles) > 0 {
				usr.DirectoryRoles = roles
			}
		}
		out = *usr
		return nil
	})
	return out, err
}

// RemoveUser deletes a user named by UPN or object id.
func (d *Directory) RemoveUser(ctx context.Context, tenantRef, userRef string) error {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return err
	}
	u, err := d.FindUser(ctx, t.ID, userRef)
	if err != nil {
		return err
	}
	return d.store.DeleteUser(ctx, t.ID, u.ID)
}

// passwordHash returns the hash to store for a password given in clear or
// already hashed (at most one of them; neither: no password).
func (d *Directory) passwordHash(password, hash string) (string, error) {
	switch {
	case password != "" && hash != "":
		return "", fmt.Errorf("%w: give a password or its hash, not both", ErrInvalid)
	case hash != "":
		if err := ValidatePasswordHash(hash); err != nil {
			return "", err
		}
		return hash, nil
	case password != "":
		return hashPassword(d.rand, password)
	}
	return "", nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
