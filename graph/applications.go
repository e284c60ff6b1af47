package graph

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// applicationBody is what POST and PATCH /applications accept: the
// properties this directory models. Read-only properties a client sends
// back after a GET (id, appId, createdDateTime, …) are accepted and must
// not change; others are refused as Graph refuses unknown ones.
type applicationBody struct {
	ODataType              *string                               `json:"@odata.type"`
	ID                     *string                               `json:"id"`
	AppID                  *string                               `json:"appId"`
	CreatedDateTime        *string                               `json:"createdDateTime"`
	DisplayName            *string                               `json:"displayName"`
	SignInAudience         *string                               `json:"signInAudience"`
	IdentifierURIs         *[]string                             `json:"identifierUris"`
	API                    *apiBody                              `json:"api"`
	AppRoles               *[]appRoleBody                        `json:"appRoles"`
	RequiredResourceAccess *[]requiredResourceAccessBody         `json:"requiredResourceAccess"`
	Web                    *redirectBody                         `json:"web"`
	SPA                    *redirectBody                         `json:"spa"`
	PublicClient           *redirectBody                         `json:"publicClient"`
	IsFallbackPublicClient *bool                                 `json:"isFallbackPublicClient"`
	PasswordCredentials    *[]tenant.PasswordCredential          `json:"passwordCredentials"`
	KeyCredentials         *[]keyCredentialBody                  `json:"keyCredentials"`
	OptionalClaims         *tenant.OptionalClaims                `json:"optionalClaims"`
	FederatedCredentials   *[]tenant.FederatedIdentityCredential `json:"federatedIdentityCredentials"`
	// GroupMembershipClaims selects the groups claim, as Terraform's
	// group_membership_claims sets it: "SecurityGroup", "All", "None", …
	GroupMembershipClaims *string `json:"groupMembershipClaims"`
}

type apiBody struct {
	ODataType                   *string                `json:"@odata.type"`
	RequestedAccessTokenVersion *int                   `json:"requestedAccessTokenVersion"`
	OAuth2PermissionScopes      *[]permissionScopeBody `json:"oauth2PermissionScopes"`
}

type permissionScopeBody struct {
	ODataType *string `json:"@odata.type"`
	tenant.PermissionScope
	Origin *string `json:"origin"`
}

type appRoleBody struct {
	ODataType *string `json:"@odata.type"`
	tenant.AppRole
	Origin *string `json:"origin"`
}

type requiredResourceAccessBody struct {
	ODataType      *string              `json:"@odata.type"`
	ResourceAppID  string               `json:"resourceAppId"`
	ResourceAccess []resourceAccessBody `json:"resourceAccess"`
}

type resourceAccessBody struct {
	ODataType *string `json:"@odata.type"`
	ID        string  `json:"id"`
	Type      string  `json:"type"`
}

