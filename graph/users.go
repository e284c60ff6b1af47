package graph

import (
	"net/http"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// userShape is a user as Graph shows it.
func userShape(u tenant.User) map[string]any {
	m := toMap(u)
	delete(m, "tenantId")
	delete(m, "directoryRoles") // Graph serves them as memberOf, not a property
	for _, p := range []string{"mail", "givenName", "surname", "country"} {
		if _, ok := m[p]; !ok {
			m[p] = nil
		}
	}
	return m
}

// Graph refuses a second user with a userPrincipalName with 400.
var dupUser = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "Another object with the same value for property userPrincipalName already exists."}

func listUsers(h *Handler, rq *request, _ key) (result, *apiError) {
	us, err := h.Directory.ListUsers(rq.ctx, rq.caller.tenant.ID)
	if err != nil {
		return result{}, fromDirectory(err, "", dupUser)
	}
	list, aerr := collect(rq, us, "user", userShape)
	return result{context: "users", list: list}, aerr
}

// user finds a user by object id or userPrincipalName, as Graph's
// /users/{id | userPrincipalName} does.
func (h *Handler) user(rq *request, ref string) (tenant.User, *apiError) {
	u, err := h.Directory.FindUser(rq.ctx, rq.caller.tenant.ID, ref)
	if err != nil {
		return tenant.User{}, fromDirectory(err, ref, dupUser)
	}
	return u, nil
}

func getUser(h *Handler, rq *request, k key) (result, *apiError) {
	u, aerr := h.user(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	obj, aerr := one(rq, userShape(u), "user")
	return result{context: "users/$entity", object: obj}, aerr
}

func getMe(h *Handler, rq *request, _ key) (result, *apiError) {
	if rq.caller.user == nil {
		return result{}, &apiError{status: http.StatusBadRequest, code: codeSegment,
			message: "/me request is only valid with delegated authentication flow."}
	}
	obj, aerr := one(rq, userShape(*rq.caller.user), "user")
	return result{context: "users/$entity", object: obj}, aerr
}

// userBody is what POST and PATCH /users accept.
type userBody struct {
	ODataType         *string `json:"@odata.type"`
	ID                *string `json:"id"`
	AccountEnabled    *bool   `json:"accountEnabled"`
	DisplayName       *string `json:"displayName"`
	UserPrincipalName *string `json:"userPrincipalName"`
	// MailNickname is required by Graph on create; it is not modelled.
	MailNickname    *string `json:"mailNickname"`
	Mail            *string `json:"mail"`
	GivenName       *string `json:"givenName"`
	Surname         *string `json:"surname"`
	Country         *string `json:"country"`
	PasswordProfile *struct {
		ODataType                            *string `json:"@odata.type"`
		Password                             *string `json:"password"`
		ForceChangePasswordNextSignIn        *bool   `json:"forceChangePasswordNextSignIn"`
		ForceChangePasswordNextSignInWithMfa *bool   `json:"forceChangePasswordNextSignInWithMfa"`
	} `json:"passwordProfile"`
}

func (b userBody) attributes() tenant.UserAttributes {
	return tenant.UserAttributes{Mail: b.Mail, GivenName: b.GivenName, Surname: b.Surname, Country: b.Country}
}

func createUser(h *Handler, rq *request, _ key) (result, *apiError) {
	var b userBody
	if err := readBody(rq, &b, "user"); err != nil {
		return result{}, err
	}
	// Graph's required properties of a new user.
	switch {
	case b.ID != nil:
		return result{}, badRequest("Property 'id' is read-only: the directory assigns it.")
	case b.AccountEnabled == nil || b.DisplayName == nil || b.UserPrincipalName == nil || b.MailNickname == nil ||
		b.PasswordProfile == nil || b.PasswordProfile.Password == nil:
		return result{}, badRequest("Properties accountEnabled, displayName, mailNickname, passwordProfile and userPrincipalName are required.")
	}
	u, err := h.Directory.AddUser(rq.ctx, rq.caller.tenant.ID, tenant.UserSpec{
		UserPrincipalName: *b.UserPrincipalName, DisplayName: *b.DisplayName,
		Password: *b.PasswordProfile.Password, Disabled: !*b.AccountEnabled, UserAttributes: b.attributes()})
	if err != nil {
		return result{}, fromDirectory(err, *b.UserPrincipalName, dupUser)
	}
	return result{status: http.StatusCreated, context: "users/$entity", object: userShape(u), location: "users/" + u.ID}, nil
}

func updateUser(h *Handler, rq *request, k key) (result, *apiError) {
	u, aerr := h.user(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	var b userBody
	if err := readBody(rq, &b, "user"); err != nil {
		return result{}, err
	}
	if b.UserPrincipalName != nil && !strings.EqualFold(*b.UserPrincipalName, u.UserPrincipalName) ||
		b.ID != nil && !strings.EqualFold(*b.ID, u.ID) {
		return result{}, badRequest("Changing a user's id or userPrincipalName is not supported by this server.")
	}
	up := tenant.UserUpdate{DisplayName: b.DisplayName, AccountEnabled: b.AccountEnabled, UserAttributes: b.attributes()}
	if b.PasswordProfile != nil && b.PasswordProfile.Password != nil {
		if *b.PasswordProfile.Password == "" {
			return result{}, badRequest("Property passwordProfile.password must not be empty.")
		}
		up.Password = b.PasswordProfile.Password
	}
	if _, err := h.Directory.UpdateUser(rq.ctx, rq.caller.tenant.ID, u.ID, up); err != nil {
		return result{}, fromDirectory(err, u.ID, dupUser)
	}
	return result{status: http.StatusNoContent}, nil
}

func deleteUser(h *Handler, rq *request, k key) (result, *apiError) {
	u, aerr := h.user(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.RemoveUser(rq.ctx, rq.caller.tenant.ID, u.ID); err != nil {
		return result{}, fromDirectory(err, u.ID, dupUser)
	}
	return result{status: http.StatusNoContent}, nil
}

// ---- organization ----

// organizationShape is the tenant as Graph's organization.
func organizationShape(t tenant.Tenant) map[string]any {
	domains := make([]any, len(t.Domains))
	for i, d := range t.Domains {
		domains[i] = map[string]any{"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"}
	}
	return map[string]any{
		"id": t.ID, "displayName": t.DisplayName, "createdDateTime": t.CreatedDateTime,
		"tenantType": "AAD", "verifiedDomains": domains, "deletedDateTime": nil,
	}
}

func listOrganization(h *Handler, rq *request, _ key) (result, *apiError) {
	list, aerr := collect(rq, []tenant.Tenant{rq.caller.tenant}, "organization", organizationShape)
	return result{context: "organization", list: list}, aerr
}

func getOrganization(h *Handler, rq *request, k key) (result, *apiError) {
	if !strings.EqualFold(k.id, rq.caller.tenant.ID) {
		return result{}, notFound(k.id)
	}
	obj, aerr := one(rq, organizationShape(rq.caller.tenant), "organization")
	return result{context: "organization/$entity", object: obj}, aerr
}
