package seed

import (
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/issuer-dev/issuer/tenant"
)

// validate checks the rules a seed document must follow on its own, before
// anything is written: required fields, the forms of ids, names and values,
// which fields go together, and duplicates within the document. Each fault
// is a *Error at the value's path.
func (s Document) validate() error {
	bad := func(path, format string, args ...any) error {
		return s.errorAt(path, fmt.Errorf(format, args...))
	}
	wrap := func(path string, err error) error {
		if err == nil {
			return nil
		}
		return s.errorAt(path, err)
	}
	tenantKeys := map[string]string{} // id or initial domain -> path
	appIDs := map[string]string{}
	for i, t := range s.Tenants {
		tp := "tenants[" + strconv.Itoa(i) + "]"
		initial, err := tenant.InitialDomain(t.Name)
		if err != nil {
			return wrap(tp+".name", err)
		}
		keys := []string{initial}
		if t.ID != "" {
			id, err := tenant.CanonicalGUID(t.ID)
			if err != nil {
				return wrap(tp+".id", err)
			}
			keys = append(keys, id)
		}
		for _, k := range keys {
			if other, dup := tenantKeys[k]; dup {
				return bad(tp, "tenant %s is also described at %s", k, other)
			}
			tenantKeys[k] = tp
		}
		for j, d := range t.Domains {
			if _, err := tenant.ValidateDomain(d); err != nil {
				return wrap(fmt.Sprintf("%s.domains[%d]", tp, j), err)
			}
		}
		if t.UserConsent != "" {
			if _, err := tenant.ParseUserConsent(t.UserConsent); err != nil {
				return wrap(tp+".userConsent", err)
			}
		}
		names := map[string]string{} // display names of apps without appId
		for j, a := range t.Applications {
			ap := fmt.Sprintf("%s.applications[%d]", tp, j)
			if err := s.validateApplication(ap, a); err != nil {
				return err
			}
			if a.AppID != "" {
				id, _ := tenant.CanonicalGUID(a.AppID)
				if other, dup := appIDs[id]; dup {
					return bad(ap+".appId", "appId %s is also used at %s", id, other)
				}
				appIDs[id] = ap
			} else {
				n := strings.ToLower(strings.TrimSpace(a.DisplayName))
				if other, dup := names[n]; dup {
					return bad(ap, "two applications named %q without an appId (also at %s): give each an appId", a.DisplayName, other)
				}
				names[n] = ap
			}
		}
		for j, sp := range t.ServicePrincipals {
			p := fmt.Sprintf("%s.servicePrincipals[%d]", tp, j)
			if strings.TrimSpace(sp.AppID) == "" {
				return bad(p+".appId", "appId is required")
			}
			if err := checkGUID(sp.ID); err != nil {
				return wrap(p+".id", err)
			}
			if err := s.validateOwners(p, sp.Owners); err != nil {
				return err
			}
		}
		for j, u := range t.Users {
			p := fmt.Sprintf("%s.users[%d]", tp, j)
			if _, err := tenant.ValidateUPN(u.UserPrincipalName); err != nil {
				return wrap(p+".userPrincipalName", err)
			}
			if err := checkGUID(u.ID); err != nil {
				return wrap(p+".id", err)
			}
			for k, r := range u.DirectoryRoles {
				if _, err := tenant.ParseDirectoryRole(r); err != nil {
					return wrap(fmt.Sprintf("%s.directoryRoles[%d]", p, k), err)
				}
			}
			if err := u.attributes().Validate(); err != nil {
				return wrap(p, err)
			}
			switch {
			case u.Password != "" && u.PasswordHash != "":
				return bad(p, `give "password" or "passwordHash", not both`)
			case u.PasswordHash != "":
				if err := tenant.ValidatePasswordHash(u.PasswordHash); err != nil {
					return wrap(p+".passwordHash", err)
				}
			}
		}
		for j, m := range t.ManagedIdentities {
			p := fmt.Sprintf("%s.managedIdentities[%d]", tp, j)
			spec, err := m.spec()
			if err == nil {
				// The tenant's id only fills a default subscription.
				_, _, err = tenant.ManagedIdentityResource(tenant.Tenant{ID: "00000000-0000-4000-8000-000000000000"}, spec)
			}
			if err != nil {
				return wrap(p, err)
			}
			for _, id := range []struct{ name, v string }{{"clientId", m.ClientID}, {"id", m.ID}} {
				if err := checkGUID(id.v); err != nil {
					return wrap(p+"."+id.name, err)
				}
			}
		}
		if err := s.validateGroups(tp, t); err != nil {
			return err
		}
		for j, c := range t.Consents {
			p := fmt.Sprintf("%s.consents[%d]", tp, j)
			switch {
			case strings.TrimSpace(c.Client) == "":
				return bad(p+".client", "client is required")
			case c.Admin == (c.User != ""):
				return bad(p, `give either "admin": true or "user"`)
			case c.User != "" && (c.Resource == "" || len(c.Scopes) == 0):
				return bad(p, `a user's consent names the "resource" and its "scopes"`)
			case c.Admin && (c.Resource == "") != (len(c.Scopes) == 0):
				return bad(p, `admin consent to named scopes gives both "resource" and "scopes"; without them it grants what the client requires`)
			}
		}
		for j, r := range t.RoleAssignments {
			p := fmt.Sprintf("%s.roleAssignments[%d]", tp, j)
			switch {
			case strings.TrimSpace(r.Resource) == "":
				return bad(p+".resource", "resource is required")
			case strings.TrimSpace(r.Role) == "":
				return bad(p+".role", "role is required")
			case countSet(r.Client, r.User, r.Group) != 1:
				return bad(p, `give one of "client", "user" or "group"`)
			}
			if r.Group != "" {
				if _, err := seedGroupRef(t, r.Group); err != nil {
					return wrap(p+".group", err)
				}
			}
		}
	}
	return nil
}

