package graph

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Memberships: a group's members and transitiveMembers, the members/$ref
// calls that change them (Microsoft Graph v1.0 group-list-members,
// group-list-transitivemembers, group-post-members, group-delete-members),
// the memberOf and transitiveMemberOf of users, service principals and
// groups, and the actions a client calls on a groups-claim overage:
// getMemberGroups, getMemberObjects and checkMemberGroups.
//
// The directory has no object ids for directory roles or administrative
// units, so memberOf and getMemberObjects list groups only.

// dupMember is Graph's answer to adding a member twice, word for word.
var dupMember = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "One or more added object references already exist for the following modified properties: 'members'."}

// objectReader shapes the members of a directoryObject collection, each
// as fully as the caller may read its type. Graph returns an object the
// caller may not read with its id and @odata.type alone ("limited
// information returned for inaccessible member objects"): a /me/memberOf
// read with User.Read names the groups without showing them.
type objectReader struct {
	h   *Handler
	rq  *request
	sps map[string]map[string]any // by object id, read at the first need
}

func (h *Handler) objectReader(rq *request) *objectReader { return &objectReader{h: h, rq: rq} }

func limited(id, odataType string) map[string]any {
	return typed(map[string]any{"id": id}, odataType)
}

// member shapes a group member.
func (o *objectReader) member(m tenant.GroupMember) (map[string]any, *apiError) {
	rq, t := o.rq, o.rq.caller.tenant.ID
	switch m.Type {
	case tenant.ObjectUser:
		if rq.caller.allowed(readUsers) != nil {
			return limited(m.ID, "#microsoft.graph.user"), nil
		}
		u, err := o.h.Directory.FindUser(rq.ctx, t, m.ID)
		if err != nil {
			return nil, fromDirectory(err, m.ID, dupMember)
		}
		return typed(userShape(u), "#microsoft.graph.user"), nil
	case tenant.ObjectServicePrincipal:
		if rq.caller.allowed(readApplications) != nil {
			return limited(m.ID, "#microsoft.graph.servicePrincipal"), nil
		}
		if o.sps == nil {
			sps, apps, aerr := o.h.servicePrincipals(rq)
			if aerr != nil {
				return nil, aerr
			}
			o.sps = map[string]map[string]any{}
			for _, sp := range sps {
				o.sps[sp.ID] = typed(servicePrincipalShape(sp, apps[sp.AppID]), "#microsoft.graph.servicePrincipal")
			}
		}
		sp, ok := o.sps[m.ID]
		if !ok {
			return nil, notFound(m.ID)
		}
		return sp, nil
	case tenant.ObjectGroup:
		if rq.caller.allowed(readGroups) != nil {
			return limited(m.ID, "#microsoft.graph.group"), nil
		}
		g, err := o.h.Directory.FindGroup(rq.ctx, t, m.ID)
		if err != nil {
			return nil, fromDirectory(err, m.ID, dupMember)
		}
		return o.group(g), nil
	}
	return nil, &apiError{status: http.StatusInternalServerError, code: codeUnknown, message: "An internal server error occurred."}
}

// group shapes a group the reader has already read.
func (o *objectReader) group(g tenant.Group) map[string]any {
	if o.rq.caller.allowed(readGroups) != nil {
		return limited(g.ID, "#microsoft.graph.group")
	}
	return typed(groupShape(g), "#microsoft.graph.group")
}

// casts are the OData type-cast segments a directoryObject collection
// takes (/groups/{id}/members/microsoft.graph.user): the type they keep,
// the type name queries are checked against, and the collection the
// answer's @odata.context names.
var casts = map[string]struct{ odataType, typeName, context string }{
	"microsoft.graph.user":             {"#microsoft.graph.user", "user", "users"},
	"microsoft.graph.serviceprincipal": {"#microsoft.graph.servicePrincipal", "servicePrincipal", "servicePrincipals"},
	"microsoft.graph.group":            {"#microsoft.graph.group", "group", "groups"},
}

// listDirectoryObjects lists objs, the members of a directoryObject
// collection, as the query asks, keeping those of the type cast names
// when the path ends in one.
func listDirectoryObjects(rq *request, cast string, objs []map[string]any) (result, *apiError) {
	if cast == "" {
		list, aerr := collect(rq, objs, "directoryObject", func(m map[string]any) map[string]any { return m })
		return result{context: "directoryObjects", list: list}, aerr
	}
	c := casts[cast]
	objs = slices.DeleteFunc(objs, func(m map[string]any) bool { return m["@odata.type"] != c.odataType })
	list, aerr := collect(rq, objs, c.typeName, func(m map[string]any) map[string]any { return m })
	return result{context: c.context, list: list}, aerr
}

