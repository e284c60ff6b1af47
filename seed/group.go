package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// Groups are applied in two phases: applyGroups makes every group of the
// seed exist, then, once users and service principals (consent included)
// exist too, applyGroupMembers adds their members. A group may thus name
// as a member a group described later in the file; validate has refused
// the cycles the seed's own nesting would make.

func (a *applier) applyGroups(ctx context.Context) error {
	a.groupIDs = make([][]string, len(a.s.Tenants))
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		a.groupIDs[i] = make([]string, len(st.Groups))
		for j, sg := range st.Groups {
			p := fmt.Sprintf("%s.groups[%d]", tenantPath(i), j)
			g, created, updated, err := a.applyGroup(ctx, t, sg)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			a.groupIDs[i][j] = g.ID
			count(&a.res.Groups, created, updated)
		}
	}
	return nil
}

func (a *applier) applyGroup(ctx context.Context, t tenant.Tenant, sg Group) (g tenant.Group, created, updated bool, err error) {
	ref := strings.TrimSpace(sg.DisplayName)
	if sg.ID != "" {
		ref, _ = tenant.CanonicalGUID(sg.ID)
	}
	g, err = a.dir.FindGroup(ctx, t.ID, ref)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		g, err = a.dir.AddGroup(ctx, t.ID, tenant.GroupSpec{
			DisplayName: sg.DisplayName, Description: sg.Description, MailNickname: sg.MailNickname,
			Unified: sg.unified(), SecurityEnabled: sg.SecurityEnabled != nil && *sg.SecurityEnabled, ID: sg.ID,
		})
		return g, err == nil, false, err
	case err != nil:
		return g, false, false, err
	case g.IsUnified() != sg.unified():
		// Graph fixes a group's groupTypes and mailEnabled at creation.
		return g, false, false, fmt.Errorf("group %s (%s) exists as a %s group: %w", g.DisplayName, g.ID, groupKind(g), ErrConflict)
	}
	var u tenant.GroupUpdate
	if n := strings.TrimSpace(sg.DisplayName); n != g.DisplayName {
		u.DisplayName = &n
	}
	if sg.Description != "" && sg.Description != g.Description {
		u.Description = &sg.Description
	}
	if sg.MailNickname != "" && sg.MailNickname != g.MailNickname {
		u.MailNickname = &sg.MailNickname
	}
	if v := sg.SecurityEnabled; v != nil && *v != g.SecurityEnabled {
		u.SecurityEnabled = v
	}
	if u == (tenant.GroupUpdate{}) {
		return g, false, false, nil
	}
	g, err = a.dir.UpdateGroup(ctx, t.ID, g.ID, u)
	return g, false, err == nil, err
}

func groupKind(g tenant.Group) string {
	if g.IsUnified() {
		return "Microsoft 365"
	}
	return "security"
}

// groupRef is the object id of the group ref names for the tenant of
// index i: a group of the seed's tenant (by id or display name), else a
// group of the directory's tenant (tenant.Directory.FindGroup).
func (a *applier) groupRef(ctx context.Context, i int, ref string) (string, error) {
	j, err := seedGroupRef(a.s.Tenants[i], ref)
	switch {
	case err != nil:
		return "", err
	case j >= 0:
		return a.groupIDs[i][j], nil
	}
	g, err := a.dir.FindGroup(ctx, a.tenants[i].ID, strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("group %q in tenant %s: %w", ref, a.tenants[i].DisplayName, err)
	}
	return g.ID, nil
}

// applyGroupMembers adds the members the seed lists to its groups. A
// member already there counts as unchanged; members the seed does not
// list are kept, as applying never deletes.
func (a *applier) applyGroupMembers(ctx context.Context) error {
	for i, st := range a.s.Tenants {
		t := a.tenants[i]
		for j, sg := range st.Groups {
			if len(sg.Members) == 0 {
				continue
			}
			p := fmt.Sprintf("%s.groups[%d]", tenantPath(i), j)
			groupID := a.groupIDs[i][j]
			have, err := a.dir.ListGroupMembers(ctx, t.ID, groupID)
			if err != nil {
				return a.s.errorAt(p, err)
			}
			for k, m := range sg.Members {
				mp := fmt.Sprintf("%s.members[%d]", p, k)
				id, err := a.memberID(ctx, i, m)
				if err != nil {
					return a.s.errorAt(mp, err)
				}
				if slices.ContainsFunc(have, func(h tenant.GroupMember) bool { return h.ID == id }) {
					count(&a.res.GroupMembers, false, false)
					continue
				}
				added, err := a.dir.AddGroupMember(ctx, t.ID, groupID, id)
				if err != nil {
					return a.s.errorAt(mp, err)
				}
				have = append(have, added)
				count(&a.res.GroupMembers, true, false)
			}
		}
	}
	return nil
}

// memberID is the object id of the user, the client's service principal
// or the group a member entry names in the tenant of index i.
func (a *applier) memberID(ctx context.Context, i int, m Member) (string, error) {
	t := a.tenants[i]
	switch {
	case m.Group != "":
		return a.groupRef(ctx, i, m.Group)
	case m.Client != "":
		appID, err := a.appRef(m.Client, false)
		if err != nil {
			return "", err
		}
		sp, _, err := a.dir.FindServicePrincipal(ctx, t.ID, appID)
		if err != nil {
			return "", fmt.Errorf("member %s has no service principal in tenant %s: %w", appID, t.DisplayName, err)
		}
		return sp.ID, nil
	}
	u, err := a.dir.FindUser(ctx, t.ID, strings.TrimSpace(m.User))
	if err != nil {
		return "", fmt.Errorf("member in tenant %s: %w", t.DisplayName, err)
	}
	return u.ID, nil
}
