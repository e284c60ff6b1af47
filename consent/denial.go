package consent

import "fmt"

// Reason names the policy rule that refused a request. Package issuer maps
// each to its AADSTS code in one table.
type Reason string

// Reasons, with the Entra error each reproduces.
const (
	ReasonClientNotFound Reason = "client_not_found" // AADSTS700016
	ReasonClientDisabled Reason = "client_disabled"  // AADSTS7000112
	// ReasonClientNoServicePrincipal: the client is registered in the
	// tenant of the request, its home, but its service principal there was
	// deleted (or never created, as `az ad app create` leaves it).
	ReasonClientNoServicePrincipal Reason = "client_missing_service_principal" // AADSTS7000229
	ReasonResourceNotFound         Reason = "resource_not_found"               // AADSTS500011
	ReasonResourceDisabled         Reason = "resource_disabled"                // AADSTS500014
	ReasonClientNotAssigned        Reason = "client_not_assigned"              // AADSTS501051
	ReasonUserNotAssigned          Reason = "user_not_assigned"                // AADSTS50105
	ReasonUserDisabled             Reason = "user_disabled"                    // AADSTS50057
	ReasonScopeNotFound            Reason = "scope_not_found"                  // AADSTS70011
	ReasonConsentRequired          Reason = "consent_required"                 // AADSTS65001
)

// Denial is a policy refusal. It carries the names Entra's message quotes and
// Detail, the directory facts behind the refusal, for `issuer explain` and the
// sign-in log.
type Denial struct {
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`

	TenantID        string `json:"tenantId"`
	TenantName      string `json:"tenantName"`
	ClientAppID     string `json:"clientAppId"`
	ClientName      string `json:"clientName,omitempty"`
	ResourceName    string `json:"resource,omitempty"` // as requested
	ResourceAppID   string `json:"resourceAppId,omitempty"`
	ResourceDisplay string `json:"resourceDisplayName,omitempty"`
	UserPrincipal   string `json:"userPrincipalName,omitempty"`
	// AssignmentAppID and AssignmentAppName name the application whose
	// appRoleAssignmentRequired refused the user (user_not_assigned): the
	// resource, or the client a user signs in to.
	AssignmentAppID   string   `json:"assignmentAppId,omitempty"`
	AssignmentAppName string   `json:"assignmentAppDisplayName,omitempty"`
	Scopes            []string `json:"scopes,omitempty"` // the missing or unknown scopes
}

func (d *Denial) Error() string { return fmt.Sprintf("%s: %s", d.Reason, d.Detail) }

// deny builds a Denial with the names of the request and its facts filled
// in.
func deny(req Request, f Facts, r Reason, format string, args ...any) *Denial {
	d := &Denial{
		Reason: r, Detail: fmt.Sprintf(format, args...),
		TenantID: f.Tenant.ID, TenantName: f.Tenant.DisplayName,
		ClientAppID: req.ClientAppID, ResourceName: req.ResourceName,
	}
	if f.ClientApp != nil {
		d.ClientName = f.ClientApp.DisplayName
	}
	if f.ResourceApp != nil {
		d.ResourceAppID = f.ResourceApp.AppID
		d.ResourceDisplay = f.ResourceApp.DisplayName
	}
	if f.User != nil {
		d.UserPrincipal = f.User.UserPrincipalName
	}
	return d
}
