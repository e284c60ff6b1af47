package graph

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// Groups: GET and POST /groups, GET, PATCH and DELETE /groups/{id}
// (Microsoft Graph v1.0 group-list, group-post-groups, group-get,
// group-update, group-delete). Graph creates two kinds of group, and so
// does this server: security groups (securityEnabled, not mailEnabled, no
// groupTypes) and Microsoft 365 groups (groupTypes ["Unified"],
// mailEnabled). Memberships are in members.go.

// groupShape is a group as Graph shows it: the properties the directory
// keeps, and those it does not model with the values Graph gives a cloud
// group that never set them (null, or an empty collection), so that
// $select of any of them answers as Graph does.
func groupShape(g tenant.Group) map[string]any {
	m := toMap(g)
	delete(m, "tenantId")
	if g.GroupTypes == nil {
		m["groupTypes"] = []any{}
	}
	m["description"] = nullIfEmpty(g.Description)
	m["mail"] = nullIfEmpty(g.Mail)
	m["proxyAddresses"] = []any{}
	if g.Mail != "" {
		// Exchange gives a Microsoft 365 group its address as the primary
		// SMTP proxy address.
		m["proxyAddresses"] = []any{"SMTP:" + g.Mail}
	}
	m["securityIdentifier"] = securityIdentifier(g.ID)
	// A Microsoft 365 group created without a visibility is Public
	// (group-post-groups); a security group shows none.
	m["visibility"] = nil
	if g.IsUnified() {
		m["visibility"] = "Public"
	}
	m["renewedDateTime"] = m["createdDateTime"]
	for _, p := range []string{"deletedDateTime", "classification", "expirationDateTime", "isAssignableToRole",
		"membershipRule", "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesLastSyncDateTime",
		"onPremisesNetBiosName", "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
		"preferredDataLocation", "preferredLanguage", "theme"} {
		m[p] = nil
	}
	for _, p := range []string{"creationOptions", "resourceBehaviorOptions", "resourceProvisioningOptions", "onPremisesProvisioningErrors", "serviceProvisioningErrors"} {
		m[p] = []any{}
	}
	return m
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// securityIdentifier is the SID Entra gives a cloud group: S-1-12-1-
// followed by the object id's sixteen bytes, in .NET's Guid byte order
// (its first three fields little-endian), read as four little-endian
// 32-bit numbers. Intune and Windows name Entra groups by it.
func securityIdentifier(objectID string) any {
	b, ok := guidBytes(objectID)
	if !ok {
		return nil
	}
	parts := []string{"S-1-12-1"}
	for i := 0; i < 16; i += 4 {
		parts = append(parts, strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[i:i+4])), 10))
	}
	return strings.Join(parts, "-")
}

// guidBytes is a GUID's bytes as .NET's Guid.ToByteArray lays them out.
func guidBytes(s string) ([16]byte, bool) {
	var out [16]byte
	hex := strings.ReplaceAll(s, "-", "")
	if !tenant.IsGUID(s) || len(hex) != 32 {
		return out, false
	}
	for i := range out {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return out, false
		}
		out[i] = byte(v)
	}
	// Data1 (4 bytes), Data2 and Data3 (2 each) are little-endian.
	out[0], out[1], out[2], out[3] = out[3], out[2], out[1], out[0]
	out[4], out[5] = out[5], out[4]
	out[6], out[7] = out[7], out[6]
	return out, true
}

// Graph's messages for a group's properties (Request_BadRequest).
func missingProperty(name string) *apiError {
	return badRequest("A value is required for property '%s' of resource 'Group'.", name)
}

func invalidProperty(name string) *apiError {
	return badRequest("Invalid value specified for property '%s' of resource 'Group'.", name)
}

// errMailEnabledSecurity is Graph's answer, word for word, to a
// mail-enabled group that is not a Microsoft 365 group: mail-enabled
// security groups and distribution lists are Exchange's to create.
var errMailEnabledSecurity = badRequest("Cannot Create a mail-enabled security groups and or distribution list.")