// listMembers is GET /groups/{id}/members or, with transitive,
// …/transitiveMembers.
func listMembers(transitive bool) func(h *Handler, rq *request, k key) (result, *apiError) {
	return func(h *Handler, rq *request, k key) (result, *apiError) {
		g, aerr := h.group(rq, k.id)
		if aerr != nil {
			return result{}, aerr
		}
		members, aerr := h.groupMembers(rq, g, transitive)
		if aerr != nil {
			return result{}, aerr
		}
		o := h.objectReader(rq)
		objs := make([]map[string]any, 0, len(members))
		for _, m := range members {
			obj, aerr := o.member(m)
			if aerr != nil {
				return result{}, aerr
			}
			objs = append(objs, obj)
		}
		return listDirectoryObjects(rq, k.cast, objs)
	}
}

// groupMembers lists g's direct members or, with transitive, every object
// in g directly or through the groups in it (those groups included),
// ordered by id. The store refuses a membership that closes a cycle; the
// walk visits each group once anyway.
func (h *Handler) groupMembers(rq *request, g tenant.Group, transitive bool) ([]tenant.GroupMember, *apiError) {
	seen := map[string]bool{g.ID: true}
	var out []tenant.GroupMember
	for frontier := []string{g.ID}; len(frontier) > 0; {
		var next []string
		for _, id := range frontier {
			ms, err := h.Directory.ListGroupMembers(rq.ctx, rq.caller.tenant.ID, id)
			if err != nil {
				return nil, fromDirectory(err, id, dupMember)
			}
			for _, m := range ms {
				if seen[m.ID] {
					continue
				}
				seen[m.ID] = true
				out = append(out, m)
				if transitive && m.Type == tenant.ObjectGroup {
					next = append(next, m.ID)
				}
			}
		}
		frontier = next
	}
	slices.SortFunc(out, func(a, b tenant.GroupMember) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func addMember(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	id, aerr := readReference(rq)
	if aerr != nil {
		return result{}, aerr
	}
	if aerr := h.mayAddMember(rq, id); aerr != nil {
		return result{}, aerr
	}
	if _, err := h.Directory.AddGroupMember(rq.ctx, rq.caller.tenant.ID, g.ID, id); err != nil {
		return result{}, fromDirectory(err, id, dupMember)
	}
	return result{status: http.StatusNoContent}, nil
}

// mayAddMember checks that id names an object of the tenant, and refuses
// a service principal member to a caller without
// Application.ReadWrite.All (or Directory.ReadWrite.All): Graph's
// group-post-members asks it besides GroupMember.ReadWrite.All.
func (h *Handler) mayAddMember(rq *request, id string) *apiError {
	kind, aerr := h.directoryObject(rq, id)
	if aerr != nil {
		return aerr
	}
	if kind == tenant.ObjectServicePrincipal {
		return rq.caller.allowed(addServicePrincipalMembers)
	}
	return nil
}

// directoryObject says which kind of object of the tenant id names, by
// object id alone, as Graph's directoryObjects/{id} does. The directory's
// member lookups also take an application's appId for its service
// principal (the CLI's convenience); Graph knows no object by it, and a
// caller checked for a service principal's object id must not add one by
// its appId.
func (h *Handler) directoryObject(rq *request, id string) (string, *apiError) {
	if !tenant.IsGUID(id) {
		return "", badRequest("Invalid object identifier '%s'.", id)
	}
	if _, _, aerr := h.servicePrincipalByID(rq, id, false); aerr == nil {
		return tenant.ObjectServicePrincipal, nil
	}
	t := rq.caller.tenant.ID
	_, err := h.Directory.FindUser(rq.ctx, t, id)
	if err == nil {
		return tenant.ObjectUser, nil
	}
	if errors.Is(err, tenant.ErrNotFound) {
		_, err = h.Directory.FindGroup(rq.ctx, t, id)
		if err == nil {
			return tenant.ObjectGroup, nil
		}
	}
	return "", fromDirectory(err, id, dupMember)
}

func removeMember(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	if _, aerr := h.directoryObject(rq, k.sub); aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.RemoveGroupMember(rq.ctx, rq.caller.tenant.ID, g.ID, k.sub); err != nil {
		return result{}, fromDirectory(err, k.sub, dupMember)
	}
	return result{status: http.StatusNoContent}, nil
}

// subject is the object id a membership call is about: the user of /me
// or /users/{id}, the group, service principal or directory object of
// the path.
func (h *Handler) subject(rq *request, k key) (string, *apiError) {
	switch k.coll {
	case "me":
		if rq.caller.user == nil {
			return "", &apiError{status: http.StatusBadRequest, code: codeSegment,
				message: "/me request is only valid with delegated authentication flow."}
		}
		return rq.caller.user.ID, nil
	case "users":
		u, aerr := h.user(rq, k.id)
		return u.ID, aerr
	case "groups":
		g, aerr := h.group(rq, k.id)
		return g.ID, aerr
	case "serviceprincipals":
		sp, _, aerr := h.servicePrincipal(rq, k)
		return sp.ID, aerr
	}
	// directoryObjects/{id}: any object of the tenant.
	if _, aerr := h.directoryObject(rq, k.id); aerr != nil {
		return "", aerr
	}
	return strings.ToLower(k.id), nil
}

// memberOf reads the groups the subject of the path is in.
func (h *Handler) memberOf(rq *request, k key, transitive bool) ([]tenant.Group, *apiError) {
	id, aerr := h.subject(rq, k)
	if aerr != nil {
		return nil, aerr
	}
	gs, err := h.Directory.MemberOf(rq.ctx, rq.caller.tenant.ID, id, transitive)
	if err != nil {
		return nil, fromDirectory(err, id, dupMember)
	}
	return gs, nil
}

// listMemberOf is GET …/memberOf or, with transitive,
// …/transitiveMemberOf. The route says which, not the path's last
// segment: a type cast or /$count may follow.
func listMemberOf(transitive bool) func(h *Handler, rq *request, k key) (result, *apiError) {
	return func(h *Handler, rq *request, k key) (result, *apiError) {
		gs, aerr := h.memberOf(rq, k, transitive)
		if aerr != nil {
			return result{}, aerr
		}
		o := h.objectReader(rq)
		objs := make([]map[string]any, len(gs))
		for i, g := range gs {
			objs[i] = o.group(g)
		}
		return listDirectoryObjects(rq, k.cast, objs)
	}
}

// maxMemberGroups is where Graph's getMemberGroups and getMemberObjects
// stop: beyond it they answer Directory_ResultSizeLimitExceeded, and the
// caller is to page transitiveMemberOf instead.
const maxMemberGroups = 11000

// memberGroupsBody is the body of getMemberGroups and getMemberObjects.
type memberGroupsBody struct {
	SecurityEnabledOnly *bool `json:"securityEnabledOnly"`
}

// getMemberGroups is POST …/getMemberGroups and …/getMemberObjects: the
// ids of every group the subject is in, transitively, security-enabled
// ones only if asked.
func getMemberGroups(h *Handler, rq *request, k key) (result, *apiError) {
	var b memberGroupsBody
	if err := readBody(rq, &b, "directoryObject"); err != nil {
		return result{}, err
	}
	if b.SecurityEnabledOnly == nil {
		// A non-nullable parameter of an OData action must be given.
		return result{}, badRequest("The parameter 'securityEnabledOnly' is required.")
	}
	gs, aerr := h.memberOf(rq, k, true)
	if aerr != nil {
		return result{}, aerr
	}
	ids := []any{}
	for _, g := range gs {
		if !*b.SecurityEnabledOnly || g.SecurityEnabled {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) > maxMemberGroups {
		return result{}, &apiError{status: http.StatusBadRequest, code: "Directory_ResultSizeLimitExceeded",
			message: "Request could not be completed because the result set is too large. Use transitiveMemberOf instead."}
	}
	return result{context: "Collection(Edm.String)", list: ids, whole: true}, nil
}

// maxCheckedGroups is the most group ids checkMemberGroups takes.
const maxCheckedGroups = 20

// checkMemberGroupsBody is the body of checkMemberGroups.
type checkMemberGroupsBody struct {
	GroupIDs *[]string `json:"groupIds"`
}

// checkMemberGroups is POST …/checkMemberGroups: which of the given
// groups the subject is in, transitively. Graph evaluates the list as one
// request: one malformed id fails it whole.
func checkMemberGroups(h *Handler, rq *request, k key) (result, *apiError) {
	var b checkMemberGroupsBody
	if err := readBody(rq, &b, "directoryObject"); err != nil {
		return result{}, err
	}
	switch {
	case b.GroupIDs == nil:
		return result{}, badRequest("The parameter 'groupIds' is required.")
	case len(*b.GroupIDs) > maxCheckedGroups:
		return result{}, badRequest("At most %d group ids can be checked in one request.", maxCheckedGroups)
	}
	for _, id := range *b.GroupIDs {
		if !tenant.IsGUID(id) {
			return result{}, badRequest("Invalid object identifier '%s'.", id)
		}
	}
	gs, aerr := h.memberOf(rq, k, true)
	if aerr != nil {
		return result{}, aerr
	}
	ids := []any{}
	for _, id := range *b.GroupIDs {
		if slices.ContainsFunc(gs, func(g tenant.Group) bool { return strings.EqualFold(g.ID, id) }) && !slices.Contains(ids, any(strings.ToLower(id))) {
			ids = append(ids, strings.ToLower(id))
		}
	}
	return result{context: "Collection(Edm.String)", list: ids, whole: true}, nil
}
