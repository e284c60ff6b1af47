package graph

import (
	"net/http"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// grantShape is an oAuth2PermissionGrant as Graph shows it: principalId is
// null on an AllPrincipals grant.
func grantShape(g consent.GrantEntry) map[string]any {
	m := toMap(g.PermissionGrant)
	delete(m, "tenantId")
	if g.ConsentType == consent.AllPrincipals {
		m["principalId"] = nil
	}
	return m
}

// Graph answers a grant that exists already for the same client,
// resource, consent type and user with 409.
var dupGrant = &apiError{status: http.StatusConflict, code: codeDuplicate, message: "Permission entry already exists."}

func (h *Handler) grants(rq *request) ([]consent.GrantEntry, *apiError) {
	l, err := h.Consent.List(rq.ctx, rq.caller.tenant.ID, "")
	if err != nil {
		return nil, fromDirectory(err, "", dupGrant)
	}
	return l.PermissionGrants, nil
}

func listGrants(h *Handler, rq *request, _ key) (result, *apiError) {
	gs, aerr := h.grants(rq)
	if aerr != nil {
		return result{}, aerr
	}
	list, aerr := collect(rq, gs, "oAuth2PermissionGrant", grantShape)
	return result{context: "oauth2PermissionGrants", list: list}, aerr
}

func (h *Handler) grant(rq *request, id string) (consent.GrantEntry, *apiError) {
	gs, aerr := h.grants(rq)
	if aerr != nil {
		return consent.GrantEntry{}, aerr
	}
	i := slices.IndexFunc(gs, func(g consent.GrantEntry) bool { return g.ID == id })
	if i < 0 {
		return consent.GrantEntry{}, notFound(id)
	}
	return gs[i], nil
}

func getGrant(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.grant(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	obj, aerr := one(rq, grantShape(g), "oAuth2PermissionGrant")
	return result{context: "oauth2PermissionGrants/$entity", object: obj}, aerr
}

// grantBody is the body of POST and PATCH /oauth2PermissionGrants.
type grantBody struct {
	ODataType   *string `json:"@odata.type"`
	ID          *string `json:"id"`
	ClientID    *string `json:"clientId"`
	ConsentType *string `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  *string `json:"resourceId"`
	Scope       *string `json:"scope"`
	// Graph's beta and older clients send these; v1.0 ignores them.
	StartTime  *string `json:"startTime"`
	ExpiryTime *string `json:"expiryTime"`
}

func createGrant(h *Handler, rq *request, _ key) (result, *apiError) {
	var b grantBody
	if err := readBody(rq, &b, "oAuth2PermissionGrant"); err != nil {
		return result{}, err
	}
	switch {
	case b.ID != nil:
		return result{}, badRequest("Property 'id' is read-only: the directory assigns it.")
	case b.ClientID == nil || b.ResourceID == nil || b.ConsentType == nil:
		return result{}, badRequest("Properties clientId, consentType and resourceId are required.")
	}
	client, _, aerr := h.servicePrincipalByID(rq, *b.ClientID, false)
	if aerr != nil {
		return result{}, aerr
	}
	resSP, _, aerr := h.servicePrincipalByID(rq, *b.ResourceID, false)
	if aerr != nil {
		return result{}, aerr
	}
	user := ""
	switch {
	case *b.ConsentType == consent.AllPrincipals && (b.PrincipalID == nil || *b.PrincipalID == ""):
	case *b.ConsentType == consent.Principal && b.PrincipalID != nil && tenant.IsGUID(*b.PrincipalID):
		u, err := h.Directory.FindUser(rq.ctx, rq.caller.tenant.ID, *b.PrincipalID)
		if err != nil {
			return result{}, fromDirectory(err, *b.PrincipalID, dupGrant)
		}
		user = u.ID
	default:
		return result{}, badRequest("Property consentType must be AllPrincipals (without principalId) or Principal (with the principalId of a user).")
	}
	gs, aerr := h.grants(rq)
	if aerr != nil {
		return result{}, aerr
	}
	same := func(g consent.GrantEntry) bool {
		return g.ClientID == client.ID && g.ResourceID == resSP.ID && g.ConsentType == *b.ConsentType && (user == "" || g.PrincipalID == user)
	}
	if slices.ContainsFunc(gs, same) {
		return result{}, dupGrant
	}
	var scopes []string
	if b.Scope != nil {
		scopes = strings.Fields(*b.Scope)
	}
	if _, _, err := h.Consent.PutGrant(rq.ctx, rq.caller.tenant, client.AppID, resSP.AppID, user, scopes); err != nil {
		return result{}, fromDirectory(err, *b.ClientID, dupGrant)
	}
	if gs, aerr = h.grants(rq); aerr != nil {
		return result{}, aerr
	}
	i := slices.IndexFunc(gs, same)
	if i < 0 { // removed by another writer meanwhile
		return result{}, notFound(*b.ClientID)
	}
	return result{status: http.StatusCreated, context: "oauth2PermissionGrants/$entity", object: grantShape(gs[i]), location: "oauth2PermissionGrants/" + gs[i].ID}, nil
}

func updateGrant(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.grant(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	var b grantBody
	if err := readBody(rq, &b, "oAuth2PermissionGrant"); err != nil {
		return result{}, err
	}
	for _, f := range []*string{b.ID, b.ClientID, b.ConsentType, b.PrincipalID, b.ResourceID} {
		if f != nil {
			return result{}, badRequest("Only the property 'scope' of a grant can be changed.")
		}
	}
	if b.Scope == nil {
		return result{status: http.StatusNoContent}, nil
	}
	res, err := h.Directory.GetApplication(rq.ctx, g.ResourceAppID)
	if err != nil {
		return result{}, fromDirectory(err, g.ID, dupGrant)
	}
	if _, err := h.Consent.SetGrantScopes(rq.ctx, g.PermissionGrant, res, strings.Fields(*b.Scope)); err != nil {
		return result{}, fromDirectory(err, g.ID, dupGrant)
	}
	return result{status: http.StatusNoContent}, nil
}

func deleteGrant(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.grant(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Consent.DeletePermissionGrant(rq.ctx, rq.caller.tenant.ID, g.ID); err != nil {
		return result{}, fromDirectory(err, g.ID, dupGrant)
	}
	return result{status: http.StatusNoContent}, nil
}