// dupGroup is never expected (the directory gives every group a new id);
// it is fromDirectory's answer to ErrExists on a group call.
var dupGroup = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
	message: "Another object with the same value for property id already exists."}

func listGroups(h *Handler, rq *request, _ key) (result, *apiError) {
	gs, err := h.Directory.ListGroups(rq.ctx, rq.caller.tenant.ID)
	if err != nil {
		return result{}, fromDirectory(err, "", dupGroup)
	}
	list, aerr := collect(rq, gs, "group", groupShape)
	return result{context: "groups", list: list}, aerr
}

// group finds the group a path names: by object id only, as Graph's
// /groups/{id} (the directory's lookup by display name is the CLI's).
func (h *Handler) group(rq *request, id string) (tenant.Group, *apiError) {
	if !tenant.IsGUID(id) {
		return tenant.Group{}, badRequest("Invalid object identifier '%s'.", id)
	}
	g, err := h.Directory.FindGroup(rq.ctx, rq.caller.tenant.ID, id)
	if err != nil {
		return tenant.Group{}, fromDirectory(err, id, dupGroup)
	}
	return g, nil
}

func getGroup(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	obj, aerr := one(rq, groupShape(g), "group")
	return result{context: "groups/$entity", object: obj}, aerr
}

// groupBody is what POST and PATCH /groups accept. Properties this server
// does not model (visibility, owners, …) are refused by name rather than
// ignored, so that a caller never believes them set.
type groupBody struct {
	ODataType       *string   `json:"@odata.type"`
	ID              *string   `json:"id"`
	DisplayName     *string   `json:"displayName"`
	Description     *string   `json:"description"`
	MailNickname    *string   `json:"mailNickname"`
	MailEnabled     *bool     `json:"mailEnabled"`
	SecurityEnabled *bool     `json:"securityEnabled"`
	GroupTypes      *[]string `json:"groupTypes"`
	// Members are added on create and update, as Graph's
	// group-post-groups and group-post-members do with
	// members@odata.bind.
	Members *[]string `json:"members@odata.bind"`
}

// maxBoundMembers is Graph's limit on members@odata.bind in one request.
const maxBoundMembers = 20

// spec checks a POST body as Graph does and turns it into the directory's
// GroupSpec.
func (b groupBody) spec() (tenant.GroupSpec, *apiError) {
	switch {
	case b.ID != nil:
		return tenant.GroupSpec{}, badRequest("Property 'id' is read-only: the directory assigns it.")
	case b.DisplayName == nil || strings.TrimSpace(*b.DisplayName) == "":
		return tenant.GroupSpec{}, missingProperty("displayName")
	case b.MailEnabled == nil:
		return tenant.GroupSpec{}, missingProperty("mailEnabled")
	case b.MailNickname == nil || *b.MailNickname == "":
		return tenant.GroupSpec{}, missingProperty("mailNickname")
	case b.SecurityEnabled == nil:
		return tenant.GroupSpec{}, missingProperty("securityEnabled")
	case tenant.ValidateMailNickname(*b.MailNickname) != nil:
		return tenant.GroupSpec{}, invalidProperty("mailNickname")
	}
	unified := false
	if b.GroupTypes != nil {
		for _, t := range *b.GroupTypes {
			// Graph's other value, DynamicMembership, needs membership
			// rules, which this directory does not evaluate.
			if t != tenant.GroupTypeUnified {
				return tenant.GroupSpec{}, invalidProperty("groupTypes")
			}
			unified = true
		}
	}
	switch {
	case !unified && *b.MailEnabled:
		return tenant.GroupSpec{}, errMailEnabledSecurity
	case unified && !*b.MailEnabled:
		// A Microsoft 365 group always has a mailbox.
		return tenant.GroupSpec{}, invalidProperty("mailEnabled")
	case !unified && !*b.SecurityEnabled:
		// Neither mail nor security: a group of no use, which Graph's
		// group-post-groups lists no way to create. Our choice: refuse it.
		return tenant.GroupSpec{}, invalidProperty("securityEnabled")
	}
	spec := tenant.GroupSpec{DisplayName: *b.DisplayName, MailNickname: *b.MailNickname,
		Unified: unified, SecurityEnabled: *b.SecurityEnabled}
	if b.Description != nil {
		spec.Description = *b.Description
	}
	return spec, nil
}

