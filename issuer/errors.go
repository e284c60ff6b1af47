package issuer

import (
	"fmt"
	"net/http"
	"strconv"
)

// AADSTS codes this package answers with. Each appears once in codeTable,
// which is the only place that says which OAuth `error` value and HTTP
// status goes with it (protocol.md §5.2). Messages live where the error is
// raised, because they quote request data.
const (
	CodeServerError          = 50000   // server_error 500: any failure that is ours, not the caller's
	CodeDirectoryUnavailable = 90033   // temporarily_unavailable 503: the directory's store cannot answer
	CodeTenantNotFound       = 90002   // invalid_request (token) / invalid_tenant (metadata)
	CodeMalformedTenant      = 900023  // invalid_request: tenant segment neither GUID nor DNS name
	CodeMissingParameter     = 900144  // invalid_request: required parameter missing
	CodeTokenEndpointMethod  = 900561  // invalid_request: token endpoint called with GET
	CodeMalformedRequest     = 9002313 // invalid_request: body malformed, duplicated parameter, …
	CodeNoTenantInfo         = 50059   // invalid_request: /common, /organizations, /consumers with app-only grants
	CodeResourceParameter    = 901002  // invalid_request: `resource` on the v2 endpoint
	CodeUnsupportedGrantType = 70003   // unsupported_grant_type
	CodeApplicationNotFound  = 700016  // unauthorized_client
	CodeApplicationDisabled  = 7000112 // unauthorized_client
	CodeMissingClientCred    = 7000218 // invalid_client 401: confidential client sent no credential
	CodePublicClientCred     = 700025  // invalid_client 401: public client sent a credential
	CodeInvalidClientSecret  = 7000215 // invalid_client 401
	CodeClientSecretExpired  = 7000222 // invalid_client 401
	CodeClientNoSP           = 7000229 // invalid_client 401: no service principal in the app's home tenant
	CodeDefaultScopeRequired = 1002012 // invalid_scope: client credentials scope without /.default
	CodeInvalidScope         = 70011   // invalid_scope
	CodeResourceNotFound     = 500011  // invalid_resource
	CodeResourceDisabled     = 500014  // invalid_resource
	CodeClientNotAssigned    = 501051  // invalid_client 400 (see codeTable)
	CodeUserNotAssigned      = 50105   // invalid_grant
	CodeUserDisabled         = 50057   // invalid_grant
	CodeConsentRequired      = 65001   // invalid_grant + suberror consent_required
	CodeUnknownInstance      = 50049   // invalid_instance (instance discovery)

	// Client assertions (certificate and federated credentials, protocol.md §6).
	CodeAssertionType          = 90011   // invalid_request: client_assertion_type is not jwt-bearer
	CodeAssertionMalformed     = 50027   // invalid_request: client_assertion is not a JWT we can read
	CodeAssertionMissingClaim  = 90014   // invalid_request: iss, sub, aud or exp missing
	CodeAssertionNoKeyID       = 5002723 // invalid_client 401: no x5t, x5t#S256 or kid in the header
	CodeAssertionAlgorithm     = 5002738 // invalid_client 401: alg other than RS256/PS256
	CodeAssertionClient        = 700021  // invalid_client 401: iss/sub is not the client_id
	CodeAssertionAudience      = 50012   // invalid_client 401: aud is not this token endpoint
	CodeAssertionLifetime      = 700024  // invalid_client 401: expired, not yet valid, or too long-lived
	CodeAssertionSignature     = 700027  // invalid_client 401: unknown or expired key, bad signature
	CodeFederationNoCredential = 70021   // invalid_request: the application has no federated credential
	CodeFederationIssuer       = 700211  // invalid_client 401: no federated credential for the issuer
	CodeFederationAudience     = 700212  // invalid_client 401: audience mismatch
	CodeFederationSubject      = 700213  // invalid_client 401: subject mismatch
	CodeFederationSubjectCase  = 7002138 // invalid_client 401: subject differs only in letter case
	CodeFederationFetch        = 50166   // invalid_request: the issuer's discovery or JWKS could not be read
	// Delegated flows: password, on-behalf-of, refresh token.
	CodeGrantNotOnCommon    = 9001023 // invalid_request: ROPC (and other user grants) at /common or /consumers
	CodeMultipleResources   = 28000   // invalid_scope: delegated scopes of more than one resource
	CodeInvalidCredentials  = 50126   // invalid_grant: wrong user name or password
	CodeUserNotFound        = 50034   // invalid_grant + suberror bad_token: no such user in the tenant
	CodeNoPassword          = 50056   // invalid_grant: the user has no password
	CodeAssertionInvalid    = 50013   // invalid_grant: OBO assertion not signed by us, or malformed
	CodeAssertionExpired    = 500133  // invalid_grant: OBO assertion outside its valid time range
	CodeOBOAudience         = 500131  // invalid_grant: OBO assertion for another audience
	CodeAppOnlyAssertion    = 7000114 // unauthorized_client: OBO with an app-only token
	CodeIDTokenAssertion    = 240002  // invalid_grant: OBO with an id_token
	CodeInvalidGrant        = 70000   // invalid_grant: refresh token (or assertion) not valid
	CodeGrantExpired        = 70008   // invalid_grant: refresh token expired or revoked (replay)
	CodeRefreshTokenExpired = 700082  // invalid_grant + suberror bad_token: refresh token expired
	CodeGrantRevoked        = 50173   // invalid_grant: the refresh token's grant was revoked

	// Interactive flows: the authorization endpoint, its pages, the
	// authorization code and device code grants.
	CodeRedirectMismatch      = 50011   // the redirect URI is not registered: an error page, never a redirect
	CodeNoRedirectURI         = 500113  // the application has no redirect URI: an error page
	CodeNotMultiTenant        = 50194   // invalid_request: a single-tenant application at /common or /organizations
	CodeResponseType          = 700051  // unsupported_response_type
	CodeLoginRequired         = 50058   // login_required: prompt=none without a signed-in user
	CodeUserDeclinedConsent   = 65004   // access_denied: the user cancelled the consent page
	CodeAdminApprovalRequired = 90094   // the consent needs an administrator (an Admin-type permission)
	CodeUserConsentBlocked    = 90093   // the tenant does not let users consent
	CodeCodeRedeemed          = 54005   // invalid_grant: the authorization code was already redeemed
	CodeCodeVerifier          = 501481  // invalid_grant: code_verifier does not match code_challenge
	CodeRedirectNotSame       = 500112  // invalid_grant: redirect_uri differs from the authorization request's
	CodePKCERequired          = 9002325 // invalid_request: a single-page application must use PKCE
	CodeCrossOriginNotSPA     = 9002326 // invalid_request: cross-origin redemption of a non-SPA code
	CodeSPANeedsOrigin        = 9002327 // invalid_request: an SPA code redeemed without Origin
	CodeDevicePending         = 70016   // authorization_pending (and slow_down, see Error.oauth)
	CodeDeviceExpired         = 70019   // expired_token
	CodeBadVerificationCode   = 70018   // bad_verification_code: unknown device or user code
)

