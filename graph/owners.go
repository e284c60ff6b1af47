package graph

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// The owners of an application or a service principal: GET
// /{collection}/{id}/owners lists them as directoryObjects (each with its
// @odata.type), POST …/owners/$ref adds one by reference and DELETE
// …/owners/{id}/$ref removes one (Microsoft Graph v1.0
// application-list-owners, application-post-owners,
// application-delete-owners and their servicePrincipal counterparts).
// Owners are users and service principals of the object's tenant (an
// application's home tenant).

// dupOwner is Graph's answer to adding an owner twice.
var dupOwner = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "One or more added object references already exist for the following modified properties: 'owners'."}

// owned is the object whose owners a path names, with the directory's
// calls for them.
type owned struct {
	id      string // its object id
	ownedBy func(objectID string) bool
	list    func(ctx context.Context) ([]tenant.Owner, error)
	add     func(ctx context.Context, objectID string) error
	remove  func(ctx context.Context, objectID string) error
}

// owned finds the application or service principal the path names.
func (h *Handler) owned(rq *request, k key) (owned, *apiError) {
	if k.coll == "serviceprincipals" {
		sp, _, aerr := h.servicePrincipal(rq, k)
		if aerr != nil {
			return owned{}, aerr
		}
		t := sp.TenantID
		return owned{
			id:      sp.ID,
			ownedBy: sp.OwnedBy,
			list: func(ctx context.Context) ([]tenant.Owner, error) {
				return h.Directory.ServicePrincipalOwners(ctx, t, sp.AppID)
			},
			add: func(ctx context.Context, id string) error {
				return h.Directory.AddServicePrincipalOwner(ctx, t, sp.AppID, id)
			},
			remove: func(ctx context.Context, id string) error {
				return h.Directory.RemoveServicePrincipalOwner(ctx, t, sp.AppID, id)
			},
		}, nil
	}
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return owned{}, aerr
	}
	return owned{
		id:      a.ID,
		ownedBy: a.OwnedBy,
		list:    func(ctx context.Context) ([]tenant.Owner, error) { return h.Directory.ApplicationOwners(ctx, a.AppID) },
		add:     func(ctx context.Context, id string) error { return h.Directory.AddApplicationOwner(ctx, a.AppID, id) },
		remove: func(ctx context.Context, id string) error {
			return h.Directory.RemoveApplicationOwner(ctx, a.AppID, id)
		},
	}, nil
}

