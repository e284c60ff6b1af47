package issuer

import (
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// graphResource is Microsoft Graph's identifier. Entra reads a bare scope
// value ("User.Read") as Graph's, and a sign-in that names only OpenID
// Connect scopes gets a Graph token (protocol.md §2.6); Graph is in every
// tenant (tenant.MicrosoftGraph).
const graphResource = tenant.MicrosoftGraphURI

// delegatedScope is what a user flow asks for: one resource and scope values
// of it, or everything granted on it (/.default, or resource= on the v1
// endpoint), plus OpenID Connect scopes.
type delegatedScope struct {
	Resource string   // identifier URI or appId, as requested
	Values   []string // scope values without the resource prefix; none with Default
	Default  bool
	// defaultItems are the "{resource}/.default" items as requested; the
	// v2 response echoes them, as Entra's does (protocol.md §2.6 capture).
	defaultItems []string
	// named are the named items, with each one's resource as requested,
	// so that the response qualifies a scope the way it was asked for:
	// one value asked for under two spellings of the resource ("api://x/a
	// api://x//a", the same resource once a trailing slash is dropped) is
	// listed under both.
	named []scopeItem
	// bare: the scopes were bare values (Graph's); the response lists
	// them unqualified, as Entra does for Graph.
	bare bool
	// OIDC are the openid, profile, email and offline_access items, as
	// requested.
	OIDC []string
}

// has reports whether the OpenID Connect scope oidc was requested.
func (d delegatedScope) has(oidc string) bool {
	return slices.ContainsFunc(d.OIDC, func(s string) bool { return strings.EqualFold(s, oidc) })
}

// scopeItem is one non-OIDC item of a scope parameter.
type scopeItem struct {
	resource, value string
	isDefault       bool
	bare            bool
}

// splitScope splits one item: "{resource}/.default", "{resource}/{value}"
// (the resource is everything before the last "/", as Entra reads it) or a
// bare value, which is Graph's.
func splitScope(s string) scopeItem {
	if r, ok := defaultResource(s); ok {
		return scopeItem{resource: r, isDefault: true}
	}
	i := strings.LastIndex(s, "/")
	if i < 0 {
		return scopeItem{resource: graphResource, value: s, bare: true}
	}
	return scopeItem{resource: s[:i], value: s[i+1:]}
}

// parseDelegatedScopes reads the scope parameter of a v2 user flow
// (protocol.md §2.6):
//
//   - openid, profile, email and offline_access are kept aside;
//   - the other items name one resource: "{resource}/.default", or
//     "{resource}/{value}", or a bare value meaning Microsoft Graph;
//   - /.default combined with named scopes is AADSTS70011, as is an item
//     with an empty resource or value;
//   - items of more than one resource are AADSTS28000 (resources are
//     compared as identifier URIs are, without case and one trailing
//     slash; an appId and a URI of the same application count as two);
//   - with no resource item at all the request is a Graph sign-in, for
//     everything granted on Graph.
func parseDelegatedScopes(scopes []string) (delegatedScope, error) {
	all := strings.Join(scopes, " ")
	var d delegatedScope
	var items []scopeItem
	for _, s := range scopes {
		if isOIDCScope(s) {
			d.OIDC = append(d.OIDC, s)
			continue
		}
		it := splitScope(s)
		if it.resource == "" || !it.isDefault && it.value == "" {
			return delegatedScope{}, errorf(CodeInvalidScope,
				"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. "+
					"The scope %s is not valid.", all)
		}
		if it.isDefault && !slices.Contains(d.defaultItems, s) {
			d.defaultItems = append(d.defaultItems, s)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		d.Resource, d.Default, d.bare = graphResource, true, true
		return d, nil
	}
	defaults := slices.ContainsFunc(items, func(it scopeItem) bool { return it.isDefault })
	named := slices.ContainsFunc(items, func(it scopeItem) bool { return !it.isDefault })
	if defaults && named {
		return delegatedScope{}, errorf(CodeInvalidScope,
			"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. "+
				"The scope %s is not valid. .default scope can't be combined with resource-specific scopes.", all)
	}
	first := items[0]
	for _, it := range items[1:] {
		if tenant.IdentifierKey(it.resource) != tenant.IdentifierKey(first.resource) {
			return delegatedScope{}, errorf(CodeMultipleResources,
				"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", all)
		}
	}
	d.Resource, d.Default, d.bare = first.resource, defaults, first.bare
	for _, it := range items {
		if it.isDefault {
			continue
		}
		if !slices.ContainsFunc(d.Values, func(v string) bool { return strings.EqualFold(v, it.value) }) {
			d.Values = append(d.Values, it.value)
		}
		if !slices.ContainsFunc(d.named, func(n scopeItem) bool { return n.resource == it.resource && strings.EqualFold(n.value, it.value) }) {
			d.named = append(d.named, it)
		}
	}
	return d, nil
}

// grantValues are the scope values consent to this request grants. The
// OpenID Connect scopes are Microsoft Graph's permissions: consenting to
// Graph scopes also grants the openid, profile, email and offline_access
// asked for, as Entra records them in the Graph oAuth2PermissionGrant.
// For any other resource they are not the resource's to grant.
func (d delegatedScope) grantValues() []string {
	if !d.bare {
		return d.Values
	}
	out := slices.Clone(d.Values)
	for _, o := range d.OIDC {
		if !slices.ContainsFunc(out, func(v string) bool { return strings.EqualFold(v, o) }) {
			out = append(out, o)
		}
	}
	return out
}

// v1DelegatedScope is the request of a v1 user flow: resource= asks for
// everything granted on that resource (v1 has no named scopes); of scope=,
// only the OpenID Connect scopes count (scope=openid adds an id_token).
func v1DelegatedScope(resource string, scopes []string) delegatedScope {
	d := delegatedScope{Resource: resource, Default: true}
	for _, s := range scopes {
		if isOIDCScope(s) {
			d.OIDC = append(d.OIDC, s)
		}
	}
	return d
}

// responseScope is the scope member of the response. On the v1 endpoint it
// is the scp values; on v2 the resource's granted scopes (in the
// resource's spelling) qualified with the resource as requested, and the
// /.default items asked for, as Entra echoes them (protocol.md §4.4: a
// capture lists "https://management.azure.com/user_impersonation
// https://management.azure.com/.default"). The OpenID Connect scopes are
// not echoed: Entra lists openid, profile and email only as Microsoft
// Graph permissions granted with the token, and a token for a custom API
// is not a Graph token, so naming them for it would claim a grant nobody
// made. MSAL leaves the OIDC scopes it adds out of its "declined
// scopes" check (clients.md §1 item 7), so every scope a client asked for
// of the resource is still listed.
func (d delegatedScope) responseScope(endpoint int, granted []string) string {
	if endpoint == 1 {
		return strings.Join(granted, " ")
	}
	out := make([]string, 0, len(granted)+len(d.defaultItems))
	for _, v := range granted {
		if d.bare {
			out = append(out, v)
			continue
		}
		listed := false
		for _, it := range d.named {
			if strings.EqualFold(it.value, v) {
				out = append(out, it.resource+"/"+v)
				listed = true
			}
		}
		if !listed {
			out = append(out, d.Resource+"/"+v)
		}
	}
	out = append(out, d.defaultItems...)
	return strings.Join(out, " ")
}
