package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Group is a group of a tenant (Graph: group): a security group, or a
// Microsoft 365 group (groupTypes ["Unified"]). Its direct members are
// users, service principals and, in a security group, other groups; they
// are stored apart from the record (Store.AddGroupMember), since a group
// may have thousands. A group's memberships feed the groups claim, and an
// app role assigned to a group reaches its direct members
// (consent.PrincipalGroup).
type Group struct {
	ID              string   `json:"id"`
	TenantID        string   `json:"tenantId"`
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description,omitempty"`
	MailNickname    string   `json:"mailNickname"`
	MailEnabled     bool     `json:"mailEnabled"`
	SecurityEnabled bool     `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes"` // nil or ["Unified"]
	// Mail is the Microsoft 365 group's address, mailNickname@ the
	// tenant's first domain; empty for a security group.
	Mail            string    `json:"mail,omitempty"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

// GroupTypeUnified marks a Microsoft 365 group (Graph's groupTypes value).
const GroupTypeUnified = "Unified"

// IsUnified reports whether the group is a Microsoft 365 group.
func (g Group) IsUnified() bool { return slices.Contains(g.GroupTypes, GroupTypeUnified) }

// Object types of a group member, named as Graph's principalType and
// consent's principal types name them.
const (
	ObjectUser             = "User"
	ObjectServicePrincipal = "ServicePrincipal"
	ObjectGroup            = "Group"
)

// GroupMember is one direct member of a group: the object id of a user, a
// service principal or a group of the group's tenant, and which it is.
type GroupMember struct {
	ID   string `json:"id"`
	Type string `json:"type"` // ObjectUser, ObjectServicePrincipal or ObjectGroup
}

// Limits Graph puts on a group's names.
const (
	maxGroupDisplayName  = 256
	maxGroupMailNickname = 64
	maxGroupDescription  = 1024
)

// ValidateMailNickname checks a group's mailNickname as Graph does: 1 to 64
// printable ASCII characters, none of @ ( ) \ [ ] " ; : < > , or a space.
func ValidateMailNickname(s string) error {
	if s == "" || len(s) > maxGroupMailNickname {
		return fmt.Errorf("%w: mailNickname must be 1 to %d characters", ErrInvalid, maxGroupMailNickname)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || strings.IndexByte(`@()\[]";:<>,`, c) >= 0 {
			return fmt.Errorf("%w: mailNickname %q may hold only printable ASCII characters other than @ ( ) \\ [ ] \" ; : < > , and space", ErrInvalid, s)
		}
	}
	return nil
}

// validateGroup checks the rules every stored group keeps. Graph creates
// two kinds of group: a security group (securityEnabled, not mailEnabled,
// no groupTypes) and a Microsoft 365 group (groupTypes ["Unified"],
// mailEnabled). Mail-enabled security groups and distribution lists exist
// in Entra but Graph cannot create them (Exchange does), so neither can
// issuer.
func validateGroup(g Group) error {
	name := strings.TrimSpace(g.DisplayName)
	switch {
	case name == "":
		return fmt.Errorf("%w: a group needs a displayName", ErrInvalid)
	case utf8.RuneCountInString(name) > maxGroupDisplayName:
		return fmt.Errorf("%w: a group's displayName is at most %d characters", ErrInvalid, maxGroupDisplayName)
	case utf8.RuneCountInString(g.Description) > maxGroupDescription:
		return fmt.Errorf("%w: a group's description is at most %d characters", ErrInvalid, maxGroupDescription)
	}
	if err := ValidateMailNickname(g.MailNickname); err != nil {
		return err
	}
	for _, t := range g.GroupTypes {
		if t != GroupTypeUnified {
			return fmt.Errorf("%w: groupTypes value %q is not supported (only %q; dynamic membership is not)", ErrInvalid, t, GroupTypeUnified)
		}
	}
	switch unified := g.IsUnified(); {
	case unified && !g.MailEnabled:
		return fmt.Errorf("%w: a Microsoft 365 group (groupTypes Unified) must be mailEnabled", ErrInvalid)
	case !unified && g.MailEnabled:
		return fmt.Errorf("%w: mail-enabled security groups and distribution groups cannot be created here, as with Graph: make a Microsoft 365 group (groupTypes Unified) or a security group (mailEnabled false)", ErrInvalid)
	case !unified && !g.SecurityEnabled:
		return fmt.Errorf("%w: a group that is not a Microsoft 365 group must be securityEnabled", ErrInvalid)
	}
	return nil
}

