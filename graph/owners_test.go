package graph_test

import (
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// appNamed is the tenant's application registered as name.
func (e *env) appNamed(t *testing.T, name string) tenant.Application {
	t.Helper()
	apps, err := e.srv.Directory.ListApplications(t.Context(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.DisplayName == name {
			return a
		}
	}
	t.Fatalf("no application %s", name)
	return tenant.Application{}
}

// ownerIDs lists the ids and @odata.types of an application's owners.
func (e *env) ownerIDs(t *testing.T, token, appObjectID string) map[string]string {
	t.Helper()
	return e.ownersAt(t, token, "/applications/"+appObjectID)
}

// ownersAt lists the ids and @odata.types of the owners of the object at
// path.
func (e *env) ownersAt(t *testing.T, token, path string) map[string]string {
	t.Helper()
	status, body, _ := e.call(t, token, "GET", path+"/owners", "")
	if status != 200 {
		t.Fatalf("GET owners = %d %v", status, body)
	}
	out := map[string]string{}
	for _, v := range body["value"].([]any) {
		o := v.(map[string]any)
		out[o["id"].(string)], _ = o["@odata.type"].(string)
	}
	return out
}

// TestOwnedBy: a daemon holding Application.ReadWrite.OwnedBy is the
// owner of the applications it creates and manages those, and no others,
// as in Entra.
func TestOwnedBy(t *testing.T) {
	e := newEnv(t)
	provisioner := e.appToken(t, "Provisioner", "Application.ReadWrite.OwnedBy")
	spID := mustSP(t, e, e.appNamed(t, "Provisioner").AppID)
	other := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Not its own"})
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})

	status, created, _ := e.call(t, provisioner, "POST", "/applications", `{"displayName":"Made by the provisioner"}`)
	if status != 201 {
		t.Fatalf("POST /applications = %d %v", status, created)
	}
	own, ownAppID := created["id"].(string), created["appId"].(string)
	status, created, _ = e.call(t, provisioner, "POST", "/applications", `{"displayName":"Given up by the provisioner"}`)
	if status != 201 {
		t.Fatalf("POST /applications = %d %v", status, created)
	}
	givenUp := created["id"].(string)
	if got := e.ownerIDs(t, provisioner, own); len(got) != 1 || got[spID] != "#microsoft.graph.servicePrincipal" {
		t.Fatalf("owners of the new application = %v; want the provisioner's service principal %s", got, spID)
	}
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"update its own", "PATCH", "/applications/" + own, `{"displayName":"Renamed"}`, 204},
		{"add a secret to its own", "POST", "/applications/" + own + "/addPassword", `{"passwordCredential":{"displayName":"s"}}`, 200},
		{"create its own's service principal", "POST", "/servicePrincipals", `{"appId":"` + ownAppID + `"}`, 201},
		{"create another's service principal", "POST", "/servicePrincipals", `{"appId":"` + other.AppID + `"}`, 403},
		{"create an unknown application's service principal", "POST", "/servicePrincipals", `{"appId":"5f7e0a56-0000-4000-8000-000000000009"}`, 404},
		{"update another", "PATCH", "/applications/" + other.ID, `{"displayName":"Taken"}`, 403},
		{"add a secret to another", "POST", "/applications/" + other.ID + "/addPassword", `{}`, 403},
		{"add an owner to another", "POST", "/applications/" + other.ID + "/owners/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + spID + `"}`, 403},
		{"delete another", "DELETE", "/applications/" + other.ID, "", 403},
		// Graph's application-post-owners: OwnedBy "isn't sufficient to
		// add another owner"; removing one is open to it.
		{"add an owner to its own", "POST", "/applications/" + own + "/owners/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + ada.ID + `"}`, 403},
		{"remove itself from its own", "DELETE", "/applications/" + givenUp + "/owners/" + spID + "/$ref", "", 204},
		{"update one it no longer owns", "PATCH", "/applications/" + givenUp, `{"displayName":"Taken back"}`, 403},
		{"delete its own", "DELETE", "/applications/" + own, "", 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot(t)
			status, body, _ := e.call(t, provisioner, tc.method, tc.path, tc.body)
			if status != tc.want {
				t.Fatalf("%s %s = %d %v; want %d", tc.method, tc.path, status, body, tc.want)
			}
			if status == 403 && (errorCode(body) != "Authorization_RequestDenied" || e.snapshot(t) != before) {
				t.Errorf("refusal %s %v, or the directory changed", errorCode(body), body)
			}
		})
	}
}