func createGroup(h *Handler, rq *request, _ key) (result, *apiError) {
	var b groupBody
	if err := readBody(rq, &b, "group"); err != nil {
		return result{}, err
	}
	spec, aerr := b.spec()
	if aerr != nil {
		return result{}, aerr
	}
	members, aerr := h.boundMembers(rq, b)
	if aerr != nil {
		return result{}, aerr
	}
	t := rq.caller.tenant.ID
	var g tenant.Group
	// The group and its bound members are one batch: a member that
	// cannot be added leaves no group behind.
	err := h.Directory.Batch(rq.ctx, func(ctx context.Context) error {
		var err error
		if g, err = h.Directory.AddGroup(ctx, t, spec); err != nil {
			return err
		}
		return h.addMembers(ctx, g, members)
	})
	if me := (*memberError)(nil); errors.As(err, &me) {
		// Over a store without transactional batches the group exists
		// by now; it goes, as a failed POST leaves nothing.
		_ = h.Directory.RemoveGroup(rq.ctx, t, g.ID)
		return result{}, fromDirectory(me.err, me.id, dupMember)
	}
	if err != nil {
		return result{}, fromDirectory(err, spec.DisplayName, dupGroup)
	}
	return result{status: http.StatusCreated, context: "groups/$entity", object: groupShape(g), location: "groups/" + g.ID}, nil
}