func listOwners(h *Handler, rq *request, k key) (result, *apiError) {
	o, aerr := h.owned(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	owners, err := o.list(rq.ctx)
	if err != nil {
		return result{}, fromDirectory(err, o.id, dupOwner)
	}
	objs := make([]map[string]any, 0, len(owners))
	for _, ow := range owners {
		if ow.User != nil {
			objs = append(objs, typed(userShape(*ow.User), "#microsoft.graph.user"))
			continue
		}
		m, aerr := h.servicePrincipalObject(rq, *ow.ServicePrincipal)
		if aerr != nil {
			return result{}, aerr
		}
		objs = append(objs, m)
	}
	return listDirectoryObjects(rq, "", objs)
}

// listOwnedObjects is GET /users/{id}/ownedObjects, /me/ownedObjects and
// /servicePrincipals/{id}/ownedObjects: the applications and service
// principals the object owns, as directoryObjects. A caller that may not
// read applications (a user's User.Read on /me) gets each with its id and
// @odata.type alone, as Graph answers for "inaccessible member objects".
func listOwnedObjects(h *Handler, rq *request, k key) (result, *apiError) {
	var owner string
	switch {
	case k.coll == "me" && rq.caller.user == nil:
		return result{}, &apiError{status: http.StatusBadRequest, code: codeSegment,
			message: "/me request is only valid with delegated authentication flow."}
	case k.coll == "me":
		owner = rq.caller.user.ID
	case k.coll == "users":
		u, aerr := h.user(rq, k.id)
		if aerr != nil {
			return result{}, aerr
		}
		owner = u.ID
	default:
		sp, _, aerr := h.servicePrincipal(rq, k)
		if aerr != nil {
			return result{}, aerr
		}
		owner = sp.ID
	}
	apps, sps, err := h.Directory.OwnedObjects(rq.ctx, rq.caller.tenant.ID, owner)
	if err != nil {
		return result{}, fromDirectory(err, owner, dupOwner)
	}
	objs := make([]map[string]any, 0, len(apps)+len(sps))
	if rq.caller.allowed(readApplications) != nil {
		// Ids and types alone: nothing else is read for them.
		for _, a := range apps {
			objs = append(objs, typed(map[string]any{"id": a.ID}, "#microsoft.graph.application"))
		}
		for _, sp := range sps {
			objs = append(objs, typed(map[string]any{"id": sp.ID}, "#microsoft.graph.servicePrincipal"))
		}
		return listDirectoryObjects(rq, "", objs)
	}
	for _, a := range apps {
		objs = append(objs, typed(applicationShape(a), "#microsoft.graph.application"))
	}
	for _, sp := range sps {
		m, aerr := h.servicePrincipalObject(rq, sp)
		if aerr != nil {
			return result{}, aerr
		}
		objs = append(objs, m)
	}
	return listDirectoryObjects(rq, "", objs)
}

// typed is m, a member of a directoryObject collection, with its
// @odata.type.
func typed(m map[string]any, odataType string) map[string]any {
	m["@odata.type"] = odataType
	return m
}

// servicePrincipalObject is sp as a member of a directoryObject
// collection: what Graph copies from its application included.
func (h *Handler) servicePrincipalObject(rq *request, sp tenant.ServicePrincipal) (map[string]any, *apiError) {
	app, err := h.Directory.GetApplication(rq.ctx, sp.AppID)
	if err != nil {
		return nil, fromDirectory(err, sp.AppID, dupOwner)
	}
	return typed(servicePrincipalShape(sp, app), "#microsoft.graph.servicePrincipal"), nil
}

// refBody is the body of a POST to a $ref collection.
type refBody struct {
	ID *string `json:"@odata.id"`
}

// readReference reads a $ref POST body (owners, members) and returns the
// id of the object its @odata.id names.
func readReference(rq *request) (string, *apiError) {
	var b refBody
	if err := readBody(rq, &b, "directoryObject"); err != nil {
		return "", err
	}
	if b.ID == nil {
		return "", badRequest("Property '@odata.id' is required.")
	}
	return referencedID(*b.ID)
}

func addOwner(h *Handler, rq *request, k key) (result, *apiError) {
	o, aerr := h.owned(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	id, aerr := readReference(rq)
	if aerr != nil {
		return result{}, aerr
	}
	if err := o.add(rq.ctx, id); err != nil {
		return result{}, fromDirectory(err, id, dupOwner)
	}
	return result{status: http.StatusNoContent}, nil
}

func removeOwner(h *Handler, rq *request, k key) (result, *apiError) {
	o, aerr := h.owned(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	if !tenant.IsGUID(k.sub) {
		return result{}, badRequest("Invalid object identifier '%s'.", k.sub)
	}
	if err := o.remove(rq.ctx, k.sub); err != nil {
		return result{}, fromDirectory(err, k.sub, dupOwner)
	}
	return result{status: http.StatusNoContent}, nil
}

// referencedID is the object id an @odata.id names: an absolute URL (or
// a path) whose last two segments are a directory collection and the id,
// as the SDKs send it ("https://graph.microsoft.com/v1.0/directoryObjects/
// {id}", or users/{id}, servicePrincipals/{id} and groups/{id}).
func referencedID(ref string) (string, *apiError) {
	invalid := badRequest("Invalid object identifier '%s'.", ref)
	u, err := url.Parse(ref)
	if err != nil {
		return "", invalid
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", invalid
	}
	switch strings.ToLower(segs[len(segs)-2]) {
	case "directoryobjects", "users", "serviceprincipals", "groups":
	default:
		return "", invalid
	}
	id := segs[len(segs)-1]
	if !tenant.IsGUID(id) {
		return "", invalid
	}
	return id, nil
}