// TestOwnersByReference: owners are added by @odata.id and removed by
// their $ref, users and service principals of the tenant; each mistake is
// Graph's error and changes nothing.
func TestOwnersByReference(t *testing.T) {
	e := newEnv(t)
	status, created, _ := e.call(t, e.admin, "POST", "/applications", `{"displayName":"Owned"}`)
	if status != 201 {
		t.Fatalf("POST /applications = %d %v", status, created)
	}
	app := created["id"].(string)
	adminSP := mustSP(t, e, e.appNamed(t, "Bootstrap").AppID)
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	ref := func(id string) string {
		return `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`
	}
	const unknown = "5f7e0a56-0000-4000-8000-000000000009"

	if status, body, _ := e.call(t, e.admin, "POST", "/applications/"+app+"/owners/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/users/`+ada.ID+`"}`); status != 204 {
		t.Fatalf("adding Ada = %d %v", status, body)
	}
	if got := e.ownerIDs(t, e.reader, app); len(got) != 2 || got[ada.ID] != "#microsoft.graph.user" || got[adminSP] != "#microsoft.graph.servicePrincipal" {
		t.Fatalf("owners = %v; want Ada and the creating service principal", got)
	}
	e.runOwnersCases(t, []ownersCase{
		{"an owner twice", "POST", "/applications/" + app + "/owners/$ref", ref(ada.ID), "", 400, "Request_BadRequest"},
		{"an unknown object", "POST", "/applications/" + app + "/owners/$ref", ref(unknown), "", 404, "Request_ResourceNotFound"},
		{"no @odata.id", "POST", "/applications/" + app + "/owners/$ref", `{}`, "", 400, "Request_BadRequest"},
		{"an @odata.id of no directory collection", "POST", "/applications/" + app + "/owners/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/applications/` + ada.ID + `"}`, "", 400, "Request_BadRequest"},
		{"an @odata.id without an id", "POST", "/applications/" + app + "/owners/$ref", `{"@odata.id":"directoryObjects"}`, "", 400, "Request_BadRequest"},
		{"an unknown property", "POST", "/applications/" + app + "/owners/$ref", `{"id":"` + ada.ID + `"}`, "", 400, "Request_BadRequest"},
		{"owners of an unknown application", "POST", "/applications/" + unknown + "/owners/$ref", ref(ada.ID), "", 404, "Request_ResourceNotFound"},
		{"a read role cannot add", "POST", "/applications/" + app + "/owners/$ref", ref(adminSP), e.reader, 403, "Authorization_RequestDenied"},
		{"removing no owner", "DELETE", "/applications/" + app + "/owners/" + unknown + "/$ref", "", "", 404, "Request_ResourceNotFound"},
		{"removing a malformed id", "DELETE", "/applications/" + app + "/owners/nope/$ref", "", "", 400, "Request_BadRequest"},
		{"owners by GET on $ref", "GET", "/applications/" + app + "/owners/$ref", "", "", 405, "Request_BadRequest"},
	})
	if status, body, _ := e.call(t, e.admin, "DELETE", "/applications/"+app+"/owners/"+ada.ID+"/$ref", ""); status != 204 {
		t.Fatalf("removing Ada = %d %v", status, body)
	}
	if got := e.ownerIDs(t, e.admin, app); len(got) != 1 || got[adminSP] == "" {
		t.Errorf("owners after removing Ada = %v; want the service principal alone", got)
	}
	// A deleted owner drops out of the list, as Graph drops a deleted
	// object from the relationships that held it.
	if status, body, _ := e.call(t, e.admin, "POST", "/applications/"+app+"/owners/$ref", ref(ada.ID)); status != 204 {
		t.Fatalf("adding Ada again = %d %v", status, body)
	}
	if status, body, _ := e.call(t, e.admin, "DELETE", "/users/"+ada.ID, ""); status != 204 {
		t.Fatalf("deleting Ada = %d %v", status, body)
	}
	if got := e.ownerIDs(t, e.admin, app); len(got) != 1 || got[ada.ID] != "" {
		t.Errorf("owners after deleting Ada = %v; want her gone", got)
	}
}

