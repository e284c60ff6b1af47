package tenant

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
