package issuer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
)

// TestDenialError checks the one mapping from policy refusals to Entra's
// answers: code, `error`, status and suberror for every consent.Reason, the
// message filled from the Denial's names, and the Denial kept as the cause.
func TestDenialError(t *testing.T) {
	base := consent.Denial{
		Detail: "directory facts", TenantID: tenantA, TenantName: "Contoso",
		ClientAppID: clientID, ClientName: "Daemon", ResourceName: "api://orders",
		ResourceAppID: ordersID, ResourceDisplay: "Orders API", UserPrincipal: "ada@contoso.com",
		Scopes: []string{"Orders.Read"},
	}
	for _, tc := range []struct {
		reason     consent.Reason
		code       int
		oauth      string
		status     int
		subError   string
		mentioning string // a name the message must quote
	}{
		{consent.ReasonClientNotFound, 700016, "unauthorized_client", 400, "", clientID},
		{consent.ReasonClientDisabled, 7000112, "unauthorized_client", 400, "", "Daemon"},
		{consent.ReasonClientNoServicePrincipal, 7000229, "invalid_client", 401, "", clientID},
		{consent.ReasonResourceNotFound, 500011, "invalid_resource", 400, "", "api://orders"},
		{consent.ReasonResourceDisabled, 500014, "invalid_resource", 400, "", "api://orders"},
		{consent.ReasonClientNotAssigned, 501051, "invalid_client", 400, "", "Orders API"},
		{consent.ReasonUserNotAssigned, 50105, "invalid_grant", 400, "", "ada@contoso.com"},
		{consent.ReasonUserDisabled, 50057, "invalid_grant", 400, "", ""},
		{consent.ReasonScopeNotFound, 70011, "invalid_scope", 400, "", "Orders.Read"},
		{consent.ReasonConsentRequired, 65001, "invalid_grant", 400, "consent_required", clientID},
		{consent.Reason("no_such_reason"), 50000, "server_error", 500, "", ""},
	} {
		t.Run(string(tc.reason), func(t *testing.T) {
			d := base
			d.Reason = tc.reason
			e := issuer.DenialError(&d)
			if e.Code != tc.code || e.OAuthError() != tc.oauth || e.Status() != tc.status || e.SubError != tc.subError {
				t.Errorf("DenialError(%s) = %d %s %d %q; want %d %s %d %q", tc.reason,
					e.Code, e.OAuthError(), e.Status(), e.SubError, tc.code, tc.oauth, tc.status, tc.subError)
			}
			if e.Message == "" || !strings.Contains(e.Message, tc.mentioning) {
				t.Errorf("message %q; want it to quote %q", e.Message, tc.mentioning)
			}
			if strings.Contains(e.Message, "directory facts") {
				t.Errorf("message %q contains the Denial's Detail, which is for the log only", e.Message)
			}
			var got *consent.Denial
			if !errors.As(e, &got) || got != &d {
				t.Errorf("errors.As(DenialError(d)) does not find d")
			}
			if want := fmt.Sprintf("AADSTS%d: %s", tc.code, e.Message); e.Error() != want {
				t.Errorf("Error() = %q; want %q", e.Error(), want)
			}
		})
	}
	if e := issuer.DenialError(nil); e.Code != 50000 {
		t.Errorf("DenialError(nil).Code = %d; want 50000", e.Code)
	}
}

// TestUserNotAssignedNamesTheApplication: AADSTS50105 names the application
// whose assignment requirement refused the user, the client a user signs in
// to as well as the resource, in Entra's current wording.
func TestUserNotAssignedNamesTheApplication(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    consent.Denial
		want string
	}{
		{"resource", consent.Denial{Reason: consent.ReasonUserNotAssigned, UserPrincipal: "ada@contoso.com",
			ResourceAppID: ordersID, ResourceDisplay: "Orders API", AssignmentAppID: ordersID, AssignmentAppName: "Orders API"},
			"the application Orders API ('" + ordersID + "')"},
		{"client", consent.Denial{Reason: consent.ReasonUserNotAssigned, UserPrincipal: "ada@contoso.com",
			ResourceAppID: ordersID, ResourceDisplay: "Orders API", AssignmentAppID: publicID, AssignmentAppName: "CLI"},
			"the application CLI ('" + publicID + "')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := issuer.DenialError(&tc.d)
			if !strings.Contains(e.Message, tc.want) || !strings.Contains(e.Message, "'ada@contoso.com'") {
				t.Errorf("message %q; want it to name %q and the user", e.Message, tc.want)
			}
		})
	}
}