// TestOwnerUser: a user with the Application.ReadWrite.All scope and no
// administrator role owns the applications she registers and manages
// those, and not others.
func TestOwnerUser(t *testing.T) {
	e := newEnv(t)
	native := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	if _, _, err := e.srv.Consent.PutGrant(t.Context(), e.tenant, native.AppID, tenant.MicrosoftGraphURI, "", []string{"Application.ReadWrite.All"}); err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, url.Values{"grant_type": {"password"}, "client_id": {native.AppID}, "username": {ada.UserPrincipalName},
		"password": {"Correct-Horse-9"}, "scope": {"https://graph.microsoft.com/Application.ReadWrite.All"}})
	other := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Not hers"})
	status, created, _ := e.call(t, tok, "POST", "/applications", `{"displayName":"Ada's"}`)
	if status != 201 {
		t.Fatalf("POST /applications = %d %v", status, created)
	}
	own := created["id"].(string)
	if got := e.ownerIDs(t, tok, own); len(got) != 1 || got[ada.ID] != "#microsoft.graph.user" {
		t.Fatalf("owners = %v; want Ada", got)
	}
	if status, body, _ := e.call(t, tok, "PATCH", "/applications/"+own, `{"displayName":"Ada's, renamed"}`); status != 204 {
		t.Errorf("PATCH her own = %d %v; want 204", status, body)
	}
	if status, body, _ := e.call(t, tok, "PATCH", "/applications/"+other.ID, `{"displayName":"Taken"}`); status != 403 {
		t.Errorf("PATCH another = %d %v; want 403", status, body)
	}
	if status, body, _ := e.call(t, tok, "POST", "/servicePrincipals", `{"appId":"`+created["appId"].(string)+`"}`); status != 201 {
		t.Errorf("POST the service principal of her own = %d %v; want 201", status, body)
	}
	if status, body, _ := e.call(t, tok, "POST", "/servicePrincipals", `{"appId":"`+other.AppID+`"}`); status != 403 {
		t.Errorf("POST the service principal of another = %d %v; want 403", status, body)
	}
}