// keyCredentialBody is one entry of keyCredentials: a certificate to add
// (key, base64 DER, as Graph takes it) or an existing one by keyId. The
// properties Graph computes from the certificate are accepted and ignored.
type keyCredentialBody struct {
	ODataType           *string `json:"@odata.type"`
	KeyID               *string `json:"keyId"`
	Key                 *[]byte `json:"key"`
	DisplayName         *string `json:"displayName"`
	Type                *string `json:"type"`
	Usage               *string `json:"usage"`
	StartDateTime       *string `json:"startDateTime"`
	EndDateTime         *string `json:"endDateTime"`
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	ThumbprintSHA256    *string `json:"thumbprintSha256"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type redirectBody struct {
	ODataType    *string   `json:"@odata.type"`
	RedirectURIs *[]string `json:"redirectUris"`
}

// update turns the body into the directory's update, refusing what this
// subset cannot apply.
func (b applicationBody) update(existing *tenant.Application) (tenant.ApplicationUpdate, *apiError) {
	var u tenant.ApplicationUpdate
	if existing != nil {
		switch {
		case b.ID != nil && !strings.EqualFold(*b.ID, existing.ID), b.AppID != nil && !strings.EqualFold(*b.AppID, existing.AppID):
			return u, badRequest("Property 'id' and 'appId' are read-only and cannot be changed.")
		}
	} else if b.ID != nil || b.AppID != nil {
		return u, badRequest("Property 'id' and 'appId' are read-only: the directory assigns them.")
	}
	if b.PasswordCredentials != nil && len(*b.PasswordCredentials) > 0 {
		return u, badRequest("Property 'passwordCredentials' cannot be set directly: use the addPassword action.")
	}
	if b.FederatedCredentials != nil && len(*b.FederatedCredentials) > 0 {
		return u, badRequest("Property 'federatedIdentityCredentials' cannot be set directly: POST to the application's federatedIdentityCredentials.")
	}
	if b.KeyCredentials != nil {
		specs := make([]tenant.KeyCredentialSpec, len(*b.KeyCredentials))
		for i, k := range *b.KeyCredentials {
			if k.Key == nil && k.KeyID == nil {
				return u, badRequest("Property keyCredentials: each entry needs the key (a base64 DER certificate) or the keyId of a certificate of the application.")
			}
			if k.Key != nil && (k.Type != nil && *k.Type != tenant.KeyTypeAsymmetricX509Cert || k.Usage != nil && *k.Usage != tenant.KeyUsageVerify) {
				return u, badRequest("Property keyCredentials: only type AsymmetricX509Cert with usage Verify is supported.")
			}
			specs[i] = tenant.KeyCredentialSpec{KeyID: deref(k.KeyID), DisplayName: deref(k.DisplayName)}
			if k.Key != nil {
				specs[i].Key = *k.Key
			}
		}
		u.KeyCredentials = &specs
	}
	u.DisplayName = b.DisplayName
	u.IdentifierURIs = b.IdentifierURIs
	u.PublicClient = b.IsFallbackPublicClient
	u.OptionalClaims = b.OptionalClaims
	u.GroupMembershipClaims = b.GroupMembershipClaims
	if b.SignInAudience != nil {
		switch *b.SignInAudience {
		case tenant.AudienceMyOrg:
			u.MultiTenant = ptr(false)
		case tenant.AudienceMultipleOrgs:
			u.MultiTenant = ptr(true)
		default:
			// Personal Microsoft accounts are not modelled.
			return u, badRequest("Property signInAudience: only AzureADMyOrg and AzureADMultipleOrgs are supported, not '%s'.", *b.SignInAudience)
		}
	}
	if b.API != nil {
		u.TokenVersion = b.API.RequestedAccessTokenVersion
		if s := b.API.OAuth2PermissionScopes; s != nil {
			scopes := make([]tenant.PermissionScope, len(*s))
			for i, x := range *s {
				scopes[i] = x.PermissionScope
			}
			u.Scopes = &scopes
		}
	}
	if b.AppRoles != nil {
		roles := make([]tenant.AppRole, len(*b.AppRoles))
		for i, x := range *b.AppRoles {
			roles[i] = x.AppRole
		}
		u.AppRoles = &roles
	}
	if b.RequiredResourceAccess != nil {
		rras := make([]tenant.RequiredResourceAccess, len(*b.RequiredResourceAccess))
		for i, x := range *b.RequiredResourceAccess {
			rras[i] = tenant.RequiredResourceAccess{ResourceAppID: x.ResourceAppID}
			for _, ra := range x.ResourceAccess {
				rras[i].ResourceAccess = append(rras[i].ResourceAccess, tenant.ResourceAccess{ID: ra.ID, Type: ra.Type})
			}
		}
		u.RequiredResourceAccess = &rras
	}
	for _, p := range []struct {
		body *redirectBody
		dst  **[]string
	}{{b.Web, &u.WebRedirectURIs}, {b.SPA, &u.SPARedirectURIs}, {b.PublicClient, &u.PublicClientRedirectURIs}} {
		if p.body != nil && p.body.RedirectURIs != nil {
			*p.dst = p.body.RedirectURIs
		}
	}
	return u, nil
}

func ptr[T any](v T) *T { return &v }

// applicationShape is an application as Graph shows it.
func applicationShape(a tenant.Application) map[string]any {
	m := toMap(a)
	if a.FederatedIdentityCredentials == nil {
		delete(m, "federatedIdentityCredentials")
	}
	// Graph shows an application that never set it with null.
	m["groupMembershipClaims"] = nullIfEmpty(a.GroupMembershipClaims)
	return m
}

var dupApplication = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "Another object with the same value for property identifierUris already exists."}

func listApplications(h *Handler, rq *request, _ key) (result, *apiError) {
	apps, err := h.Directory.ListApplications(rq.ctx, rq.caller.tenant.ID)
	if err != nil {
		return result{}, fromDirectory(err, "", dupApplication)
	}
	list, aerr := collect(rq, apps, "application", applicationShape)
	return result{context: "applications", list: list}, aerr
}

// application finds the application a path names, by object id or by
// appId (the alternate key), among those homed in the caller's tenant.
func (h *Handler) application(rq *request, k key) (tenant.Application, *apiError) {
	ref := k.id
	if k.appID != "" {
		ref = k.appID
	}
	if !tenant.IsGUID(ref) {
		return tenant.Application{}, badRequest("Invalid object identifier '%s'.", ref)
	}
	apps, err := h.Directory.ListApplications(rq.ctx, rq.caller.tenant.ID)
	if err != nil {
		return tenant.Application{}, fromDirectory(err, ref, dupApplication)
	}
	for _, a := range apps {
		if k.appID != "" && strings.EqualFold(a.AppID, ref) || k.appID == "" && strings.EqualFold(a.ID, ref) {
			return a, nil
		}
	}
	return tenant.Application{}, notFound(ref)
}

func getApplication(h *Handler, rq *request, k key) (result, *apiError) {
	a, err := h.application(rq, k)
	if err != nil {
		return result{}, err
	}
	obj, err := one(rq, applicationShape(a), "application")
	return result{context: "applications/$entity", object: obj}, err
}

func createApplication(h *Handler, rq *request, _ key) (result, *apiError) {
	var b applicationBody
	if err := readBody(rq, &b, "application"); err != nil {
		return result{}, err
	}
	if b.DisplayName == nil {
		return result{}, badRequest("Property 'displayName' is required.")
	}
	u, aerr := b.update(nil)
	if aerr != nil {
		return result{}, aerr
	}
	// Entra makes the caller the application's first owner: the user who
	// registers it, and the service principal of an app-only caller
	// holding Application.ReadWrite.OwnedBy ("the calling app is added as
	// an owner", Graph's permissions reference), so that it manages what
	// it created. The reference says nothing of Application.ReadWrite.All;
	// we make that caller an owner too, the one rule for every caller.
	spec := tenant.ApplicationSpec{DisplayName: *b.DisplayName, Owner: rq.caller.objectID()}
	a, err := h.Directory.CreateApplication(rq.ctx, rq.caller.tenant.ID, spec, u)
	if err != nil {
		return result{}, fromDirectory(err, "", dupApplication)
	}
	return result{status: http.StatusCreated, context: "applications/$entity", object: applicationShape(a), location: "applications/" + a.ID}, nil
}

func updateApplication(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b applicationBody
	if err := readBody(rq, &b, "application"); err != nil {
		return result{}, err
	}
	u, aerr := b.update(&a)
	if aerr != nil {
		return result{}, aerr
	}
	if _, err := h.Directory.UpdateApplication(rq.ctx, a.AppID, u); err != nil {
		return result{}, fromDirectory(err, a.ID, dupApplication)
	}
	return result{status: http.StatusNoContent}, nil
}

func deleteApplication(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.RemoveApplication(rq.ctx, a.AppID); err != nil {
		return result{}, fromDirectory(err, a.ID, dupApplication)
	}
	return result{status: http.StatusNoContent}, nil
}

// passwordCredentialBody is the body of addPassword:
// {"passwordCredential": {displayName, endDateTime, startDateTime}}.
type passwordCredentialBody struct {
	PasswordCredential *struct {
		ODataType     *string    `json:"@odata.type"`
		DisplayName   string     `json:"displayName"`
		StartDateTime *time.Time `json:"startDateTime"`
		EndDateTime   *time.Time `json:"endDateTime"`
	} `json:"passwordCredential"`
}

// defaultSecretLifetime is Graph's: addPassword without endDateTime makes
// a secret valid for two years.
const defaultSecretLifetime = 2 * 365 * 24 * time.Hour

func addPassword(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b passwordCredentialBody
	if err := readBody(rq, &b, "passwordCredential"); err != nil {
		return result{}, err
	}
	spec := tenant.PasswordSpec{Lifetime: defaultSecretLifetime}
	if pc := b.PasswordCredential; pc != nil {
		spec.DisplayName = pc.DisplayName
		if pc.StartDateTime != nil && pc.StartDateTime.After(h.Now()) {
			return result{}, badRequest("Property startDateTime in the future is not supported by this server.")
		}
		if pc.EndDateTime != nil {
			if spec.Lifetime = pc.EndDateTime.Sub(h.Now()); spec.Lifetime <= 0 {
				return result{}, badRequest("Property endDateTime must be in the future.")
			}
		}
	}
	cred, secret, err := h.Directory.AddPassword(rq.ctx, a.AppID, spec)
	if err != nil {
		return result{}, fromDirectory(err, a.ID, dupApplication)
	}
	obj := toMap(cred)
	obj["secretText"] = secret // shown this once, as Graph does
	obj["customKeyIdentifier"] = nil
	return result{context: "microsoft.graph.passwordCredential", object: obj}, nil
}

func removePassword(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b struct {
		KeyID string `json:"keyId"`
	}
	if err := readBody(rq, &b, "removePassword"); err != nil {
		return result{}, err
	}
	if !tenant.IsGUID(b.KeyID) {
		return result{}, badRequest("Property keyId must be the GUID of a password credential of the application.")
	}
	if err := h.Directory.RemovePassword(rq.ctx, a.AppID, b.KeyID); err != nil {
		return result{}, fromDirectory(err, b.KeyID, dupApplication)
	}
	return result{status: http.StatusNoContent}, nil
}

func federatedShape(c tenant.FederatedIdentityCredential) map[string]any { return toMap(c) }

func listFederated(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	list, aerr := collect(rq, a.FederatedIdentityCredentials, "federatedIdentityCredential", federatedShape)
	return result{context: "applications('" + a.ID + "')/federatedIdentityCredentials", list: list}, aerr
}

func federated(a tenant.Application, ref string) (tenant.FederatedIdentityCredential, *apiError) {
	for _, c := range a.FederatedIdentityCredentials {
		if strings.EqualFold(c.ID, ref) || strings.EqualFold(c.Name, ref) {
			return c, nil
		}
	}
	return tenant.FederatedIdentityCredential{}, notFound(ref)
}

func getFederated(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	c, aerr := federated(a, k.sub)
	if aerr != nil {
		return result{}, aerr
	}
	obj, aerr := one(rq, federatedShape(c), "federatedIdentityCredential")
	return result{context: "applications('" + a.ID + "')/federatedIdentityCredentials/$entity", object: obj}, aerr
}

var dupFederated = &apiError{status: http.StatusConflict, code: codeDuplicate,
	message: "A federated identity credential with the same name or the same issuer and subject already exists on the application."}

func addFederated(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b struct {
		ODataType *string `json:"@odata.type"`
		tenant.FederatedIdentityCredential
	}
	if err := readBody(rq, &b, "federatedIdentityCredential"); err != nil {
		return result{}, err
	}
	if b.ID != "" {
		return result{}, badRequest("Property 'id' is read-only: the directory assigns it.")
	}
	c, err := h.Directory.AddFederatedIdentityCredential(rq.ctx, a.AppID, b.FederatedIdentityCredential)
	if err != nil {
		return result{}, fromDirectory(err, a.ID, dupFederated)
	}
	return result{status: http.StatusCreated, context: "applications('" + a.ID + "')/federatedIdentityCredentials/$entity",
		object: federatedShape(c), location: "applications/" + a.ID + "/federatedIdentityCredentials/" + c.ID}, nil
}

func deleteFederated(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	c, aerr := federated(a, k.sub)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.RemoveFederatedIdentityCredential(rq.ctx, a.AppID, c.Name); err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return result{}, fromDirectory(err, c.ID, dupFederated)
	}
	return result{status: http.StatusNoContent}, nil
}