const (
	// errorURIBase is Microsoft's error lookup page. error_uri keeps it even
	// on our host: it is documentation of the code, not an endpoint of ours.
	errorURIBase               = "https://login.microsoftonline.com/error?code="
	subErrorConsentRequired    = "consent_required"
	subErrorBadToken           = "bad_token"
	metadataErrorInvalidTenant = "invalid_tenant"
)

// codeInfo is what Entra sends with one AADSTS code.
type codeInfo struct {
	oauth  string // the OAuth `error` member at the token endpoint
	status int
	// metadata, when set, replaces oauth on discovery, JWKS and instance
	// discovery: Entra answers AADSTS90002 there with invalid_tenant.
	metadata string
}

// codeTable maps every AADSTS code we emit to its `error` value and status.
// Sources and confidence are those of protocol.md §5.2; where Entra's
// `error` value was never captured we chose the documented or nearest one
// and say so.
var codeTable = map[int]codeInfo{
	CodeServerError: {"server_error", http.StatusInternalServerError, ""},
	// AADSTS90033 is Entra's MsodsServiceUnavailable: "The Microsoft
	// Online Directory Service (MSODS) isn't available", the documented
	// code for a directory store that cannot answer; a transient outage
	// is RFC 6749's temporarily_unavailable, which MSAL retries, and 503.
	CodeDirectoryUnavailable: {"temporarily_unavailable", http.StatusServiceUnavailable, ""},
	CodeTenantNotFound:       {"invalid_request", http.StatusBadRequest, metadataErrorInvalidTenant},
	CodeMalformedTenant:      {"invalid_request", http.StatusBadRequest, ""},
	CodeMissingParameter:     {"invalid_request", http.StatusBadRequest, ""},
	CodeTokenEndpointMethod:  {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS9002313 was captured with invalid_grant for a malformed refresh
	// token and with invalid_request for malformed requests; we use it for
	// request-level malformation (undecodable body, duplicated parameter),
	// so invalid_request.
	CodeMalformedRequest: {"invalid_request", http.StatusBadRequest, ""},
	CodeNoTenantInfo:     {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS901002's `error` was never captured [?]; it is a request-shape
	// error, so invalid_request.
	CodeResourceParameter: {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS70003's `error` is unsupported_grant_type in captures [O][?],
	// which is also RFC 6749 §5.2's value.
	CodeUnsupportedGrantType: {"unsupported_grant_type", http.StatusBadRequest, ""},
	CodeApplicationNotFound:  {"unauthorized_client", http.StatusBadRequest, ""},
	CodeApplicationDisabled:  {"unauthorized_client", http.StatusBadRequest, ""},
	// invalid_client is 401 in every capture (protocol.md §5.1).
	CodeMissingClientCred:   {"invalid_client", http.StatusUnauthorized, ""},
	CodePublicClientCred:    {"invalid_client", http.StatusUnauthorized, ""},
	CodeInvalidClientSecret: {"invalid_client", http.StatusUnauthorized, ""},
	CodeClientSecretExpired: {"invalid_client", http.StatusUnauthorized, ""},
	// AADSTS7000229 is invalid_client in captures (MSAL.NET reports it as
	// "A configuration issue is preventing authentication",
	// azure-sdk-for-net#46762), hence 401.
	CodeClientNoSP:           {"invalid_client", http.StatusUnauthorized, ""},
	CodeDefaultScopeRequired: {"invalid_scope", http.StatusBadRequest, ""},
	CodeInvalidScope:         {"invalid_scope", http.StatusBadRequest, ""},
	CodeResourceNotFound:     {"invalid_resource", http.StatusBadRequest, ""},
	// AADSTS500014's `error` was never captured [?]; it is the disabled
	// twin of 500011, so invalid_resource.
	CodeResourceDisabled: {"invalid_resource", http.StatusBadRequest, ""},
	// AADSTS501051 is reported both as invalid_grant (relayed captures) and
	// invalid_client (Microsoft's "protected web API: app registration"
	// article). We follow the Microsoft documentation, with the 400 status
	// the relayed captures show: the client did authenticate, it is the
	// resource's assignment rule that refuses it.
	CodeClientNotAssigned: {"invalid_client", http.StatusBadRequest, ""},
	CodeUserNotAssigned:   {"invalid_grant", http.StatusBadRequest, ""},
	CodeUserDisabled:      {"invalid_grant", http.StatusBadRequest, ""},
	CodeConsentRequired:   {"invalid_grant", http.StatusBadRequest, ""},
	CodeUnknownInstance:   {"invalid_instance", http.StatusBadRequest, ""},

	// Client assertions. AADSTS90011 ("Unexpected client assertion type")
	// was captured with invalid_request in 2016 (AzureAD ADAL Ruby #53).
	CodeAssertionType: {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS50027 and 90014 are invalid_request in MSAL.NET's captured
	// bodies (protocol.md §5.2).
	CodeAssertionMalformed:    {"invalid_request", http.StatusBadRequest, ""},
	CodeAssertionMissingClaim: {"invalid_request", http.StatusBadRequest, ""},
	// The assertion codes below are invalid_client in captures; their 401
	// is inferred from invalid_client [?] (protocol.md §5.2 status note).
	CodeAssertionNoKeyID:   {"invalid_client", http.StatusUnauthorized, ""},
	CodeAssertionAlgorithm: {"invalid_client", http.StatusUnauthorized, ""},
	CodeAssertionClient:    {"invalid_client", http.StatusUnauthorized, ""},
	CodeAssertionLifetime:  {"invalid_client", http.StatusUnauthorized, ""},
	CodeAssertionSignature: {"invalid_client", http.StatusUnauthorized, ""},
	// AADSTS50012 ("Client assertion audience claim does not match Realm
	// issuer") is the only captured answer to a wrong assertion audience
	// (2017, and the same wording in 2019-2020 reports); invalid_client.
	CodeAssertionAudience: {"invalid_client", http.StatusUnauthorized, ""},
	// AADSTS70021 was captured with invalid_request (2022,
	// azure-workload-identity#616); the newer per-field codes are
	// invalid_client.
	CodeFederationNoCredential: {"invalid_request", http.StatusBadRequest, ""},
	CodeFederationIssuer:       {"invalid_client", http.StatusUnauthorized, ""},
	CodeFederationAudience:     {"invalid_client", http.StatusUnauthorized, ""},
	CodeFederationSubject:      {"invalid_client", http.StatusUnauthorized, ""},
	CodeFederationSubjectCase:  {"invalid_client", http.StatusUnauthorized, ""},
	// AADSTS50166 "Request to External OIDC endpoint failed." was captured
	// with invalid_request (azure-workload-identity#642, 2022).
	CodeFederationFetch: {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS9001023 is documented and captured with invalid_request.
	CodeGrantNotOnCommon: {"invalid_request", http.StatusBadRequest, ""},
	// AADSTS28000's `error` was never captured [?]; it is a scope rule,
	// like 70011, so invalid_scope.
	CodeMultipleResources:  {"invalid_scope", http.StatusBadRequest, ""},
	CodeInvalidCredentials: {"invalid_grant", http.StatusBadRequest, ""},
	CodeUserNotFound:       {"invalid_grant", http.StatusBadRequest, ""},
	CodeNoPassword:         {"invalid_grant", http.StatusBadRequest, ""},
	CodeAssertionInvalid:   {"invalid_grant", http.StatusBadRequest, ""},
	// AADSTS500133's `error` is documented only as a message [?]; it is the
	// time-range twin of 50013, so invalid_grant.
	CodeAssertionExpired: {"invalid_grant", http.StatusBadRequest, ""},
	CodeOBOAudience:      {"invalid_grant", http.StatusBadRequest, ""},
	CodeAppOnlyAssertion: {"unauthorized_client", http.StatusBadRequest, ""},
	// AADSTS240002's `error` was never captured [?]: the grant (the
	// assertion) is what is wrong, so invalid_grant.
	CodeIDTokenAssertion:    {"invalid_grant", http.StatusBadRequest, ""},
	CodeInvalidGrant:        {"invalid_grant", http.StatusBadRequest, ""},
	CodeGrantExpired:        {"invalid_grant", http.StatusBadRequest, ""},
	CodeRefreshTokenExpired: {"invalid_grant", http.StatusBadRequest, ""},
	// AADSTS50173's `error` is not captured [?]; a revoked grant is
	// invalid_grant in RFC 6749 §5.2.
	CodeGrantRevoked: {"invalid_grant", http.StatusBadRequest, ""},

	// Interactive flows (Microsoft's error code reference and the v2
	// authorization code, device code and admin consent articles). Codes
	// shown on a page rather than redirected keep an OAuth value for the
	// sign-in log.
	CodeRedirectMismatch:      {"invalid_request", http.StatusBadRequest, ""},
	CodeNoRedirectURI:         {"invalid_request", http.StatusBadRequest, ""},
	CodeNotMultiTenant:        {"invalid_request", http.StatusBadRequest, ""},
	CodeResponseType:          {"unsupported_response_type", http.StatusBadRequest, ""},
	CodeLoginRequired:         {"login_required", http.StatusBadRequest, ""},
	CodeUserDeclinedConsent:   {"access_denied", http.StatusBadRequest, ""},
	CodeAdminApprovalRequired: {"access_denied", http.StatusBadRequest, ""},
	CodeUserConsentBlocked:    {"access_denied", http.StatusBadRequest, ""},
	CodeCodeRedeemed:          {"invalid_grant", http.StatusBadRequest, ""},
	CodeCodeVerifier:          {"invalid_grant", http.StatusBadRequest, ""},
	CodeRedirectNotSame:       {"invalid_grant", http.StatusBadRequest, ""},
	CodePKCERequired:          {"invalid_request", http.StatusBadRequest, ""},
	CodeCrossOriginNotSPA:     {"invalid_request", http.StatusBadRequest, ""},
	CodeSPANeedsOrigin:        {"invalid_request", http.StatusBadRequest, ""},
	// The device code flow's polling answers are RFC 8628 §3.5's, with the
	// AADSTS codes Entra documents for them.
	CodeDevicePending:       {"authorization_pending", http.StatusBadRequest, ""},
	CodeDeviceExpired:       {"expired_token", http.StatusBadRequest, ""},
	CodeBadVerificationCode: {"bad_verification_code", http.StatusBadRequest, ""},
}

// codeReasons names the rule behind each code for the sign-in log's
// `reason` (SignIn.Reason), so that every refusal says why, not only those
// the policy engine decided (whose consent.Reason it carries instead, and
// which these names repeat). A code added to codeTable needs a name here;
// TestCodeReasons checks it.
var codeReasons = map[int]string{
	CodeServerError:            "server_error",
	CodeDirectoryUnavailable:   "directory_unavailable",
	CodeTenantNotFound:         "tenant_not_found",
	CodeMalformedTenant:        "tenant_malformed",
	CodeMissingParameter:       "parameter_missing",
	CodeTokenEndpointMethod:    "method_not_post",
	CodeMalformedRequest:       "request_malformed",
	CodeNoTenantInfo:           "tenant_required",
	CodeResourceParameter:      "resource_parameter_on_v2",
	CodeUnsupportedGrantType:   "grant_type_unsupported",
	CodeApplicationNotFound:    "client_not_found",
	CodeApplicationDisabled:    "client_disabled",
	CodeMissingClientCred:      "client_credential_missing",
	CodePublicClientCred:       "public_client_credential",
	CodeInvalidClientSecret:    "client_secret_invalid",
	CodeClientSecretExpired:    "client_secret_expired",
	CodeClientNoSP:             "client_missing_service_principal",
	CodeDefaultScopeRequired:   "default_scope_required",
	CodeInvalidScope:           "scope_invalid",
	CodeResourceNotFound:       "resource_not_found",
	CodeResourceDisabled:       "resource_disabled",
	CodeClientNotAssigned:      "client_not_assigned",
	CodeUserNotAssigned:        "user_not_assigned",
	CodeUserDisabled:           "user_disabled",
	CodeConsentRequired:        "consent_required",
	CodeUnknownInstance:        "instance_unknown",
	CodeAssertionType:          "assertion_type_invalid",
	CodeAssertionMalformed:     "assertion_malformed",
	CodeAssertionMissingClaim:  "assertion_claim_missing",
	CodeAssertionNoKeyID:       "assertion_key_id_missing",
	CodeAssertionAlgorithm:     "assertion_algorithm_unsupported",
	CodeAssertionClient:        "assertion_client_mismatch",
	CodeAssertionAudience:      "assertion_audience_invalid",
	CodeAssertionLifetime:      "assertion_lifetime_invalid",
	CodeAssertionSignature:     "assertion_signature_invalid",
	CodeFederationNoCredential: "federated_credential_missing",
	CodeFederationIssuer:       "federated_issuer_mismatch",
	CodeFederationAudience:     "federated_audience_mismatch",
	CodeFederationSubject:      "federated_subject_mismatch",
	CodeFederationSubjectCase:  "federated_subject_case_mismatch",
	CodeFederationFetch:        "federated_issuer_unreachable",
	CodeGrantNotOnCommon:       "user_grant_needs_tenant",
	CodeMultipleResources:      "scopes_of_several_resources",
	CodeInvalidCredentials:     "user_credentials_invalid",
	CodeUserNotFound:           "user_not_found",
	CodeNoPassword:             "user_password_missing",
	CodeAssertionInvalid:       "user_assertion_invalid",
	CodeAssertionExpired:       "user_assertion_expired",
	CodeOBOAudience:            "user_assertion_audience_mismatch",
	CodeAppOnlyAssertion:       "user_assertion_app_only",
	CodeIDTokenAssertion:       "user_assertion_id_token",
	CodeInvalidGrant:           "grant_invalid",
	CodeGrantExpired:           "refresh_token_revoked",
	CodeRefreshTokenExpired:    "refresh_token_expired",
	CodeGrantRevoked:           "grant_revoked",
	CodeRedirectMismatch:       "redirect_uri_mismatch",
	CodeNoRedirectURI:          "redirect_uri_missing",
	CodeNotMultiTenant:         "client_not_multi_tenant",
	CodeResponseType:           "response_type_unsupported",
	CodeLoginRequired:          "login_required",
	CodeUserDeclinedConsent:    "consent_declined",
	CodeAdminApprovalRequired:  "admin_approval_required",
	CodeUserConsentBlocked:     "user_consent_blocked",
	CodeCodeRedeemed:           "code_redeemed",
	CodeCodeVerifier:           "code_verifier_mismatch",
	CodeRedirectNotSame:        "redirect_uri_differs",
	CodePKCERequired:           "pkce_required",
	CodeCrossOriginNotSPA:      "cross_origin_not_spa",
	CodeSPANeedsOrigin:         "spa_origin_missing",
	CodeDevicePending:          "authorization_pending",
	CodeDeviceExpired:          "device_code_expired",
	CodeBadVerificationCode:    "device_code_unknown",
}

// Reason names the rule that refused the request: codeReasons' name for
// the code.
func (e *Error) Reason() string {
	if r, ok := codeReasons[e.Code]; ok {
		return r
	}
	return "aadsts_" + strconv.Itoa(e.Code)
}

// subErrors gives the suberror Entra sends with some codes; MSAL reads it to
// decide that the user must sign in again (protocol.md §5.2: consent_required
// with 65001, bad_token with 50034 and 700082).
var subErrors = map[int]string{
	CodeConsentRequired:     subErrorConsentRequired,
	CodeUserNotFound:        subErrorBadToken,
	CodeRefreshTokenExpired: subErrorBadToken,
}

// Error is a refusal in Entra's vocabulary: an AADSTS code, the message that
// follows "AADSTSnnnn: " in error_description, and for some codes a
// suberror MSAL reads (consent_required, bad_token, …). Err is the internal
// cause: it is logged with the trace ID and never sent to the client.
type Error struct {
	Code     int
	Message  string
	SubError string
	Err      error

	// status overrides the table's HTTP status for refusals decided by the
	// HTTP layer rather than by Entra's rules (413 for an oversized body).
	status int
	// oauth overrides the table's `error` value where one AADSTS code
	// answers under two names (the device flow's slow_down and
	// authorization_declined).
	oauth string
}

// errorf returns an *Error with a formatted message.
func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), SubError: subErrors[code]}
}

// Error returns "AADSTSnnnn: message", the start of Entra's error_description.
func (e *Error) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.Code, e.Message) }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// OAuthError returns the OAuth `error` value Entra's token endpoint sends
// with this code; server_error for a code missing from the table.
func (e *Error) OAuthError() string {
	if e.oauth != "" {
		return e.oauth
	}
	if info, ok := codeTable[e.Code]; ok {
		return info.oauth
	}
	return codeTable[CodeServerError].oauth
}