// ---- the directory's group methods ----

// GroupSpec describes a new group. A security group is the default; Unified
// makes a Microsoft 365 group, mail-enabled, and security-enabled only when
// SecurityEnabled is set.
type GroupSpec struct {
	DisplayName  string
	Description  string
	MailNickname string // empty: made from DisplayName
	Unified      bool
	// SecurityEnabled applies to a Microsoft 365 group; a security group
	// is always security-enabled.
	SecurityEnabled bool
	ID              string // fixed object id, or empty for a new one
}

// AddGroup creates a group in a tenant. Entra lets two groups share a
// displayName (only the object id is unique), and so does issuer.
func (d *Directory) AddGroup(ctx context.Context, tenantRef string, spec GroupSpec) (Group, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Group{}, err
	}
	id, err := d.idOrNew(spec.ID)
	if err != nil {
		return Group{}, err
	}
	g := Group{ID: id, TenantID: t.ID, DisplayName: strings.TrimSpace(spec.DisplayName),
		Description: spec.Description, MailNickname: spec.MailNickname,
		SecurityEnabled: spec.SecurityEnabled || !spec.Unified, MailEnabled: spec.Unified,
		CreatedDateTime: d.now().UTC()}
	if g.MailNickname == "" {
		g.MailNickname = mailNicknameOf(g.DisplayName)
	}
	if spec.Unified {
		g.GroupTypes = []string{GroupTypeUnified}
		if len(t.Domains) > 0 {
			g.Mail = g.MailNickname + "@" + t.Domains[0]
		}
	}
	if err := validateGroup(g); err != nil {
		return Group{}, err
	}
	if err := d.store.CreateGroup(ctx, g); err != nil {
		return Group{}, fmt.Errorf("adding group %s: %w", g.DisplayName, err)
	}
	return g, nil
}

// mailNicknameOf makes a mailNickname from a display name, as the Entra
// portal proposes one: the name's allowed characters, or "group" if none.
func mailNicknameOf(name string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < maxGroupMailNickname; i++ {
		if c := name[i]; c > 0x20 && c < 0x7f && strings.IndexByte(`@()\[]";:<>,`, c) < 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "group"
	}
	return b.String()
}

