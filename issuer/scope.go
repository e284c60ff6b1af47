package issuer

import (
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// defaultSuffix ends the one scope an app-only request may name.
const defaultSuffix = "/.default"

// oidcScopes are tolerated and ignored next to a resource scope: MSAL Go
// appends "openid offline_access profile" to every request, client
// credentials included (protocol.md §2.2).
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// isOIDCScope reports whether s is an OpenID Connect scope, in any case.
func isOIDCScope(s string) bool { return oidcScopes[strings.ToLower(s)] }

// parseDefaultScope returns the resource a client-credentials scope names,
// as requested (v1 tokens echo it in aud). The rules are Entra's
// (protocol.md §2.2, §2.6):
//
//   - OIDC scopes are dropped; if nothing is left, AADSTS1002012;
//   - what is left must be "{resource}/.default", and the resource is
//     everything before the last "/", so "https://management.azure.com//.default"
//     names "https://management.azure.com/"; a scope without /.default is
//     AADSTS1002012;
//   - /.default scopes of two resources, or /.default mixed with named
//     scopes, are AADSTS70011.
func parseDefaultScope(scopes []string) (string, error) {
	var rest []string
	for _, s := range scopes {
		if !isOIDCScope(s) {
			rest = append(rest, s)
		}
	}
	all := strings.Join(scopes, " ")
	var resource string
	var defaults, named int
	for _, s := range rest {
		r, ok := defaultResource(s)
		if !ok {
			named++
			continue
		}
		if defaults > 0 && tenant.IdentifierKey(r) != tenant.IdentifierKey(resource) {
			return "", errorf(CodeInvalidScope,
				"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. "+
					"The scope %s is not valid.", all)
		}
		if defaults == 0 {
			resource = r
		}
		defaults++
	}
	switch {
	case defaults == 0:
		return "", errorf(CodeDefaultScopeRequired,
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", all)
	case named > 0:
		return "", errorf(CodeInvalidScope,
			"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. "+
				"The scope %s is not valid. .default scope can't be combined with resource-specific scopes.", all)
	}
	return resource, nil
}

// defaultResource splits "{resource}/.default" (suffix in any case) and
// reports whether s had that form with a non-empty resource.
func defaultResource(s string) (string, bool) {
	if len(s) <= len(defaultSuffix) || !strings.EqualFold(s[len(s)-len(defaultSuffix):], defaultSuffix) {
		return "", false
	}
	return s[:len(s)-len(defaultSuffix)], true
}