// Status returns the HTTP status of the response carrying this error.
func (e *Error) Status() int {
	if e.status != 0 {
		return e.status
	}
	if info, ok := codeTable[e.Code]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// metadataError returns the `error` value on discovery, JWKS and instance
// discovery, where Entra says invalid_tenant for AADSTS90002.
func (e *Error) metadataError() string {
	if info, ok := codeTable[e.Code]; ok && info.metadata != "" {
		return info.metadata
	}
	return e.OAuthError()
}

// wrap returns a copy of e with cause attached; e itself, which may be a
// shared value, is not changed.
func (e *Error) wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// serverError turns an internal failure into AADSTS50000. Entra's message
// is generic; the cause goes to the log only.
func serverError(cause error) *Error {
	return errorf(CodeServerError, "There was an error issuing a token or an issue with our sign-in service. Quote the trace ID when reporting it.").wrap(cause)
}

// errMissing is AADSTS900144, Entra's answer to a required parameter left
// out of the request body.
func errMissing(name string) *Error {
	return errorf(CodeMissingParameter, "The request body must contain the following parameter: '%s'.", name)
}

// errNoClientCredential is AADSTS7000218: a confidential client sent
// neither a secret nor an assertion, or a public client asked for a grant
// that needs one.
func errNoClientCredential() *Error {
	return errorf(CodeMissingClientCred, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}