// FindGroup returns a group of a tenant by object id or, when exactly one
// group has it, by display name (any case): the CLI's convenience. Two
// groups of that name are ErrInvalid, which names their ids.
func (d *Directory) FindGroup(ctx context.Context, tenantID, ref string) (Group, error) {
	if IsGUID(ref) {
		return d.store.GetGroup(ctx, tenantID, strings.ToLower(ref))
	}
	groups, err := d.store.ListGroups(ctx, tenantID)
	if err != nil {
		return Group{}, err
	}
	var found []Group
	for _, g := range groups {
		if strings.EqualFold(g.DisplayName, strings.TrimSpace(ref)) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return Group{}, fmt.Errorf("group %q in tenant %s: %w", ref, tenantID, ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, g := range found {
		ids[i] = g.ID
	}
	return Group{}, fmt.Errorf("%w: %d groups are named %q (%s): name one by its object id", ErrInvalid, len(found), ref, strings.Join(ids, ", "))
}

// ListGroups lists a tenant's groups.
func (d *Directory) ListGroups(ctx context.Context, tenantRef string) ([]Group, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	return d.store.ListGroups(ctx, t.ID)
}

// GroupUpdate lists the changes a group update may make. A group's kind
// (groupTypes, mailEnabled) is fixed once created, as in Graph.
type GroupUpdate struct {
	DisplayName, Description, MailNickname *string
	// SecurityEnabled may be changed on a Microsoft 365 group only.
	SecurityEnabled *bool
}

// UpdateGroup applies u to a group named by id or display name.
func (d *Directory) UpdateGroup(ctx context.Context, tenantRef, groupRef string, u GroupUpdate) (Group, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Group{}, err
	}
	g, err := d.FindGroup(ctx, t.ID, groupRef)
	if err != nil {
		return Group{}, err
	}
	var out Group
	err = d.store.UpdateGroup(ctx, t.ID, g.ID, func(g *Group) error {
		if u.DisplayName != nil {
			g.DisplayName = strings.TrimSpace(*u.DisplayName)
		}
		if u.Description != nil {
			g.Description = *u.Description
		}
		if u.MailNickname != nil {
			g.MailNickname = *u.MailNickname
			if g.Mail != "" {
				_, domain, _ := strings.Cut(g.Mail, "@")
				g.Mail = g.MailNickname + "@" + domain
			}
		}
		if u.SecurityEnabled != nil {
			g.SecurityEnabled = *u.SecurityEnabled
		}
		if err := validateGroup(*g); err != nil {
			return err
		}
		out = *g
		return nil
	})
	return out, err
}

// RemoveGroup deletes a group named by id or display name, with its
// memberships and the app role assignments it holds.
func (d *Directory) RemoveGroup(ctx context.Context, tenantRef, groupRef string) error {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return err
	}
	g, err := d.FindGroup(ctx, t.ID, groupRef)
	if err != nil {
		return err
	}
	return d.store.DeleteGroup(ctx, t.ID, g.ID)
}

// resolveMember finds the object a member reference names in a tenant: an
// object id (of a user, a service principal or a group), a user principal
// name, or the appId of an application with a service principal there.
func (d *Directory) resolveMember(ctx context.Context, tenantID, ref string) (GroupMember, error) {
	ref = strings.TrimSpace(ref)
	if !IsGUID(ref) {
		u, err := d.store.GetUserByUPN(ctx, tenantID, NormalizeName(ref))
		if err != nil {
			return GroupMember{}, err
		}
		return GroupMember{ID: u.ID, Type: ObjectUser}, nil
	}
	id := strings.ToLower(ref)
	if m, err := d.store.GetObject(ctx, tenantID, id); !errors.Is(err, ErrNotFound) {
		return m, err
	}
	sp, _, err := d.store.FindServicePrincipal(ctx, tenantID, id)
	if err != nil {
		return GroupMember{}, fmt.Errorf("object %s in tenant %s: %w", id, tenantID, ErrNotFound)
	}
	return GroupMember{ID: sp.ID, Type: ObjectServicePrincipal}, nil
}

// AddGroupMember adds a member (see resolveMember) to a group named by id
// or display name, and returns the member as stored.
func (d *Directory) AddGroupMember(ctx context.Context, tenantRef, groupRef, memberRef string) (GroupMember, error) {
	t, g, m, err := d.groupAndMember(ctx, tenantRef, groupRef, memberRef)
	if err != nil {
		return GroupMember{}, err
	}
	if err := d.memberAllowed(ctx, g, m); err != nil {
		return GroupMember{}, err
	}
	if err := d.store.AddGroupMember(ctx, t.ID, g.ID, m.ID); err != nil {
		return GroupMember{}, fmt.Errorf("adding %s to group %s: %w", m.ID, g.DisplayName, err)
	}
	return m, nil
}