// validateApplication checks one application entry at path p.
func (s Document) validateApplication(p string, a Application) error {
	bad := func(path, format string, args ...any) error {
		return s.errorAt(path, fmt.Errorf(format, args...))
	}
	wrap := func(path string, err error) error {
		if err == nil {
			return nil
		}
		return s.errorAt(path, err)
	}
	if n := strings.TrimSpace(a.DisplayName); n == "" || len(n) > 120 {
		return bad(p+".displayName", "displayName must have 1 to 120 characters")
	}
	if err := checkGUID(a.AppID); err != nil {
		return wrap(p+".appId", err)
	}
	if err := checkGUID(a.ID); err != nil {
		return wrap(p+".id", err)
	}
	if err := s.validateOwners(p, a.Owners); err != nil {
		return err
	}
	if a.TokenVersion < 0 || a.TokenVersion > 2 {
		return bad(p+".tokenVersion", "tokenVersion must be 1 or 2, not %d", a.TokenVersion)
	}
	for j, u := range a.IdentifierURIs {
		if err := tenant.ValidateIdentifierURI(strings.TrimSpace(u)); err != nil {
			return wrap(fmt.Sprintf("%s.identifierUris[%d]", p, j), err)
		}
	}
	if a.AccessTokenLifetime != "" {
		d, err := a.accessTokenLifetime()
		if err == nil {
			err = tenant.TokenLifetimePolicy{AccessTokenLifetime: d}.Validate()
		}
		if err != nil {
			return wrap(p+".accessTokenLifetime", err)
		}
	}
	if a.GroupMembershipClaims != "" {
		if _, _, err := tenant.ParseGroupClaims(a.GroupMembershipClaims); err != nil {
			return wrap(p+".groupMembershipClaims", err)
		}
	}
	if a.OptionalClaims != nil {
		oc := *a.OptionalClaims
		oc.AccessToken, oc.IDToken, oc.SAML2Token = slices.Clone(oc.AccessToken), slices.Clone(oc.IDToken), slices.Clone(oc.SAML2Token)
		if err := oc.Validate(); err != nil {
			return wrap(p+".optionalClaims", err)
		}
	}
	for _, pl := range []struct {
		name     string
		platform tenant.Platform
		uris     []string
	}{{"webRedirectUris", tenant.PlatformWeb, a.WebRedirectURIs}, {"spaRedirectUris", tenant.PlatformSPA, a.SPARedirectURIs},
		{"publicClientRedirectUris", tenant.PlatformPublicClient, a.PublicClientRedirectURIs}} {
		for j, u := range pl.uris {
			if err := tenant.ValidateRedirectURI(pl.platform, strings.TrimSpace(u)); err != nil {
				return wrap(fmt.Sprintf("%s.%s[%d]", p, pl.name, j), err)
			}
		}
	}
	for j, c := range a.Certificates {
		if _, err := certificateDER(c); err != nil {
			return wrap(fmt.Sprintf("%s.certificates[%d].pem", p, j), err)
		}
	}
	names := map[string]bool{}
	for j, f := range a.FederatedCredentials {
		fp := fmt.Sprintf("%s.federatedCredentials[%d]", p, j)
		fic, err := tenant.ValidateFederatedIdentityCredential(f.credential())
		if err != nil {
			return wrap(fp, err)
		}
		if names[strings.ToLower(fic.Name)] {
			return bad(fp+".name", "federated credential %q appears twice", fic.Name)
		}
		names[strings.ToLower(fic.Name)] = true
	}
	values := map[string]bool{}
	for j, r := range a.AppRoles {
		rp := fmt.Sprintf("%s.appRoles[%d]", p, j)
		if err := tenant.ValidatePermissionValue("app role", strings.TrimSpace(r.Value)); err != nil {
			return wrap(rp+".value", err)
		}
		if _, err := tenant.ParseMemberTypes(r.AllowedMemberTypes); err != nil {
			return wrap(rp+".allowedMemberTypes", err)
		}
		if err := checkGUID(r.ID); err != nil {
			return wrap(rp+".id", err)
		}
		if v := strings.ToLower(strings.TrimSpace(r.Value)); values[v] {
			return bad(rp+".value", "app role %q appears twice", r.Value)
		} else {
			values[v] = true
		}
	}
	values = map[string]bool{}
	for j, sc := range a.Scopes {
		sp := fmt.Sprintf("%s.scopes[%d]", p, j)
		if err := tenant.ValidatePermissionValue("scope", strings.TrimSpace(sc.Value)); err != nil {
			return wrap(sp+".value", err)
		}
		if _, err := tenant.ParseScopeType(strings.TrimSpace(sc.Type)); err != nil {
			return wrap(sp+".type", err)
		}
		if err := checkGUID(sc.ID); err != nil {
			return wrap(sp+".id", err)
		}
		if v := strings.ToLower(strings.TrimSpace(sc.Value)); values[v] {
			return bad(sp+".value", "scope %q appears twice", sc.Value)
		} else {
			values[v] = true
		}
	}
	for j, r := range a.RequiredResourceAccess {
		rp := fmt.Sprintf("%s.requiredResourceAccess[%d]", p, j)
		if strings.TrimSpace(r.Resource) == "" {
			return bad(rp+".resource", "resource is required")
		}
		if len(r.Scopes)+len(r.Roles) == 0 {
			return bad(rp, `name at least one of "scopes" and "roles"`)
		}
	}
	for j, sec := range a.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, j)
		if sec.Value == "" {
			return bad(sp+".value", "value is required: a seed's secrets have known values")
		}
		if err := checkGUID(sec.KeyID); err != nil {
			return wrap(sp+".keyId", err)
		}
		if _, err := parseExpiry(sec.Expires, time.Time{}); err != nil && !errors.Is(err, errExpiryPast) {
			return wrap(sp+".expires", err)
		}
	}
	return nil
}

