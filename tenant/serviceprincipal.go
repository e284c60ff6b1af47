package tenant

import (
	"slices"
	"strings"
)

// ServicePrincipal is an application's instance in one tenant. The home tenant
// gets one when the application is registered; another tenant gets one only
// through consent or provisioning, and only for multi-tenant applications.
// Token requests always find clients and resources through the service
// principal of the tenant in the request.
type ServicePrincipal struct {
	ID       string `json:"id"` // object id: the oid of app-only tokens
	AppID    string `json:"appId"`
	TenantID string `json:"tenantId"`
	// AppOwnerOrganizationID is the application's home tenant.
	AppOwnerOrganizationID string `json:"appOwnerOrganizationId"`
	DisplayName            string `json:"displayName"`
	AccountEnabled         bool   `json:"accountEnabled"`
	// AppRoleAssignmentRequired makes Entra refuse tokens for this
	// application as a resource to clients without an app role assignment
	// (AADSTS501051), and refuse users without one (AADSTS50105).
	AppRoleAssignmentRequired bool `json:"appRoleAssignmentRequired"`
	// ServicePrincipalType is Graph's servicePrincipalType: empty (Graph:
	// "Application") for an application's service principal, or
	// ServicePrincipalTypeManagedIdentity.
	ServicePrincipalType string `json:"servicePrincipalType,omitempty"`
	// AlternativeNames are Graph's alternativeNames. A managed identity's
	// are "isExplicit=True" (user-assigned) or "isExplicit=False"
	// (system-assigned) and its Azure resource id (ManagedIdentityResourceID).
	AlternativeNames []string `json:"alternativeNames,omitempty"`
	// Owners are the object ids of the users and service principals of
	// the tenant that own the service principal (Graph's owners
	// relationship, as for an application). An owner holding
	// Application.ReadWrite.OwnedBy may manage it. Owning the application
	// does not make one an owner of its service principals, as in Entra.
	Owners []string `json:"-"`
}

// OwnedBy reports whether the directory object objectID is one of sp's
// owners.
func (sp ServicePrincipal) OwnedBy(objectID string) bool { return ownedBy(sp.Owners, objectID) }

// ServicePrincipalTypeManagedIdentity is the servicePrincipalType of a
// managed identity.
const ServicePrincipalTypeManagedIdentity = "ManagedIdentity"

// IsManagedIdentity reports whether sp is a managed identity.
func (sp ServicePrincipal) IsManagedIdentity() bool {
	return sp.ServicePrincipalType == ServicePrincipalTypeManagedIdentity
}

// ManagedIdentityResourceID returns the Azure resource id of a managed
// identity, the alternative name that is a resource path: the identity's
// own for a user-assigned identity, the resource's it belongs to for a
// system-assigned one. Tokens carry it as xms_mirid.
func (sp ServicePrincipal) ManagedIdentityResourceID() string {
	if !sp.IsManagedIdentity() {
		return ""
	}
	for _, n := range sp.AlternativeNames {
		if strings.HasPrefix(n, "/") {
			return n
		}
	}
	return ""
}

// SystemAssigned reports whether sp is a system-assigned managed identity.
func (sp ServicePrincipal) SystemAssigned() bool {
	return sp.IsManagedIdentity() && slices.Contains(sp.AlternativeNames, "isExplicit=False")
}

// newServicePrincipal instantiates app in tenantID, enabled.
func newServicePrincipal(id, tenantID string, app Application) ServicePrincipal {
	return ServicePrincipal{
		ID: id, AppID: app.AppID, TenantID: tenantID,
		AppOwnerOrganizationID: app.HomeTenantID,
		DisplayName:            app.DisplayName,
		AccountEnabled:         true,
	}
}