// memberAllowed applies Graph's table of the objects each kind of group
// may have as members (group-post-members, "Add members"): a Microsoft 365
// group has users only; a security group has users, service principals
// and security groups, never a Microsoft 365 group. The store refuses
// cycles, which need its transaction.
func (d *Directory) memberAllowed(ctx context.Context, g Group, m GroupMember) error {
	if g.IsUnified() && m.Type != ObjectUser {
		return fmt.Errorf("%w: the members of Microsoft 365 group %s are users; %s %s cannot be one, as in Graph", ErrInvalid, g.DisplayName, m.Type, m.ID)
	}
	if m.Type != ObjectGroup {
		return nil
	}
	inner, err := d.store.GetGroup(ctx, g.TenantID, m.ID)
	if err != nil {
		return err
	}
	if inner.IsUnified() {
		return fmt.Errorf("%w: Microsoft 365 group %s cannot be a member of another group, as in Graph", ErrInvalid, inner.DisplayName)
	}
	return nil
}

// RemoveGroupMember removes a direct member from a group.
func (d *Directory) RemoveGroupMember(ctx context.Context, tenantRef, groupRef, memberRef string) error {
	t, g, m, err := d.groupAndMember(ctx, tenantRef, groupRef, memberRef)
	if err != nil {
		return err
	}
	if err := d.store.RemoveGroupMember(ctx, t.ID, g.ID, m.ID); err != nil {
		return fmt.Errorf("removing %s from group %s: %w", m.ID, g.DisplayName, err)
	}
	return nil
}

func (d *Directory) groupAndMember(ctx context.Context, tenantRef, groupRef, memberRef string) (Tenant, Group, GroupMember, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return Tenant{}, Group{}, GroupMember{}, err
	}
	g, err := d.FindGroup(ctx, t.ID, groupRef)
	if err != nil {
		return Tenant{}, Group{}, GroupMember{}, err
	}
	m, err := d.resolveMember(ctx, t.ID, memberRef)
	return t, g, m, err
}

// ListGroupMembers lists a group's direct members.
func (d *Directory) ListGroupMembers(ctx context.Context, tenantRef, groupRef string) ([]GroupMember, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	g, err := d.FindGroup(ctx, t.ID, groupRef)
	if err != nil {
		return nil, err
	}
	return d.store.ListGroupMembers(ctx, t.ID, g.ID)
}

// MemberOf lists the groups an object (named as resolveMember reads it) is
// a member of: directly, or with transitive, also through the groups it is
// in, as Graph's memberOf and transitiveMemberOf do.
func (d *Directory) MemberOf(ctx context.Context, tenantRef, memberRef string, transitive bool) ([]Group, error) {
	t, err := d.ResolveTenant(ctx, tenantRef)
	if err != nil {
		return nil, err
	}
	m, err := d.resolveMember(ctx, t.ID, memberRef)
	if err != nil {
		return nil, err
	}
	var ids []string
	if transitive {
		ids, err = TransitiveMemberOf(ctx, d.store, t.ID, m.ID)
	} else {
		ids, err = d.store.MemberOf(ctx, t.ID, m.ID)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		// Each read is its own transaction: a group deleted since the
		// walk is no longer one the object is in.
		g, err := d.store.GetGroup(ctx, t.ID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// TransitiveMemberOf returns the ids of every group the object is in,
// directly or through nested groups, sorted: the groups claim's source
// (Entra's groups claim lists transitive memberships). It reads through
// r, so a token request's view sees one state. Entra sets no depth limit
// on nesting, and neither does the walk: each group is read once, so it
// ends, even on a damaged directory with a cycle, after at most one read
// per group the object is in.
func TransitiveMemberOf(ctx context.Context, r Reader, tenantID, objectID string) ([]string, error) {
	seen := map[string]bool{}
	frontier := []string{objectID}
	for len(frontier) > 0 {
		var next []string
		for _, id := range frontier {
			parents, err := r.MemberOf(ctx, tenantID, id)
			if err != nil {
				return nil, err
			}
			for _, p := range parents {
				if !seen[p] {
					seen[p] = true
					next = append(next, p)
				}
			}
		}
		frontier = next
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
