package consent

import (
	"context"
	"fmt"
	"slices"

	"github.com/issuer-dev/issuer/tenant"
)

// assignmentsOf reads the app role assignments on the service principal
// resourceID held by the principal and by the groups it is a direct member
// of (principalID empty: the groups' alone). A group's assignment counts
// for its direct members only: Entra does not support nested groups in
// group-based assignment to applications, so the groups of those groups
// are not asked.
func assignmentsOf(ctx context.Context, r Reader, tenantID, principalID string, groups []string, resourceID string) ([]AppRoleAssignment, error) {
	var out []AppRoleAssignment
	for i := -1; i < len(groups); i++ {
		id := principalID
		if i >= 0 {
			id = groups[i]
		}
		if id == "" {
			continue
		}
		as, err := r.AppRoleAssignmentsOf(ctx, tenantID, id, resourceID)
		if err != nil {
			return nil, fmt.Errorf("reading the app role assignments of %s: %w", id, err)
		}
		out = append(out, as...)
	}
	return out, nil
}

// groupReader reads what the groups claims of one request need, each
// thing once: the subject's groups, transitively, and which of them are
// security groups.
type groupReader struct {
	r                   Reader
	tenantID, subjectID string

	transitive []string                // nil until read
	groups     map[string]tenant.Group // the groups read so far
}

// claim returns the groups claim that c selects for the subject; assigned
// are the app role assignments on the application's service principal that
// the subject's direct groups hold (with the subject's own, which are
// skipped). Each groupMembershipClaims value adds the groups it names, as
// the portal's checkboxes do:
//
//   - SecurityGroup: the security-enabled groups the subject is in,
//     directly or through nested groups (Entra's groups claim includes
//     nested groups);
//   - All: every group the subject is in, Microsoft 365 groups too;
//   - ApplicationGroup: the groups assigned to the application that the
//     subject is a direct member of. Microsoft's group claims guide: "With
//     this option, nested groups are not included and the user must be a
//     direct member of the group assigned to the application."
//
// The result is sorted; nil when c selects no groups or the subject has
// none of them. With the display names of format (cloud_displayname) and
// ApplicationGroup, it lists the groups' display names in that order
// instead: Entra offers the names only for the groups assigned to the
// application, where they are few and known to its administrator.
func (g *groupReader) claim(ctx context.Context, c tenant.GroupClaims, format tenant.GroupsFormat, assigned []AppRoleAssignment) ([]string, error) {
	ids, err := g.ids(ctx, c, assigned)
	if err != nil || !format.DisplayNames || !c.ApplicationGroups {
		return ids, err
	}
	for i, id := range ids {
		grp, err := g.group(ctx, id)
		if err != nil {
			return nil, err
		}
		ids[i] = grp.DisplayName
	}
	return ids, nil
}

// ids is the groups claim that c selects, as object ids (claim).
func (g *groupReader) ids(ctx context.Context, c tenant.GroupClaims, assigned []AppRoleAssignment) ([]string, error) {
	var out []string
	if c.AllGroups || c.SecurityGroups {
		all, err := g.transitiveGroups(ctx)
		if err != nil {
			return nil, err
		}
		for _, id := range all {
			if !c.AllGroups {
				grp, err := g.group(ctx, id)
				if err != nil {
					return nil, err
				}
				if !grp.SecurityEnabled {
					continue
				}
			}
			out = append(out, id)
		}
	}
	if c.ApplicationGroups {
		for _, a := range assigned {
			if a.PrincipalType == PrincipalGroup {
				out = append(out, a.PrincipalID)
			}
		}
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out, nil
}

// transitiveGroups is every group the subject is in (tenant.TransitiveMemberOf).
func (g *groupReader) transitiveGroups(ctx context.Context) ([]string, error) {
	if g.transitive == nil {
		ids, err := tenant.TransitiveMemberOf(ctx, g.r, g.tenantID, g.subjectID)
		if err != nil {
			return nil, fmt.Errorf("reading the groups of %s: %w", g.subjectID, err)
		}
		g.transitive = append(make([]string, 0, len(ids)), ids...)
	}
	return g.transitive, nil
}

// group reads a group once per request: the security filter and the
// display names may both ask for it.
func (g *groupReader) group(ctx context.Context, id string) (tenant.Group, error) {
	if grp, ok := g.groups[id]; ok {
		return grp, nil
	}
	grp, err := g.r.GetGroup(ctx, g.tenantID, id)
	if err != nil {
		return tenant.Group{}, fmt.Errorf("reading group %s: %w", id, err)
	}
	if g.groups == nil {
		g.groups = map[string]tenant.Group{}
	}
	g.groups[id] = grp
	return grp, nil
}
