package issuer

import (
	"context"
	"errors"

	"github.com/issuer-dev/issuer/tenant"
)

// authorityKind is what the {tenant} path segment names (protocol.md §1.2).
type authorityKind int

const (
	tenantAuthority        authorityKind = iota // a tenant of the directory, by GUID or domain
	commonAuthority                             // /common
	organizationsAuthority                      // /organizations
	consumersAuthority                          // /consumers, or the consumer tenant GUID
)

// consumersTenantID is the Microsoft-account tenant; Entra treats it as
// /consumers and uses it in the consumers issuer.
const consumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// authority is a resolved {tenant} segment.
type authority struct {
	kind authorityKind
	// segment is what endpoints of this authority use: the tenant GUID for a
	// tenant (even when it was addressed by domain, as Entra rewrites), the
	// lowercased name otherwise.
	segment string
	tenant  tenant.Tenant // tenantAuthority only
}

// multiTenant reports whether the authority names no single tenant.
func (a authority) multiTenant() bool { return a.kind != tenantAuthority }

// issuerTenant is the tenant part of this authority's issuer: the GUID, the
// {tenantid} template for common/organizations, the consumer tenant GUID for
// consumers (protocol.md §1.3).
func (a authority) issuerTenant() string {
	switch a.kind {
	case tenantAuthority:
		return a.tenant.ID
	case consumersAuthority:
		return consumersTenantID
	}
	return tenantIDTemplate
}

// resolveAuthority resolves the {tenant} segment: a GUID or any domain of a
// tenant, in any case, or one of Entra's multi-tenant names. A segment that
// is neither a GUID nor a DNS name is AADSTS900023; an unknown tenant is
// AADSTS90002 (whose `error` the writer picks by endpoint).
func (s *Server) resolveAuthority(ctx context.Context, segment string) (authority, error) {
	switch lower := tenant.FoldASCII(segment); lower {
	case "common":
		return authority{kind: commonAuthority, segment: lower}, nil
	case "organizations":
		return authority{kind: organizationsAuthority, segment: lower}, nil
	case "consumers", consumersTenantID:
		return authority{kind: consumersAuthority, segment: lower}, nil
	}
	if !tenant.ValidTenantSegment(segment) {
		return authority{}, errorf(CodeMalformedTenant,
			"Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", segment)
	}
	t, err := s.cachedTenant(ctx, segment)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return authority{}, errTenantNotFound(segment)
	case errors.Is(err, tenant.ErrInvalid):
		return authority{}, errorf(CodeMalformedTenant,
			"Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", segment).wrap(err)
	case err != nil:
		return authority{}, err
	}
	return authority{kind: tenantAuthority, segment: t.ID, tenant: t}, nil
}

// errTenantNotFound is AADSTS90002 for the tenant named by ref.
func errTenantNotFound(ref string) *Error {
	return errorf(CodeTenantNotFound,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
			"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", ref)
}