// TestServicePrincipalOwners: a service principal's owners, by reference
// as an application's. Owning an application does not make a daemon the
// owner of its service principal (Entra assigns a service principal no
// owner by itself); once it is one, Application.ReadWrite.OwnedBy lets it
// change and delete that service principal and no other.
func TestServicePrincipalOwners(t *testing.T) {
	e := newEnv(t)
	provisioner := e.appToken(t, "Provisioner", "Application.ReadWrite.OwnedBy")
	provisionerSP := mustSP(t, e, e.appNamed(t, "Provisioner").AppID)
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	status, created, _ := e.call(t, provisioner, "POST", "/applications", `{"displayName":"Made by the provisioner"}`)
	if status != 201 {
		t.Fatalf("POST /applications = %d %v", status, created)
	}
	status, created, _ = e.call(t, provisioner, "POST", "/servicePrincipals", `{"appId":"`+created["appId"].(string)+`"}`)
	if status != 201 {
		t.Fatalf("POST /servicePrincipals = %d %v", status, created)
	}
	own := "/servicePrincipals/" + created["id"].(string)
	other := "/servicePrincipals/" + mustSP(t, e, e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Not its own"}).AppID)
	if got := e.ownersAt(t, e.reader, own); len(got) != 0 {
		t.Fatalf("owners of the new service principal = %v; want none", got)
	}
	ref := func(id string) string {
		return `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`
	}
	const unknown = "5f7e0a56-0000-4000-8000-000000000009"
	e.runOwnersCases(t, []ownersCase{
		{"an owner of the application is none of its service principal", "PATCH", own, `{"appRoleAssignmentRequired":true}`, provisioner, 403, "Authorization_RequestDenied"},
		{"the administrator adds the provisioner", "POST", own + "/owners/$ref", ref(provisionerSP), "", 204, ""},
		{"the owner changes it", "PATCH", own, `{"appRoleAssignmentRequired":true}`, provisioner, 204, ""},
		{"the owner adds a user", "POST", own + "/owners/$ref", ref(ada.ID), provisioner, 204, ""},
		{"an owner twice", "POST", own + "/owners/$ref", ref(ada.ID), "", 400, "Request_BadRequest"},
		{"an unknown object", "POST", own + "/owners/$ref", ref(unknown), "", 404, "Request_ResourceNotFound"},
		{"owners of an unknown service principal", "POST", "/servicePrincipals/" + unknown + "/owners/$ref", ref(ada.ID), "", 404, "Request_ResourceNotFound"},
		{"a read role cannot add", "POST", own + "/owners/$ref", ref(ada.ID), e.reader, 403, "Authorization_RequestDenied"},
		{"the owner may not change another", "PATCH", other, `{"appRoleAssignmentRequired":true}`, provisioner, 403, "Authorization_RequestDenied"},
		{"the owner may not delete another", "DELETE", other, "", provisioner, 403, "Authorization_RequestDenied"},
		{"the owner may not add owners to another", "POST", other + "/owners/$ref", ref(provisionerSP), provisioner, 403, "Authorization_RequestDenied"},
		{"removing no owner", "DELETE", own + "/owners/" + unknown + "/$ref", "", "", 404, "Request_ResourceNotFound"},
		{"the owner removes the user", "DELETE", own + "/owners/" + ada.ID + "/$ref", "", provisioner, 204, ""},
		{"the owner deletes it", "DELETE", own, "", provisioner, 204, ""},
	})
}

// ownersCase is one call of an owners test, in order: the caller's token
// (the admin's when empty) and Graph's expected status and error code.
type ownersCase struct {
	name, method, path, body, token string
	wantStatus                      int
	wantCode                        string
}

// runOwnersCases makes the calls in order, each a subtest; a refused call
// must leave the directory, owners included, as it was.
func (e *env) runOwnersCases(t *testing.T, cases []ownersCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			if token == "" {
				token = e.admin
			}
			before := e.snapshot(t)
			status, body, _ := e.call(t, token, tc.method, tc.path, tc.body)
			if status != tc.wantStatus || errorCode(body) != tc.wantCode {
				t.Fatalf("%s %s = %d %s; want %d %s (%v)", tc.method, tc.path, status, errorCode(body), tc.wantStatus, tc.wantCode, body)
			}
			if status >= 400 && e.snapshot(t) != before {
				t.Error("a refused call changed the directory")
			}
		})
	}
}

// userToken is a delegated Graph token of the user upn (password
// Correct-Horse-9) through a public client consented to scopes.
func (e *env) userToken(t *testing.T, upn string, scopes ...string) string {
	t.Helper()
	native := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Native " + strings.Join(scopes, " "), PublicClient: true})
	if _, _, err := e.srv.Consent.PutGrant(t.Context(), e.tenant, native.AppID, tenant.MicrosoftGraphURI, "", scopes); err != nil {
		t.Fatal(err)
	}
	full := make([]string, len(scopes))
	for i, s := range scopes {
		full[i] = "https://graph.microsoft.com/" + s
	}
	return e.token(t, url.Values{"grant_type": {"password"}, "client_id": {native.AppID}, "username": {upn},
		"password": {"Correct-Horse-9"}, "scope": {strings.Join(full, " ")}})
}