// checkGUID accepts an empty id or a GUID.
func checkGUID(id string) error {
	if id == "" {
		return nil
	}
	_, err := tenant.CanonicalGUID(id)
	return err
}

// errExpiryPast: an expiry time that is not in the future.
var errExpiryPast = errors.New("expires is not in the future")

// parseExpiry reads a secret's expires: a lifetime (tenant.ParseLifetime,
// as `app secret add --expires` reads it) or an RFC 3339 time after now.
// It returns the lifetime; 0 for an empty value (never expires).
func parseExpiry(s string, now time.Time) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return 0, fmt.Errorf("%w: %s", errExpiryPast, s)
		}
		return t.Sub(now), nil
	}
	d, err := tenant.ParseLifetime(s)
	if err != nil {
		return 0, fmt.Errorf("%w: expires: %v; or an RFC 3339 time", tenant.ErrInvalid, err)
	}
	return d, nil
}

// credential is the federated credential the seed describes.
func (f FederatedCredential) credential() tenant.FederatedIdentityCredential {
	return tenant.FederatedIdentityCredential{
		Name: f.Name, Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences, Description: f.Description,
	}
}

// certificateDER decodes the one PEM certificate a seed certificate holds.
func certificateDER(c Certificate) ([]byte, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(c.PEM)))
	if block == nil || block.Type != "CERTIFICATE" || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("%w: pem must hold exactly one PEM certificate (-----BEGIN CERTIFICATE-----)", tenant.ErrInvalid)
	}
	if _, err := tenant.NewKeyCredential("", block.Bytes, c.DisplayName); err != nil {
		return nil, err
	}
	return block.Bytes, nil
}

