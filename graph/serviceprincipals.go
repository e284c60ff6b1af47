package graph

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// servicePrincipalShape is a service principal as Graph shows it, with
// what Graph copies from the application: its permissions (clients read
// appRoles here to find a role's id), names and type.
func servicePrincipalShape(sp tenant.ServicePrincipal, app tenant.Application) map[string]any {
	m := toMap(sp)
	if sp.ServicePrincipalType == "" {
		m["servicePrincipalType"] = "Application"
	}
	if sp.AlternativeNames == nil {
		m["alternativeNames"] = []any{}
	}
	m["appDisplayName"] = app.DisplayName
	m["appRoles"] = toMap(struct {
		V []tenant.AppRole `json:"v"`
	}{app.AppRoles})["v"]
	m["oauth2PermissionScopes"] = toMap(struct {
		V []tenant.PermissionScope `json:"v"`
	}{app.API.OAuth2PermissionScopes})["v"]
	m["servicePrincipalNames"] = append([]any{app.AppID}, anySlice(app.IdentifierURIs)...)
	m["signInAudience"] = app.SignInAudience
	delete(m, "tenantId")
	return m
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

var dupServicePrincipal = &apiError{status: http.StatusConflict, code: codeDuplicate,
	message: "The service principal cannot be created, updated, or restored because the service principal name is already in use."}

// servicePrincipals lists the tenant's service principals with their
// applications.
func (h *Handler) servicePrincipals(rq *request) ([]tenant.ServicePrincipal, map[string]tenant.Application, *apiError) {
	sps, err := h.Directory.ListServicePrincipals(rq.ctx, rq.caller.tenant.ID)
	if err != nil {
		return nil, nil, fromDirectory(err, "", dupServicePrincipal)
	}
	apps := map[string]tenant.Application{}
	for _, sp := range sps {
		a, err := h.Directory.GetApplication(rq.ctx, sp.AppID)
		if err != nil {
			return nil, nil, fromDirectory(err, sp.AppID, dupServicePrincipal)
		}
		apps[sp.AppID] = a
	}
	return sps, apps, nil
}

func listServicePrincipals(h *Handler, rq *request, _ key) (result, *apiError) {
	sps, apps, aerr := h.servicePrincipals(rq)
	if aerr != nil {
		return result{}, aerr
	}
	list, aerr := collect(rq, sps, "servicePrincipal", func(sp tenant.ServicePrincipal) map[string]any {
		return servicePrincipalShape(sp, apps[sp.AppID])
	})
	return result{context: "servicePrincipals", list: list}, aerr
}

// servicePrincipal finds the service principal a path names (object id,
// or appId in the alternate key) in the caller's tenant.
func (h *Handler) servicePrincipal(rq *request, k key) (tenant.ServicePrincipal, tenant.Application, *apiError) {
	ref := k.id
	if k.appID != "" {
		ref = k.appID
	}
	return h.servicePrincipalByID(rq, ref, k.appID != "")
}

func (h *Handler) servicePrincipalByID(rq *request, ref string, byAppID bool) (tenant.ServicePrincipal, tenant.Application, *apiError) {
	if !tenant.IsGUID(ref) {
		return tenant.ServicePrincipal{}, tenant.Application{}, badRequest("Invalid object identifier '%s'.", ref)
	}
	sps, apps, aerr := h.servicePrincipals(rq)
	if aerr != nil {
		return tenant.ServicePrincipal{}, tenant.Application{}, aerr
	}
	i := slices.IndexFunc(sps, func(sp tenant.ServicePrincipal) bool {
		return byAppID && strings.EqualFold(sp.AppID, ref) || !byAppID && strings.EqualFold(sp.ID, ref)
	})
	if i < 0 {
		return tenant.ServicePrincipal{}, tenant.Application{}, notFound(ref)
	}
	return sps[i], apps[sps[i].AppID], nil
}

func getServicePrincipal(h *Handler, rq *request, k key) (result, *apiError) {
	sp, app, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	obj, aerr := one(rq, servicePrincipalShape(sp, app), "servicePrincipal")
	return result{context: "servicePrincipals/$entity", object: obj}, aerr
}

// servicePrincipalBody is what POST and PATCH /servicePrincipals accept.
type servicePrincipalBody struct {
	ODataType                 *string   `json:"@odata.type"`
	AppID                     *string   `json:"appId"`
	AccountEnabled            *bool     `json:"accountEnabled"`
	AppRoleAssignmentRequired *bool     `json:"appRoleAssignmentRequired"`
	Tags                      *[]string `json:"tags"`
}

func createServicePrincipal(h *Handler, rq *request, _ key) (result, *apiError) {
	var b servicePrincipalBody
	if err := readBody(rq, &b, "servicePrincipal"); err != nil {
		return result{}, err
	}
	if b.AppID == nil || !tenant.IsGUID(*b.AppID) {
		return result{}, badRequest("Property 'appId' is required and must be the appId of an application.")
	}
	// A caller without Application.ReadWrite.All (a daemon holding
	// Application.ReadWrite.OwnedBy, a user without an administrator role)
	// creates the service principals of the applications it owns, as in
	// Entra, and no others.
	if rq.caller.allowed(writeApplications) != nil {
		app, err := h.Directory.GetApplication(rq.ctx, *b.AppID)
		if err != nil {
			return result{}, fromDirectory(err, *b.AppID, dupServicePrincipal)
		}
		if !app.OwnedBy(rq.caller.objectID()) {
			return result{}, errDenied
		}
	}
	t := rq.caller.tenant.ID
	sp, err := h.Directory.AddServicePrincipal(rq.ctx, t, *b.AppID)
	if errors.Is(err, tenant.ErrExists) {
		// Graph's POST /applications creates no service principal, so
		// provisioning code creates the home one next; this directory
		// always has it. Creating it again in the home tenant returns it
		// (201, as if just created); anywhere else a duplicate is 409.
		app, gerr := h.Directory.GetApplication(rq.ctx, *b.AppID)
		if gerr == nil && app.HomeTenantID == t {
			sp, _, err = h.Directory.FindServicePrincipal(rq.ctx, t, app.AppID)
		}
	}
	if err != nil {
		return result{}, fromDirectory(err, *b.AppID, dupServicePrincipal)
	}
	if b.AccountEnabled != nil || b.AppRoleAssignmentRequired != nil {
		if sp, err = h.Directory.UpdateServicePrincipal(rq.ctx, t, sp.AppID, tenant.ServicePrincipalUpdate{
			AccountEnabled: b.AccountEnabled, AppRoleAssignmentRequired: b.AppRoleAssignmentRequired}); err != nil {
			return result{}, fromDirectory(err, sp.ID, dupServicePrincipal)
		}
	}
	app, err := h.Directory.GetApplication(rq.ctx, sp.AppID)
	if err != nil {
		return result{}, fromDirectory(err, sp.AppID, dupServicePrincipal)
	}
	return result{status: http.StatusCreated, context: "servicePrincipals/$entity", object: servicePrincipalShape(sp, app), location: "servicePrincipals/" + sp.ID}, nil
}

func updateServicePrincipal(h *Handler, rq *request, k key) (result, *apiError) {
	sp, _, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b servicePrincipalBody
	if err := readBody(rq, &b, "servicePrincipal"); err != nil {
		return result{}, err
	}
	if b.AppID != nil && !strings.EqualFold(*b.AppID, sp.AppID) {
		return result{}, badRequest("Property 'appId' is read-only and cannot be changed.")
	}
	if _, err := h.Directory.UpdateServicePrincipal(rq.ctx, rq.caller.tenant.ID, sp.AppID, tenant.ServicePrincipalUpdate{
		AccountEnabled: b.AccountEnabled, AppRoleAssignmentRequired: b.AppRoleAssignmentRequired}); err != nil {
		return result{}, fromDirectory(err, sp.ID, dupServicePrincipal)
	}
	return result{status: http.StatusNoContent}, nil
}

func deleteServicePrincipal(h *Handler, rq *request, k key) (result, *apiError) {
	sp, _, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var err error
	if sp.IsManagedIdentity() {
		err = h.Directory.RemoveManagedIdentity(rq.ctx, rq.caller.tenant.ID, sp.AppID)
	} else {
		err = h.Directory.RemoveServicePrincipal(rq.ctx, rq.caller.tenant.ID, sp.AppID)
	}
	if err != nil {
		return result{}, fromDirectory(err, sp.ID, dupServicePrincipal)
	}
	return result{status: http.StatusNoContent}, nil
}

// ---- app role assignments ----

// assignmentShape is an appRoleAssignment as Graph shows it.
func assignmentShape(a consent.AssignmentEntry) map[string]any {
	m := toMap(a.AppRoleAssignment)
	delete(m, "tenantId")
	m["deletedDateTime"] = nil
	return m
}

// assignments lists the tenant's assignments that pass keep.
func (h *Handler) assignments(rq *request, keep func(consent.AssignmentEntry) bool) ([]consent.AssignmentEntry, *apiError) {
	l, err := h.Consent.List(rq.ctx, rq.caller.tenant.ID, "")
	if err != nil {
		return nil, fromDirectory(err, "", dupAssignment)
	}
	return slices.DeleteFunc(l.AppRoleAssignments, func(a consent.AssignmentEntry) bool { return !keep(a) }), nil
}

// listAssignedTo lists the assignments of the service principal's app
// roles (it is the resource); listAssignments those it holds (it is the
// principal).
func listAssignedTo(h *Handler, rq *request, k key) (result, *apiError) {
	return h.listAssignmentsWhere(rq, k, "appRoleAssignedTo", func(sp tenant.ServicePrincipal, a consent.AssignmentEntry) bool { return a.ResourceID == sp.ID })
}

func listAssignments(h *Handler, rq *request, k key) (result, *apiError) {
	return h.listAssignmentsWhere(rq, k, "appRoleAssignments", func(sp tenant.ServicePrincipal, a consent.AssignmentEntry) bool { return a.PrincipalID == sp.ID })
}

func (h *Handler) listAssignmentsWhere(rq *request, k key, nav string, keep func(tenant.ServicePrincipal, consent.AssignmentEntry) bool) (result, *apiError) {
	sp, _, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	as, aerr := h.assignments(rq, func(a consent.AssignmentEntry) bool { return keep(sp, a) })
	if aerr != nil {
		return result{}, aerr
	}
	list, aerr := collect(rq, as, "appRoleAssignment", assignmentShape)
	return result{context: "servicePrincipals('" + sp.ID + "')/" + nav, list: list}, aerr
}

// Graph refuses a second assignment of the same role to the same
// principal with 400.
var dupAssignment = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "Permission being assigned already exists on the object"}