// boundMembers reads members@odata.bind: the object ids to add, each one
// the caller may add.
func (h *Handler) boundMembers(rq *request, b groupBody) ([]string, *apiError) {
	if b.Members == nil {
		return nil, nil
	}
	if len(*b.Members) > maxBoundMembers {
		return nil, badRequest("At most %d members can be added in one request.", maxBoundMembers)
	}
	ids := make([]string, 0, len(*b.Members))
	for _, ref := range *b.Members {
		id, aerr := referencedID(ref)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := h.mayAddMember(rq, id); aerr != nil {
			return nil, aerr
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// addMembers adds bound members to g.
func (h *Handler) addMembers(ctx context.Context, g tenant.Group, ids []string) error {
	for _, id := range ids {
		if _, err := h.Directory.AddGroupMember(ctx, g.TenantID, g.ID, id); err != nil {
			return &memberError{id: id, err: err}
		}
	}
	return nil
}

// memberError is a bound member a group could not take.
type memberError struct {
	id  string
	err error
}

func (e *memberError) Error() string { return "adding member " + e.id + ": " + e.err.Error() }
func (e *memberError) Unwrap() error { return e.err }

func updateGroup(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	var b groupBody
	if err := readBody(rq, &b, "group"); err != nil {
		return result{}, err
	}
	// A group's kind is fixed once created (Graph: groupTypes and
	// mailEnabled are not updatable on a cloud group); sending them back
	// unchanged, as clients that PATCH a whole object do, is harmless.
	switch {
	case b.ID != nil && !strings.EqualFold(*b.ID, g.ID):
		return result{}, badRequest("Property 'id' is read-only and cannot be changed.")
	case b.MailEnabled != nil && *b.MailEnabled != g.MailEnabled:
		return result{}, invalidProperty("mailEnabled")
	case b.GroupTypes != nil && !sameGroupTypes(*b.GroupTypes, g.GroupTypes):
		return result{}, invalidProperty("groupTypes")
	case b.DisplayName != nil && strings.TrimSpace(*b.DisplayName) == "":
		return result{}, missingProperty("displayName")
	case b.MailNickname != nil && tenant.ValidateMailNickname(*b.MailNickname) != nil:
		return result{}, invalidProperty("mailNickname")
	case b.SecurityEnabled != nil && !*b.SecurityEnabled && !g.IsUnified():
		return result{}, invalidProperty("securityEnabled")
	}
	members, aerr := h.boundMembers(rq, b)
	if aerr != nil {
		return result{}, aerr
	}
	up := tenant.GroupUpdate{DisplayName: b.DisplayName, Description: b.Description, MailNickname: b.MailNickname, SecurityEnabled: b.SecurityEnabled}
	// members@odata.bind adds up to 20 members at once (Graph's
	// group-post-members), in the batch of the update: a member that
	// cannot be added fails the whole PATCH.
	err := h.Directory.Batch(rq.ctx, func(ctx context.Context) error {
		if _, err := h.Directory.UpdateGroup(ctx, g.TenantID, g.ID, up); err != nil {
			return err
		}
		return h.addMembers(ctx, g, members)
	})
	if me := (*memberError)(nil); errors.As(err, &me) {
		return result{}, fromDirectory(me.err, me.id, dupMember)
	}
	if err != nil {
		return result{}, fromDirectory(err, g.ID, dupGroup)
	}
	return result{status: http.StatusNoContent}, nil
}

func sameGroupTypes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func deleteGroup(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	if err := h.Directory.RemoveGroup(rq.ctx, rq.caller.tenant.ID, g.ID); err != nil {
		return result{}, fromDirectory(err, g.ID, dupGroup)
	}
	return result{status: http.StatusNoContent}, nil
}

// ---- app role assignments of a group ----

// A group's appRoleAssignments are the app roles assigned to it, which
// reach its direct members (group-list-approleassignments,
// group-post-approleassignments, group-delete-approleassignments).

func (h *Handler) groupAssignments(rq *request, g tenant.Group, keep func(consent.AssignmentEntry) bool) ([]consent.AssignmentEntry, *apiError) {
	return h.assignments(rq, func(a consent.AssignmentEntry) bool { return a.PrincipalID == g.ID && keep(a) })
}

func listGroupAssignments(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	as, aerr := h.groupAssignments(rq, g, func(consent.AssignmentEntry) bool { return true })
	if aerr != nil {
		return result{}, aerr
	}
	list, aerr := collect(rq, as, "appRoleAssignment", assignmentShape)
	return result{context: "groups('" + g.ID + "')/appRoleAssignments", list: list}, aerr
}

func createGroupAssignment(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	var b assignmentBody
	if err := readBody(rq, &b, "appRoleAssignment"); err != nil {
		return result{}, err
	}
	switch {
	case !tenant.IsGUID(b.PrincipalID) || !tenant.IsGUID(b.ResourceID) || !tenant.IsGUID(b.AppRoleID):
		return result{}, badRequest("Properties principalId, resourceId and appRoleId must be object identifiers.")
	case !strings.EqualFold(b.PrincipalID, g.ID):
		return result{}, badRequest("Property principalId must be the group of the path, %s.", g.ID)
	}
	a, aerr := h.assign(rq, b)
	if aerr != nil {
		return result{}, aerr
	}
	return result{status: http.StatusCreated, context: "groups('" + g.ID + "')/appRoleAssignments/$entity",
		object: assignmentShape(consent.AssignmentEntry{AppRoleAssignment: a}), location: "groups/" + g.ID + "/appRoleAssignments/" + a.ID}, nil
}

func deleteGroupAssignment(h *Handler, rq *request, k key) (result, *apiError) {
	g, aerr := h.group(rq, k.id)
	if aerr != nil {
		return result{}, aerr
	}
	as, aerr := h.groupAssignments(rq, g, func(a consent.AssignmentEntry) bool { return strings.EqualFold(a.ID, k.sub) })
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
