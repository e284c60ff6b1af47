package tenant

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// A managed identity is, as in Entra, a service principal of type
// ManagedIdentity with an application behind it that has no credentials:
// Azure hands its tokens to code running on a resource through a local
// endpoint (package managedidentity), and nobody signs in as it. Its appId
// is the identity's client id, the service principal's id its object
// (principal) id.
//
// A user-assigned identity is a resource of its own,
// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name};
// a system-assigned one belongs to one Azure resource and bears its name.
// Both carry their resource id among the service principal's
// alternativeNames, as Graph shows them, and tokens carry it as xms_mirid.

// ManagedIdentitySpec describes a managed identity to add.
type ManagedIdentitySpec struct {
	// Name is a user-assigned identity's name, or the name of the Azure
	// resource a system-assigned identity belongs to.
	Name string
	// SystemAssigned makes the identity the system-assigned identity of
	// the resource Name (or ResourceID).
	SystemAssigned bool
	// ResourceID is the Azure resource id: a user-assigned identity's own,
	// a system-assigned identity's resource's. Empty: one is formed from
	// Subscription, ResourceGroup and Name (a system-assigned identity's
	// resource is then a Microsoft.Web site, as an App Service app's).
	ResourceID    string
	Subscription  string // default: the tenant's id
	ResourceGroup string // default: "issuer"
	// ClientID and ObjectID fix the identity's appId and service principal
	// id; empty: new ones.
	ClientID, ObjectID string
}

// azureResourceID is the shape of an Azure resource id Entra accepts as a
// managed identity's: /subscriptions/{GUID}/resourceGroups/{rg}/providers/
// {namespace}/{type}/{name}[/{type}/{name}…]. It and managedIdentityName
// are compiled on first use: their counted repetitions make programs of
// a third of a megabyte, which every start of the binary paid for.
var azureResourceID = lazyRegexp(`^/subscriptions/[0-9a-fA-F-]{36}/resource[gG]roups/[-\w._()]{1,90}/providers/[A-Za-z][\w.]*(/[A-Za-z][\w]*/[-\w.]{1,128})+$`)

// managedIdentityName is what Azure allows in a user-assigned identity's
// or a site's name: letters, digits, hyphens and underscores, 3 to 128,
// starting with a letter or digit.
var managedIdentityName = lazyRegexp(`^[A-Za-z0-9][-\w]{2,127}$`)

// lazyRegexp returns a function that compiles expr on its first call.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// AddManagedIdentity adds a managed identity to a tenant: its application,
// without credentials, and its service principal of type ManagedIdentity.
// App role assignments and every consent rule then apply to it as to any
// service principal.
func (d *Directory) AddManagedIdentity(ctx context.Context, tenantRef string, spec ManagedIdentitySpec) (ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, err
	}
	rid, name, err := ManagedIdentityResource(t, spec)
	if err != nil {
		return ServicePrincipal{}, err
	}
	if _, err := d.FindManagedIdentity(ctx, t.ID, rid); err == nil {
		return ServicePrincipal{}, fmt.Errorf("managed identity %s in tenant %s: %w", rid, t.DisplayName, ErrExists)
	}
	app, sp, err := d.newApplication(t, ApplicationSpec{DisplayName: name, AppID: spec.ClientID, ServicePrincipalID: spec.ObjectID})
	if err != nil {
		return ServicePrincipal{}, err
	}
	explicit := "isExplicit=True"
	if spec.SystemAssigned {
		explicit = "isExplicit=False"
	}
	sp.ServicePrincipalType = ServicePrincipalTypeManagedIdentity
	sp.AlternativeNames = []string{explicit, rid}
	if err := d.store.CreateApplication(ctx, app, sp); err != nil {
		return ServicePrincipal{}, fmt.Errorf("adding managed identity %s: %w", name, err)
	}
	return sp, nil
}