// assignmentBody is the body of POST appRoleAssignedTo/appRoleAssignments.
type assignmentBody struct {
	ODataType   *string `json:"@odata.type"`
	PrincipalID string  `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	AppRoleID   string  `json:"appRoleId"`
	// Read-only properties a client may send back; ignored.
	ID                   *string `json:"id"`
	PrincipalType        *string `json:"principalType"`
	PrincipalDisplayName *string `json:"principalDisplayName"`
	ResourceDisplayName  *string `json:"resourceDisplayName"`
	CreatedDateTime      *string `json:"createdDateTime"`
	DeletedDateTime      *string `json:"deletedDateTime"`
}

// createAssignment assigns an app role: the resource is the service
// principal named by resourceId, the principal a service principal, a
// user or a group of the tenant. On appRoleAssignedTo the path names the resource,
// on appRoleAssignments the principal; the body must agree.
func createAssignment(h *Handler, rq *request, k key) (result, *apiError) {
	pathSP, _, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b assignmentBody
	if err := readBody(rq, &b, "appRoleAssignment"); err != nil {
		return result{}, err
	}
	assignedTo := strings.EqualFold(rq.segs[len(rq.segs)-1], "appRoleAssignedTo")
	switch {
	case !tenant.IsGUID(b.PrincipalID) || !tenant.IsGUID(b.ResourceID) || !tenant.IsGUID(b.AppRoleID):
		return result{}, badRequest("Properties principalId, resourceId and appRoleId must be object identifiers.")
	case assignedTo && !strings.EqualFold(b.ResourceID, pathSP.ID):
		return result{}, badRequest("Property resourceId must be the service principal of the path, %s.", pathSP.ID)
	case !assignedTo && !strings.EqualFold(b.PrincipalID, pathSP.ID):
		return result{}, badRequest("Property principalId must be the service principal of the path, %s.", pathSP.ID)
	}
	a, aerr := h.assign(rq, b)
	if aerr != nil {
		return result{}, aerr
	}
	nav := "appRoleAssignments"
	if assignedTo {
		nav = "appRoleAssignedTo"
	}
	return result{status: http.StatusCreated, context: "servicePrincipals('" + pathSP.ID + "')/" + nav + "/$entity",
		object: assignmentShape(consent.AssignmentEntry{AppRoleAssignment: a}), location: "servicePrincipals/" + pathSP.ID + "/" + nav + "/" + a.ID}, nil
}

// assign makes the assignment b asks for, its ids checked: of the app
// role appRoleId of the resource service principal resourceId to the
// principal principalId.
func (h *Handler) assign(rq *request, b assignmentBody) (consent.AppRoleAssignment, *apiError) {
	resSP, resApp, aerr := h.servicePrincipalByID(rq, b.ResourceID, false)
	if aerr != nil {
		return consent.AppRoleAssignment{}, aerr
	}
	i := slices.IndexFunc(resApp.AppRoles, func(r tenant.AppRole) bool { return strings.EqualFold(r.ID, b.AppRoleID) })
	if i < 0 {
		return consent.AppRoleAssignment{}, badRequest("Permission (appRoleId %s) does not exist on the resource service principal %s.", b.AppRoleID, resSP.ID)
	}
	who, aerr := h.assignee(rq, b.PrincipalID)
	if aerr != nil {
		return consent.AppRoleAssignment{}, aerr
	}
	a, err := h.Consent.AssignRole(rq.ctx, rq.caller.tenant.ID, resSP.AppID, resApp.AppRoles[i].Value, who)
	if err != nil {
		return consent.AppRoleAssignment{}, fromDirectory(err, b.PrincipalID, dupAssignment)
	}
	return a, nil
}

// assignee is the principal of an assignment: a service principal of the
// tenant (by object id), a user or a group.
func (h *Handler) assignee(rq *request, id string) (consent.Assignee, *apiError) {
	if sp, _, aerr := h.servicePrincipalByID(rq, id, false); aerr == nil {
		return consent.Assignee{ClientAppID: sp.AppID}, nil
	}
	if u, err := h.Directory.FindUser(rq.ctx, rq.caller.tenant.ID, id); err == nil {
		return consent.Assignee{User: u.ID}, nil
	}
	if g, err := h.Directory.FindGroup(rq.ctx, rq.caller.tenant.ID, id); err == nil {
		// The consent manager refuses a group that is not security-enabled.
		return consent.Assignee{Group: g.ID}, nil
	}
	return consent.Assignee{}, notFound(id)
}

func deleteAssignedTo(h *Handler, rq *request, k key) (result, *apiError) {
	return h.deleteAssignmentWhere(rq, k, func(sp tenant.ServicePrincipal, a consent.AssignmentEntry) bool { return a.ResourceID == sp.ID })
}

func deleteAssignment(h *Handler, rq *request, k key) (result, *apiError) {
	return h.deleteAssignmentWhere(rq, k, func(sp tenant.ServicePrincipal, a consent.AssignmentEntry) bool { return a.PrincipalID == sp.ID })
}

func (h *Handler) deleteAssignmentWhere(rq *request, k key, keep func(tenant.ServicePrincipal, consent.AssignmentEntry) bool) (result, *apiError) {
	sp, _, aerr := h.servicePrincipal(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	as, aerr := h.assignments(rq, func(a consent.AssignmentEntry) bool { return keep(sp, a) && strings.EqualFold(a.ID, k.sub) })
	if aerr != nil {
		return result{}, aerr
	}
	if len(as) == 0 {
		return result{}, notFound(k.sub)
	}
	if err := h.Consent.DeleteAppRoleAssignment(rq.ctx, rq.caller.tenant.ID, as[0].ID); err != nil {
		return result{}, fromDirectory(err, k.sub, dupAssignment)
	}
	return result{status: http.StatusNoContent}, nil
}
