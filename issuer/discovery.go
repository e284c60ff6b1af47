package issuer

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Constant members of Entra's discovery documents (protocol.md §1.3). They
// describe Microsoft's public cloud, which is what clients expect to read.
var (
	authMethodsSupported  = []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}
	responseModes         = []string{"query", "fragment", "form_post"}
	subjectTypes          = []string{"pairwise"}
	signingAlgs           = []string{"RS256"}
	responseTypesV2       = []string{"code", "id_token", "code id_token", "id_token token"}
	responseTypesV1       = []string{"code", "id_token", "code id_token", "token id_token", "token"}
	scopesSupportedV2     = []string{"openid", "profile", "email", "offline_access"}
	scopesSupportedV1     = []string{"openid"}
	claimsSupportedV2     = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}
	claimsSupportedV1     = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"}
	graphUserInfoEndpoint = "https://graph.microsoft.com/oidc/userinfo"
)

const (
	cloudInstanceName  = "microsoftonline.com"
	cloudGraphHostName = "graph.windows.net"
	msgraphHost        = "graph.microsoft.com"
	rbacURL            = "https://pas.windows.net"
	// tenantRegionScope is the region of our tenants' documents; Entra shows
	// the tenant's region ("NA", "EU", …) and null for common/organizations.
	tenantRegionScope = "WW"
)

// discoveryV2 is /{tenant}/v2.0/.well-known/openid-configuration with every
// member Entra sends, in Entra's order. There is no grant_types_supported:
// Entra has none.
type discoveryV2 struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// discoveryV1 is /{tenant}/.well-known/openid-configuration, in Entra's order.
type discoveryV1 struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	MicrosoftMultiRefreshToken        bool     `json:"microsoft_multi_refresh_token"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CheckSessionIframe                string   `json:"check_session_iframe"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// regionScope is tenant_region_scope: a region for a tenant, null for the
// multi-tenant documents.
func regionScope(a authority) *string {
	if a.multiTenant() {
		return nil
	}
	r := tenantRegionScope
	return &r
}

// discoveryV2For builds the v2 document of a. Endpoints use the tenant GUID
// even when the tenant was named by domain, as Entra rewrites them
// (protocol.md §1.2), and the issuer comes from s.issuer.
func (s *Server) discoveryV2For(a authority) discoveryV2 {
	base := s.cfg.BaseURL + "/" + a.segment
	return discoveryV2{
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: authMethodsSupported,
		JWKSURI:                           base + "/discovery/v2.0/keys",
		ResponseModesSupported:            responseModes,
		SubjectTypesSupported:             subjectTypes,
		IDTokenSigningAlgValuesSupported:  signingAlgs,
		ResponseTypesSupported:            responseTypesV2,
		ScopesSupported:                   scopesSupportedV2,
		Issuer:                            s.issuer(2, a.issuerTenant()),
		RequestURIParameterSupported:      false,
		UserInfoEndpoint:                  graphUserInfoEndpoint,
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		ClaimsSupported:                   claimsSupportedV2,
		KerberosEndpoint:                  base + "/kerberos",
		TenantRegionScope:                 regionScope(a),
		CloudInstanceName:                 cloudInstanceName,
		CloudGraphHostName:                cloudGraphHostName,
		MSGraphHost:                       msgraphHost,
		RBACURL:                           rbacURL,
	}
}

// discoveryV1For builds the v1 document of a. Entra's v1 documents point
// jwks_uri at /common/discovery/keys even for a tenant (protocol.md §1.3).
func (s *Server) discoveryV1For(a authority) discoveryV1 {
	base := s.cfg.BaseURL + "/" + a.segment
	return discoveryV1{
		TokenEndpoint:                     base + "/oauth2/token",
		TokenEndpointAuthMethodsSupported: authMethodsSupported,
		JWKSURI:                           s.cfg.BaseURL + "/common/discovery/keys",
		ResponseModesSupported:            responseModes,
		SubjectTypesSupported:             subjectTypes,
		IDTokenSigningAlgValuesSupported:  signingAlgs,
		ResponseTypesSupported:            responseTypesV1,
		ScopesSupported:                   scopesSupportedV1,
		Issuer:                            s.issuer(1, a.issuerTenant()),
		MicrosoftMultiRefreshToken:        true,
		AuthorizationEndpoint:             base + "/oauth2/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/logout",
		ClaimsSupported:                   claimsSupportedV1,
		CheckSessionIframe:                base + "/oauth2/checksession",
		UserInfoEndpoint:                  base + "/openid/userinfo",
		KerberosEndpoint:                  base + "/kerberos",
		TenantRegionScope:                 regionScope(a),
		CloudInstanceName:                 cloudInstanceName,
		CloudGraphHostName:                cloudGraphHostName,
		MSGraphHost:                       msgraphHost,
		RBACURL:                           rbacURL,
	}
}

// handleDiscovery serves the v1 or v2 OpenID configuration of a tenant,
// or of common/organizations/consumers. Unknown tenants get AADSTS90002
// invalid_tenant, as MSAL reports them (protocol.md §1.2).
func (s *Server) handleDiscovery(version int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant = ps.ByName("tenant")
		a, err := s.resolveAuthority(r.Context(), c.tenant)
		if err != nil {
			s.writeError(w, c, metadataSurface, err)
			return
		}
		if version == 1 {
			s.writeMetadata(w, c, s.discoveryV1For(a))
			return
		}
		s.writeMetadata(w, c, s.discoveryV2For(a))
	}
}