// ManagedIdentityResource returns the resource id and display name of the
// identity spec describes in tenant t, or why spec is invalid.
func ManagedIdentityResource(t Tenant, spec ManagedIdentitySpec) (id, name string, err error) {
	if spec.ResourceID != "" {
		id = strings.TrimRight(strings.TrimSpace(spec.ResourceID), "/")
		if !azureResourceID().MatchString(id) {
			return "", "", fmt.Errorf("%w: %q is not an Azure resource id (/subscriptions/{GUID}/resourceGroups/{group}/providers/{namespace}/{type}/{name})", ErrInvalid, spec.ResourceID)
		}
		name = id[strings.LastIndexByte(id, '/')+1:]
		if !spec.SystemAssigned && !strings.Contains(strings.ToLower(id), "/providers/microsoft.managedidentity/userassignedidentities/") {
			return "", "", fmt.Errorf("%w: a user-assigned identity's resource id names Microsoft.ManagedIdentity/userAssignedIdentities", ErrInvalid)
		}
		return id, name, nil
	}
	name = strings.TrimSpace(spec.Name)
	if !managedIdentityName().MatchString(name) {
		return "", "", fmt.Errorf("%w: %q: a managed identity or resource name has 3 to 128 letters, digits, hyphens or underscores", ErrInvalid, spec.Name)
	}
	sub := strings.TrimSpace(spec.Subscription)
	if sub == "" {
		sub = t.ID
	}
	if _, err := CanonicalGUID(sub); err != nil {
		return "", "", fmt.Errorf("subscription: %w", err)
	}
	group := strings.TrimSpace(spec.ResourceGroup)
	if group == "" {
		group = "issuer"
	}
	provider := "Microsoft.ManagedIdentity/userAssignedIdentities"
	if spec.SystemAssigned {
		provider = "Microsoft.Web/sites"
	}
	id = "/subscriptions/" + strings.ToLower(sub) + "/resourcegroups/" + group + "/providers/" + provider + "/" + name
	if !azureResourceID().MatchString(id) {
		return "", "", fmt.Errorf("%w: resource group %q", ErrInvalid, group)
	}
	return id, name, nil
}

// ListManagedIdentities lists a tenant's managed identities.
func (d *Directory) ListManagedIdentities(ctx context.Context, tenantRef string) ([]ServicePrincipal, error) {
	sps, err := d.ListServicePrincipals(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	var out []ServicePrincipal
	for _, sp := range sps {
		if sp.IsManagedIdentity() {
			out = append(out, sp)
		}
	}
	return out, nil
}

// FindManagedIdentity finds a tenant's managed identity by client id
// (appId), object (principal) id, resource id or display name, in any case.
// A name two identities share is ambiguous (ErrInvalid).
func (d *Directory) FindManagedIdentity(ctx context.Context, tenantRef, ref string) (ServicePrincipal, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return ServicePrincipal{}, err
	}
	all, err := d.ListManagedIdentities(ctx, t.ID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	ref = strings.TrimSpace(ref)
	var byName []ServicePrincipal
	for _, sp := range all {
		switch {
		case strings.EqualFold(sp.AppID, ref), strings.EqualFold(sp.ID, ref),
			strings.EqualFold(sp.ManagedIdentityResourceID(), ref):
			return sp, nil
		case strings.EqualFold(sp.DisplayName, ref):
			byName = append(byName, sp)
		}
	}
	switch len(byName) {
	case 0:
		return ServicePrincipal{}, fmt.Errorf("managed identity %q in tenant %s: %w", ref, t.DisplayName, ErrNotFound)
	case 1:
		return byName[0], nil
	}
	return ServicePrincipal{}, fmt.Errorf("%w: %d managed identities of tenant %s are named %q; name one by client id or resource id", ErrInvalid, len(byName), t.DisplayName, ref)
}

// RemoveManagedIdentity deletes a managed identity: its application and
// service principal, with the grants and assignments that name it.
func (d *Directory) RemoveManagedIdentity(ctx context.Context, tenantRef, ref string) error {
	sp, err := d.FindManagedIdentity(ctx, tenantRef, ref)
	if err != nil {
		return err
	}
	return d.RemoveApplication(ctx, sp.AppID)
}
