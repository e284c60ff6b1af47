package graph

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// The owners of an application: GET /applications/{id}/owners lists them
// as directoryObjects (each with its @odata.type), POST …/owners/$ref adds
// one by reference and DELETE …/owners/{id}/$ref removes one (Microsoft
// Graph v1.0 application-list-owners, application-post-owners,
// application-delete-owners). Owners are users and service principals of
// the application's home tenant.

// dupOwner is Graph's answer to adding an owner twice.
var dupOwner = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "One or more added object references already exist for the following modified properties: 'owners'."}

func listOwners(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	owners, err := h.Directory.ApplicationOwners(rq.ctx, a.AppID)
	if err != nil {
		return result{}, fromDirectory(err, a.ID, dupOwner)
	}
	// A service principal shows what Graph copies from its application.
	apps := map[string]tenant.Application{}
	for _, o := range owners {
		if sp := o.ServicePrincipal; sp != nil {
			if apps[sp.AppID], err = h.Directory.GetApplication(rq.ctx, sp.AppID); err != nil {
				return result{}, fromDirectory(err, sp.AppID, dupOwner)
			}
		}
	}
	list, aerr := collect(rq, owners, "directoryObject", func(o tenant.Owner) map[string]any {
		if o.User != nil {
			m := userShape(*o.User)
			m["@odata.type"] = "#microsoft.graph.user"
			return m
		}
		m := servicePrincipalShape(*o.ServicePrincipal, apps[o.ServicePrincipal.AppID])
		m["@odata.type"] = "#microsoft.graph.servicePrincipal"
		return m
	})
	return result{context: "directoryObjects", list: list}, aerr
}

// refBody is the body of a POST to a $ref collection.
type refBody struct {
	ID *string `json:"@odata.id"`
}

func addOwner(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	var b refBody
	if err := readBody(rq, &b, "directoryObject"); err != nil {
		return result{}, err
	}
	if b.ID == nil {
		return result{}, badRequest("Property '@odata.id' is required.")
	}
	id, aerr := referencedID(*b.ID)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.AddApplicationOwner(rq.ctx, a.AppID, id); err != nil {
		return result{}, fromDirectory(err, id, dupOwner)
	}
	return result{status: http.StatusNoContent}, nil
}

func removeOwner(h *Handler, rq *request, k key) (result, *apiError) {
	a, aerr := h.application(rq, k)
	if aerr != nil {
		return result{}, aerr
	}
	if !tenant.IsGUID(k.sub) {
		return result{}, badRequest("Invalid object identifier '%s'.", k.sub)
	}
	if err := h.Directory.RemoveApplicationOwner(rq.ctx, a.AppID, k.sub); err != nil {
		return result{}, fromDirectory(err, k.sub, dupOwner)
	}
	return result{status: http.StatusNoContent}, nil
}

// referencedID is the object id an @odata.id names: an absolute URL (or
// a path) whose last two segments are a directory collection and the id,
// as the SDKs send it ("https://graph.microsoft.com/v1.0/directoryObjects/
// {id}", or users/{id} and servicePrincipals/{id}).
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
	case "directoryobjects", "users", "serviceprincipals":
	default:
		return "", invalid
	}
	id := segs[len(segs)-1]
	if !tenant.IsGUID(id) {
		return "", invalid
	}
	return id, nil
}
