package issuer

import (
	"fmt"
	"strings"

	"github.com/issuer-dev/issuer/consent"
)

// denialCodes maps each policy Reason to the AADSTS code Entra answers with
// (protocol.md §4.2, §4.3, §5.2). It is the only place that knows the
// correspondence; codeTable then gives the `error` value and status.
var denialCodes = map[consent.Reason]int{
	consent.ReasonClientNotFound:           CodeApplicationNotFound,
	consent.ReasonClientDisabled:           CodeApplicationDisabled,
	consent.ReasonClientNoServicePrincipal: CodeClientNoSP,
	consent.ReasonResourceNotFound:         CodeResourceNotFound,
	consent.ReasonResourceDisabled:         CodeResourceDisabled,
	consent.ReasonClientNotAssigned:        CodeClientNotAssigned,
	consent.ReasonUserNotAssigned:          CodeUserNotAssigned,
	consent.ReasonUserDisabled:             CodeUserDisabled,
	consent.ReasonScopeNotFound:            CodeInvalidScope,
	consent.ReasonConsentRequired:          CodeConsentRequired,
}

// DenialError turns a policy refusal into the error Entra's token endpoint
// sends for it, with the message filled from the names the Denial carries
// (protocol.md §5.2 templates). The Denial is kept as the cause, so its
// Detail reaches the log but never the client. `issuer explain` uses this to
// show the exact answer a token request would get. An unknown Reason is a
// programming error and becomes AADSTS50000.
func DenialError(d *consent.Denial) *Error {
	if d == nil {
		return serverError(fmt.Errorf("issuer: DenialError(nil)"))
	}
	code, ok := denialCodes[d.Reason]
	if !ok {
		return serverError(fmt.Errorf("issuer: no AADSTS code for denial reason %q: %w", d.Reason, d))
	}
	return &Error{Code: code, Message: denialMessage(code, d), SubError: subErrors[code], Err: d}
}

// denialMessage fills the message template of code from d.
func denialMessage(code int, d *consent.Denial) string {
	tenantName := or(d.TenantName, d.TenantID)
	resource := or(d.ResourceName, d.ResourceAppID)
	switch code {
	case CodeApplicationNotFound:
		return fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. "+
			"This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
			"You may have sent your authentication request to the wrong tenant.", d.ClientAppID, tenantName)
	case CodeApplicationDisabled:
		return fmt.Sprintf("Application '%s'(%s) is disabled.", d.ClientAppID, d.ClientName)
	case CodeClientNoSP:
		// Entra's text, with the link it sends (captured 2024-2025,
		// azure-sdk-for-net#46762, Commercial-Marketplace-SaaS-Accelerator#830).
		return fmt.Sprintf("The client application %s is missing service principal in the tenant %s. "+
			"See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", d.ClientAppID, d.TenantID)
	case CodeResourceNotFound:
		return fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. "+
			"This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
			"You might have sent your authentication request to the wrong tenant.", resource, tenantName)
	case CodeResourceDisabled:
		return fmt.Sprintf("The service principal for resource '%s' is disabled.", resource)
	case CodeClientNotAssigned:
		return fmt.Sprintf("Application '%s'(%s) is not assigned to a role for the application '%s'(%s).",
			d.ClientAppID, d.ClientName, resource, d.ResourceDisplay)
	case CodeUserNotAssigned:
		// Entra's current text (the AADSTS error code reference); the
		// application is the one whose assignment requirement refused the
		// user: the resource, or the client the user signs in to.
		return fmt.Sprintf("Your administrator has configured the application %s ('%s') to block users unless they are specifically granted ('assigned') access to the application. "+
			"The signed in user '%s' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator. "+
			"Please contact your administrator to assign access to this application.",
			or(d.AssignmentAppName, d.ResourceDisplay), or(d.AssignmentAppID, or(d.ResourceAppID, resource)), d.UserPrincipal)
	case CodeUserDisabled:
		return "The user account is disabled."
	case CodeInvalidScope:
		return fmt.Sprintf("The provided request must include a 'scope' input parameter. "+
			"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", strings.Join(d.Scopes, " "))
	case CodeConsentRequired:
		return fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. "+
			"Send an interactive authorization request for this user and resource.", d.ClientAppID, d.ClientName)
	}
	return d.Detail
}

// or returns a unless it is empty, else b.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