// validateOwners checks the owners of the object at path p: each names a
// user or a client, not both.
func (s Document) validateOwners(p string, owners []Owner) error {
	for j, o := range owners {
		if (strings.TrimSpace(o.Client) == "") == (strings.TrimSpace(o.User) == "") {
			return s.errorAt(fmt.Sprintf("%s.owners[%d]", p, j), fmt.Errorf(`give either "client" or "user"`))
		}
	}
	return nil
}

// countSet counts the values that are not blank.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n
}

// Limits Graph puts on a group's names (tenant checks them again).
const (
	maxGroupDisplayName = 256
	maxGroupDescription = 1024
)

// validateGroups checks the groups of the tenant at tp: their fields, that
// each is described once, their members, and that the nesting the seed
// describes has no cycle, which the store would refuse halfway through.
func (s Document) validateGroups(tp string, t Tenant) error {
	bad := func(path, format string, args ...any) error {
		return s.errorAt(path, fmt.Errorf(format, args...))
	}
	ids := map[string]string{}
	named := map[string]int{}
	for _, g := range t.Groups {
		named[nameKey(g.DisplayName)]++
	}
	for j, g := range t.Groups {
		gp := fmt.Sprintf("%s.groups[%d]", tp, j)
		switch n := strings.TrimSpace(g.DisplayName); {
		case n == "":
			return bad(gp+".displayName", "displayName is required")
		case utf8.RuneCountInString(n) > maxGroupDisplayName:
			return bad(gp+".displayName", "displayName is at most %d characters", maxGroupDisplayName)
		case utf8.RuneCountInString(g.Description) > maxGroupDescription:
			return bad(gp+".description", "description is at most %d characters", maxGroupDescription)
		}
		if g.ID != "" {
			id, err := tenant.CanonicalGUID(g.ID)
			if err != nil {
				return s.errorAt(gp+".id", err)
			}
			if other, dup := ids[id]; dup {
				return bad(gp+".id", "group %s is also described at %s", id, other)
			}
			ids[id] = gp
		} else if named[nameKey(g.DisplayName)] > 1 {
			// It is matched by name: the seed's other group of that
			// name would make the match ambiguous once both exist.
			return bad(gp, "another group of the seed is named %q: give each of them an id", g.DisplayName)
		}
		if g.MailNickname != "" {
			if err := tenant.ValidateMailNickname(g.MailNickname); err != nil {
				return s.errorAt(gp+".mailNickname", err)
			}
		}
		for k, typ := range g.GroupTypes {
			if !strings.EqualFold(strings.TrimSpace(typ), tenant.GroupTypeUnified) {
				return bad(fmt.Sprintf("%s.groupTypes[%d]", gp, k), "groupTypes value %q is not supported: a Microsoft 365 group has [%q], a security group none (dynamic membership is not supported)", typ, tenant.GroupTypeUnified)
			}
		}
		if g.SecurityEnabled != nil && !*g.SecurityEnabled && !g.unified() {
			return bad(gp+".securityEnabled", "a security group is always securityEnabled; a group that is not, without groupTypes [\"Unified\"], would be a distribution list, which Graph cannot create")
		}
		for k, m := range g.Members {
			mp := fmt.Sprintf("%s.members[%d]", gp, k)
			if countSet(m.User, m.Client, m.Group) != 1 {
				return bad(mp, `give one of "user", "client" or "group"`)
			}
			if g.unified() && m.User == "" {
				return bad(mp, "the members of a Microsoft 365 group are users, as in Graph; put service principals and groups in security groups")
			}
			if m.Group == "" {
				continue
			}
			switch k, err := seedGroupRef(t, m.Group); {
			case err != nil:
				return s.errorAt(mp+".group", err)
			case k >= 0 && t.Groups[k].unified():
				return bad(mp+".group", "Microsoft 365 group %q cannot be a member of another group, as in Graph", t.Groups[k].DisplayName)
			}
		}
	}
	if cycle := groupCycle(t); cycle != nil {
		path := fmt.Sprintf("%s.groups[%d]", tp, cycle[0])
		shown := make([]string, len(cycle))
		for i, j := range cycle {
			shown[i] = strconv.Quote(t.Groups[j].DisplayName)
		}
		return s.errorAt(path, fmt.Errorf("%w: the groups' members make a cycle (%s): a group cannot be its own member, directly or through others", tenant.ErrInvalid, strings.Join(shown, " contains ")))
	}
	return nil
}