// TestOwnedObjects: a service principal's and a user's ownedObjects are
// the applications and service principals they own, each with its
// @odata.type; a caller that may not read applications sees their ids and
// types alone, as Graph answers for inaccessible member objects. A user's
// ownedObjects are delegated only, as in Graph.
func TestOwnedObjects(t *testing.T) {
	e := newEnv(t)
	provisioner := e.appToken(t, "Provisioner", "Application.ReadWrite.OwnedBy")
	provisionerSP := mustSP(t, e, e.appNamed(t, "Provisioner").AppID)
	e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	ada := e.userToken(t, "ada@contoso.onmicrosoft.com", "Application.ReadWrite.All", "User.Read.All")
	adaProfile := e.userToken(t, "ada@contoso.onmicrosoft.com", "User.Read")
	_, made, _ := e.call(t, provisioner, "POST", "/applications", `{"displayName":"Made by the provisioner"}`)
	_, hers, _ := e.call(t, ada, "POST", "/applications", `{"displayName":"Ada's"}`)
	given := mustSP(t, e, e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Given"}).AppID)
	if status, body, _ := e.call(t, e.admin, "POST", "/servicePrincipals/"+given+"/owners/$ref",
		`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/`+provisionerSP+`"}`); status != 204 {
		t.Fatalf("adding the provisioner as an owner = %d %v", status, body)
	}
	_, me, _ := e.call(t, adaProfile, "GET", "/me", "")
	const unknown = "5f7e0a56-0000-4000-8000-000000000009"

	for _, tc := range []struct {
		name, token, path string
		want              map[string]string // id -> @odata.type
		limited           bool
	}{
		{"a service principal's", provisioner, "/servicePrincipals/" + provisionerSP + "/ownedObjects",
			map[string]string{made["id"].(string): "#microsoft.graph.application", given: "#microsoft.graph.servicePrincipal"}, false},
		{"a user's", ada, "/users/" + me["id"].(string) + "/ownedObjects",
			map[string]string{hers["id"].(string): "#microsoft.graph.application"}, false},
		{"/me", ada, "/me/ownedObjects", map[string]string{hers["id"].(string): "#microsoft.graph.application"}, false},
		{"/me with User.Read alone", adaProfile, "/me/ownedObjects", map[string]string{hers["id"].(string): "#microsoft.graph.application"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.call(t, tc.token, "GET", tc.path, "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", tc.path, status, body)
			}
			got := map[string]string{}
			for _, v := range body["value"].([]any) {
				o := v.(map[string]any)
				got[o["id"].(string)], _ = o["@odata.type"].(string)
				if _, named := o["displayName"]; named == tc.limited {
					t.Errorf("GET %s: %v; want displayName only when the caller may read applications (limited %v)", tc.path, o, tc.limited)
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("GET %s = %v; want %v", tc.path, got, tc.want)
			}
		})
	}
	e.runOwnersCases(t, []ownersCase{
		{"a user's, app-only", "GET", "/users/" + me["id"].(string) + "/ownedObjects", "", e.admin, 403, "Authorization_RequestDenied"},
		{"/me, app-only", "GET", "/me/ownedObjects", "", e.admin, 400, "BadRequest"},
		{"an unknown service principal's", "GET", "/servicePrincipals/" + unknown + "/ownedObjects", "", "", 404, "Request_ResourceNotFound"},
		{"an unknown user's", "GET", "/users/" + unknown + "/ownedObjects", "", ada, 404, "Request_ResourceNotFound"},
		{"a service principal's without a read permission", "GET", "/servicePrincipals/" + provisionerSP + "/ownedObjects", "", adaProfile, 403, "Authorization_RequestDenied"},
	})
}