// seedGroupRef finds the group of the seed's tenant that ref names: its
// id or its display name (any case). -1 when no seed group has it: the
// reference then names a group of the directory. A display name two of
// the seed's groups share is ambiguous.
func seedGroupRef(t Tenant, ref string) (int, error) {
	ref = strings.TrimSpace(ref)
	if tenant.IsGUID(ref) {
		for j, g := range t.Groups {
			if strings.EqualFold(strings.TrimSpace(g.ID), ref) {
				return j, nil
			}
		}
		return -1, nil
	}
	found := -1
	for j, g := range t.Groups {
		if nameKey(g.DisplayName) == nameKey(ref) {
			if found >= 0 {
				return -1, fmt.Errorf("%w: two groups of the seed are named %q; name the group by its id", tenant.ErrInvalid, ref)
			}
			found = j
		}
	}
	return found, nil
}

// groupCycle returns the indexes of groups of t whose members, as the
// seed describes them, nest in a cycle (the first index again at the
// end), or nil when they do not.
func groupCycle(t Tenant) []int {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(t.Groups))
	var path []int
	var visit func(j int) []int
	visit = func(j int) []int {
		state[j] = onPath
		path = append(path, j)
		for _, m := range t.Groups[j].Members {
			if m.Group == "" {
				continue
			}
			k, err := seedGroupRef(t, m.Group)
			if err != nil || k < 0 {
				continue
			}
			switch state[k] {
			case onPath:
				start := slices.Index(path, k)
				return append(slices.Clone(path[start:]), k)
			case unseen:
				if c := visit(k); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[j] = done
		return nil
	}
	for j := range t.Groups {
		if state[j] == unseen {
			if c := visit(j); c != nil {
				return c
			}
		}
	}
	return nil
}
