package storage

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// Records are the stored JSON form of the domain types. JSON tags live only
// here, so a change of a domain type's JSON (its Graph shape) never changes
// the file format. A new field with a useful zero value needs no migration;
// renaming or retyping one does.
//
// Converters copy every slice and pointer, so a value read from the store
// never aliases another one (an updater may mutate freely). Times are stored
// in UTC.

type tenantRecord struct {
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName"`
	Domains         []string  `json:"domains"`
	UserConsent     string    `json:"userConsent,omitempty"`
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
}

func fromTenant(t tenant.Tenant) tenantRecord {
	return tenantRecord{
		ID: t.ID, DisplayName: t.DisplayName, Domains: cloneStrings(t.Domains),
		UserConsent: string(t.UserConsent), CreatedDateTime: t.CreatedDateTime.UTC(),
	}
}

func (r tenantRecord) toTenant() tenant.Tenant {
	return tenant.Tenant{
		ID: r.ID, DisplayName: r.DisplayName, Domains: cloneStrings(r.Domains),
		UserConsent: tenant.UserConsent(r.UserConsent), CreatedDateTime: r.CreatedDateTime,
	}
}

type applicationRecord struct {
	ID                     string                         `json:"id"`
	AppID                  string                         `json:"appId"`
	HomeTenantID           string                         `json:"homeTenantId"`
	DisplayName            string                         `json:"displayName"`
	SignInAudience         string                         `json:"signInAudience"`
	IdentifierURIs         []string                       `json:"identifierUris"`
	API                    apiRecord                      `json:"api"`
	AppRoles               []appRoleRecord                `json:"appRoles"`
	RequiredResourceAccess []requiredResourceAccessRecord `json:"requiredResourceAccess"`
	PasswordCredentials    []passwordCredentialRecord     `json:"passwordCredentials"`
	KeyCredentials         []keyCredentialRecord          `json:"keyCredentials"`
	// FederatedIdentityCredentials is absent in records written before
	// federated credentials existed, which decode as none: no migration.
	FederatedIdentityCredentials []federatedCredentialRecord `json:"federatedIdentityCredentials,omitempty"`
	IsFallbackPublicClient       bool                        `json:"isFallbackPublicClient,omitempty"`
	// Redirect URIs by platform; absent in records written before they
	// existed, which decode as none: no migration.
	Web          []string `json:"webRedirectUris,omitempty"`
	SPA          []string `json:"spaRedirectUris,omitempty"`
	PublicClient []string `json:"publicClientRedirectUris,omitempty"`
	// OptionalClaims is absent in records written before optional claims
	// existed, which decode as none: no migration.
	OptionalClaims *optionalClaimsRecord `json:"optionalClaims,omitempty"`
	// AccessTokenLifetimeSeconds is the token lifetime policy's setting;
	// absent (no policy) in records written before policies existed.
	AccessTokenLifetimeSeconds int64 `json:"accessTokenLifetimeSeconds,omitempty"`
	// GroupMembershipClaims is absent in records written before groups
	// existed, which decode as none: no migration.
	GroupMembershipClaims string    `json:"groupMembershipClaims,omitempty"`
	CreatedDateTime       time.Time `json:"createdDateTime,omitzero"`
	// Owners is absent in records written before owners existed, which
	// decode as none: no migration.
	Owners []string `json:"owners,omitempty"`
}

type optionalClaimsRecord struct {
	AccessToken []optionalClaimRecord `json:"accessToken,omitempty"`
	IDToken     []optionalClaimRecord `json:"idToken,omitempty"`
	SAML2Token  []optionalClaimRecord `json:"saml2Token,omitempty"`
}

type optionalClaimRecord struct {
	Name                 string   `json:"name"`
	Source               *string  `json:"source,omitempty"`
	Essential            bool     `json:"essential,omitempty"`
	AdditionalProperties []string `json:"additionalProperties,omitempty"`
}

func fromOptionalClaims(o *tenant.OptionalClaims) *optionalClaimsRecord {
	if o == nil || o.IsZero() {
		return nil
	}
	conv := func(l []tenant.OptionalClaim) []optionalClaimRecord {
		var out []optionalClaimRecord
		for _, c := range l {
			r := optionalClaimRecord{Name: c.Name, Essential: c.Essential, AdditionalProperties: cloneStringsOrNil(c.AdditionalProperties)}
			if c.Source != nil {
				src := *c.Source
				r.Source = &src
			}
			out = append(out, r)
		}
		return out
	}
	return &optionalClaimsRecord{AccessToken: conv(o.AccessToken), IDToken: conv(o.IDToken), SAML2Token: conv(o.SAML2Token)}
}

// toOptionalClaims returns the domain value: nil for none; a list
// configured empty is an empty array, as Graph shows it.
func (r *optionalClaimsRecord) toOptionalClaims() *tenant.OptionalClaims {
	if r == nil {
		return nil
	}
	conv := func(l []optionalClaimRecord) []tenant.OptionalClaim {
		out := []tenant.OptionalClaim{}
		for _, c := range l {
			oc := tenant.OptionalClaim{Name: c.Name, Essential: c.Essential, AdditionalProperties: cloneStrings(c.AdditionalProperties)}
			if c.Source != nil {
				src := *c.Source
				oc.Source = &src
			}
			out = append(out, oc)
		}
		return out
	}
	return &tenant.OptionalClaims{AccessToken: conv(r.AccessToken), IDToken: conv(r.IDToken), SAML2Token: conv(r.SAML2Token)}
}

type apiRecord struct {
	RequestedAccessTokenVersion *int                    `json:"requestedAccessTokenVersion,omitempty"`
	OAuth2PermissionScopes      []permissionScopeRecord `json:"oauth2PermissionScopes"`
}

type appRoleRecord struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
}

type permissionScopeRecord struct {
	ID                      string `json:"id"`
	Value                   string `json:"value"`
	Type                    string `json:"type"`
	AdminConsentDisplayName string `json:"adminConsentDisplayName"`
	AdminConsentDescription string `json:"adminConsentDescription"`
	UserConsentDisplayName  string `json:"userConsentDisplayName"`
	UserConsentDescription  string `json:"userConsentDescription"`
	IsEnabled               bool   `json:"isEnabled"`
}

type requiredResourceAccessRecord struct {
	ResourceAppID  string                 `json:"resourceAppId"`
	ResourceAccess []resourceAccessRecord `json:"resourceAccess"`
}

type resourceAccessRecord struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// passwordCredentialRecord keeps the salted hash of a client secret, never
// the secret.
type passwordCredentialRecord struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Hint          string    `json:"hint"`
	StartDateTime time.Time `json:"startDateTime,omitzero"`
	EndDateTime   time.Time `json:"endDateTime,omitzero"`
	Salt          []byte    `json:"salt"`
	Hash          []byte    `json:"hash"`
}

type keyCredentialRecord struct {
	KeyID               string    `json:"keyId"`
	DisplayName         string    `json:"displayName"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
	StartDateTime       time.Time `json:"startDateTime,omitzero"`
	EndDateTime         time.Time `json:"endDateTime,omitzero"`
	CustomKeyIdentifier []byte    `json:"customKeyIdentifier"`
	Thumbprint256       []byte    `json:"thumbprintSha256"`
	Key                 []byte    `json:"key"`
}

func fromApplication(a tenant.Application) applicationRecord {
	return applicationRecord{
		ID: a.ID, AppID: a.AppID, HomeTenantID: a.HomeTenantID, DisplayName: a.DisplayName,
		SignInAudience: a.SignInAudience, IdentifierURIs: cloneStrings(a.IdentifierURIs),
		API: apiRecord{
			RequestedAccessTokenVersion: cloneInt(a.API.RequestedAccessTokenVersion),
			OAuth2PermissionScopes:      convert(a.API.OAuth2PermissionScopes, fromPermissionScope),
		},
		AppRoles:                     convert(a.AppRoles, fromAppRole),
		RequiredResourceAccess:       convert(a.RequiredResourceAccess, fromRequiredResourceAccess),
		PasswordCredentials:          convert(a.PasswordCredentials, fromPasswordCredential),
		KeyCredentials:               convert(a.KeyCredentials, fromKeyCredential),
		FederatedIdentityCredentials: convertOrNil(a.FederatedIdentityCredentials, fromFederatedCredential),
		IsFallbackPublicClient:       a.IsFallbackPublicClient,
		Web:                          cloneStringsOrNil(a.Web.RedirectURIs),
		SPA:                          cloneStringsOrNil(a.SPA.RedirectURIs),
		PublicClient:                 cloneStringsOrNil(a.PublicClient.RedirectURIs),
		OptionalClaims:               fromOptionalClaims(a.OptionalClaims),
		AccessTokenLifetimeSeconds:   accessTokenLifetimeSeconds(a.TokenLifetimePolicy),
		GroupMembershipClaims:        a.GroupMembershipClaims,
		CreatedDateTime:              a.CreatedDateTime.UTC(),
		Owners:                       cloneStringsOrNil(a.Owners),
	}
}

func accessTokenLifetimeSeconds(p *tenant.TokenLifetimePolicy) int64 {
	if p == nil {
		return 0
	}
	return int64(p.AccessTokenLifetime / time.Second)
}

func (r applicationRecord) toApplication() tenant.Application {
	return tenant.Application{
		ID: r.ID, AppID: r.AppID, HomeTenantID: r.HomeTenantID, DisplayName: r.DisplayName,
		SignInAudience: r.SignInAudience, IdentifierURIs: cloneStrings(r.IdentifierURIs),
		API: tenant.API{
			RequestedAccessTokenVersion: cloneInt(r.API.RequestedAccessTokenVersion),
			OAuth2PermissionScopes:      convert(r.API.OAuth2PermissionScopes, permissionScopeRecord.toPermissionScope),
		},
		AppRoles:                     convert(r.AppRoles, appRoleRecord.toAppRole),
		RequiredResourceAccess:       convert(r.RequiredResourceAccess, requiredResourceAccessRecord.toRequiredResourceAccess),
		PasswordCredentials:          convert(r.PasswordCredentials, passwordCredentialRecord.toPasswordCredential),
		KeyCredentials:               convert(r.KeyCredentials, keyCredentialRecord.toKeyCredential),
		FederatedIdentityCredentials: convertOrNil(r.FederatedIdentityCredentials, federatedCredentialRecord.toFederatedCredential),
		IsFallbackPublicClient:       r.IsFallbackPublicClient,
		Web:                          tenant.RedirectURIs{RedirectURIs: cloneStrings(r.Web)},
		SPA:                          tenant.RedirectURIs{RedirectURIs: cloneStrings(r.SPA)},
		PublicClient:                 tenant.RedirectURIs{RedirectURIs: cloneStrings(r.PublicClient)},
		OptionalClaims:               r.OptionalClaims.toOptionalClaims(),
		TokenLifetimePolicy:          tokenLifetimePolicy(r.AccessTokenLifetimeSeconds),
		GroupMembershipClaims:        r.GroupMembershipClaims,
		CreatedDateTime:              r.CreatedDateTime,
		Owners:                       cloneStringsOrNil(r.Owners),
	}
}

func tokenLifetimePolicy(seconds int64) *tenant.TokenLifetimePolicy {
	if seconds == 0 {
		return nil
	}
	return &tenant.TokenLifetimePolicy{AccessTokenLifetime: time.Duration(seconds) * time.Second}
}

func fromAppRole(r tenant.AppRole) appRoleRecord {
	return appRoleRecord{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
		AllowedMemberTypes: cloneStrings(r.AllowedMemberTypes), IsEnabled: r.IsEnabled}
}

func (r appRoleRecord) toAppRole() tenant.AppRole {
	return tenant.AppRole{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
		AllowedMemberTypes: cloneStrings(r.AllowedMemberTypes), IsEnabled: r.IsEnabled}
}

func fromPermissionScope(s tenant.PermissionScope) permissionScopeRecord {
	return permissionScopeRecord(s)
}

func (r permissionScopeRecord) toPermissionScope() tenant.PermissionScope {
	return tenant.PermissionScope(r)
}

func fromRequiredResourceAccess(a tenant.RequiredResourceAccess) requiredResourceAccessRecord {
	return requiredResourceAccessRecord{ResourceAppID: a.ResourceAppID,
		ResourceAccess: convert(a.ResourceAccess, func(ra tenant.ResourceAccess) resourceAccessRecord { return resourceAccessRecord(ra) })}
}

func (r requiredResourceAccessRecord) toRequiredResourceAccess() tenant.RequiredResourceAccess {
	return tenant.RequiredResourceAccess{ResourceAppID: r.ResourceAppID,
		ResourceAccess: convert(r.ResourceAccess, func(ra resourceAccessRecord) tenant.ResourceAccess { return tenant.ResourceAccess(ra) })}
}

func fromPasswordCredential(c tenant.PasswordCredential) passwordCredentialRecord {
	return passwordCredentialRecord{KeyID: c.KeyID, DisplayName: c.DisplayName, Hint: c.Hint,
		StartDateTime: c.StartDateTime.UTC(), EndDateTime: c.EndDateTime.UTC(),
		Salt: bytes.Clone(c.Salt), Hash: bytes.Clone(c.Hash)}
}

func (r passwordCredentialRecord) toPasswordCredential() tenant.PasswordCredential {
	return tenant.PasswordCredential{KeyID: r.KeyID, DisplayName: r.DisplayName, Hint: r.Hint,
		StartDateTime: r.StartDateTime, EndDateTime: r.EndDateTime,
		Salt: bytes.Clone(r.Salt), Hash: bytes.Clone(r.Hash)}
}

func fromKeyCredential(c tenant.KeyCredential) keyCredentialRecord {
	return keyCredentialRecord{KeyID: c.KeyID, DisplayName: c.DisplayName, Type: c.Type, Usage: c.Usage,
		StartDateTime: c.StartDateTime.UTC(), EndDateTime: c.EndDateTime.UTC(),
		CustomKeyIdentifier: bytes.Clone(c.CustomKeyIdentifier), Thumbprint256: bytes.Clone(c.Thumbprint256),
		Key: bytes.Clone(c.Key)}
}

func (r keyCredentialRecord) toKeyCredential() tenant.KeyCredential {
	return tenant.KeyCredential{KeyID: r.KeyID, DisplayName: r.DisplayName, Type: r.Type, Usage: r.Usage,
		StartDateTime: r.StartDateTime, EndDateTime: r.EndDateTime,
		CustomKeyIdentifier: bytes.Clone(r.CustomKeyIdentifier), Thumbprint256: bytes.Clone(r.Thumbprint256),
		Key: bytes.Clone(r.Key)}
}

// federatedCredentialRecord is a federated identity credential; Graph's
// property names.
type federatedCredentialRecord struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description,omitempty"`
}

func fromFederatedCredential(c tenant.FederatedIdentityCredential) federatedCredentialRecord {
	return federatedCredentialRecord{ID: c.ID, Name: c.Name, Issuer: c.Issuer, Subject: c.Subject,
		Audiences: cloneStrings(c.Audiences), Description: c.Description}
}

func (r federatedCredentialRecord) toFederatedCredential() tenant.FederatedIdentityCredential {
	return tenant.FederatedIdentityCredential{ID: r.ID, Name: r.Name, Issuer: r.Issuer, Subject: r.Subject,
		Audiences: cloneStrings(r.Audiences), Description: r.Description}
}

type servicePrincipalRecord struct {
	ID                        string `json:"id"`
	AppID                     string `json:"appId"`
	TenantID                  string `json:"tenantId"`
	AppOwnerOrganizationID    string `json:"appOwnerOrganizationId"`
	DisplayName               string `json:"displayName"`
	AccountEnabled            bool   `json:"accountEnabled"`
	AppRoleAssignmentRequired bool   `json:"appRoleAssignmentRequired"`
	// A managed identity's type and names (tenant.ManagedIdentitySpec);
	// absent for an application's service principal, so that records
	// written before managed identities existed read the same.
	ServicePrincipalType string   `json:"servicePrincipalType,omitempty"`
	AlternativeNames     []string `json:"alternativeNames,omitempty"`
	// Owners is absent in records written before service principals had
	// owners, which read as none.
	Owners []string `json:"owners,omitempty"`
}

func fromServicePrincipal(sp tenant.ServicePrincipal) servicePrincipalRecord {
	return servicePrincipalRecord(sp)
}

func (r servicePrincipalRecord) toServicePrincipal() tenant.ServicePrincipal {
	return tenant.ServicePrincipal(r)
}

type userRecord struct {
	ID                string    `json:"id"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	AccountEnabled    bool      `json:"accountEnabled"`
	CreatedDateTime   time.Time `json:"createdDateTime,omitzero"`
	DirectoryRoles    []string  `json:"directoryRoles,omitempty"`
	Mail              string    `json:"mail,omitempty"`
	GivenName         string    `json:"givenName,omitempty"`
	Surname           string    `json:"surname,omitempty"`
	Country           string    `json:"country,omitempty"`
	// PasswordHash is the argon2id PHC string, or empty.
	PasswordHash               string    `json:"passwordHash,omitempty"`
	LastPasswordChangeDateTime time.Time `json:"lastPasswordChangeDateTime,omitzero"`
	// PasswordGeneration counts the password changes the record has seen
	// (absent before it existed: 0), and PasswordRevokedDateTime is when
	// the last one revoked the user's password-based refresh tokens. A
	// token records the generation it was issued at and reads as revoked
	// at that time once the user's has moved on (getRefreshTokenTx), so
	// that a password change is one write however many tokens it revokes.
	PasswordGeneration      uint64    `json:"passwordGeneration,omitempty"`
	PasswordRevokedDateTime time.Time `json:"passwordRevokedDateTime,omitzero"`
}

func fromUser(u tenant.User) userRecord {
	return userRecord{ID: u.ID, TenantID: u.TenantID, UserPrincipalName: u.UserPrincipalName,
		DisplayName: u.DisplayName, AccountEnabled: u.AccountEnabled,
		CreatedDateTime: u.CreatedDateTime.UTC(), PasswordHash: u.PasswordHash,
		LastPasswordChangeDateTime: utcOrZero(u.LastPasswordChangeDateTime),
		DirectoryRoles:             cloneStringsOrNil(u.DirectoryRoles),
		Mail:                       u.Mail, GivenName: u.GivenName, Surname: u.Surname, Country: u.Country}
}

func (r userRecord) toUser() tenant.User {
	return tenant.User{ID: r.ID, TenantID: r.TenantID, UserPrincipalName: r.UserPrincipalName,
		DisplayName: r.DisplayName, AccountEnabled: r.AccountEnabled,
		CreatedDateTime: r.CreatedDateTime, PasswordHash: r.PasswordHash,
		LastPasswordChangeDateTime: r.LastPasswordChangeDateTime,
		DirectoryRoles:             cloneStringsOrNil(r.DirectoryRoles),
		Mail:                       r.Mail, GivenName: r.GivenName, Surname: r.Surname, Country: r.Country}
}

// groupRecord is a group; its members are not in it but in the tenant's
// group_members and member_of indexes (a group may have thousands).
type groupRecord struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenantId"`
	DisplayName     string    `json:"displayName"`
	Description     string    `json:"description,omitempty"`
	MailNickname    string    `json:"mailNickname"`
	MailEnabled     bool      `json:"mailEnabled,omitempty"`
	SecurityEnabled bool      `json:"securityEnabled,omitempty"`
	GroupTypes      []string  `json:"groupTypes,omitempty"`
	Mail            string    `json:"mail,omitempty"`
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
}

func fromGroup(g tenant.Group) groupRecord {
	return groupRecord{ID: g.ID, TenantID: g.TenantID, DisplayName: g.DisplayName, Description: g.Description,
		MailNickname: g.MailNickname, MailEnabled: g.MailEnabled, SecurityEnabled: g.SecurityEnabled,
		GroupTypes: cloneStringsOrNil(g.GroupTypes), Mail: g.Mail, CreatedDateTime: g.CreatedDateTime.UTC()}
}

func (r groupRecord) toGroup() tenant.Group {
	return tenant.Group{ID: r.ID, TenantID: r.TenantID, DisplayName: r.DisplayName, Description: r.Description,
		MailNickname: r.MailNickname, MailEnabled: r.MailEnabled, SecurityEnabled: r.SecurityEnabled,
		GroupTypes: cloneStringsOrNil(r.GroupTypes), Mail: r.Mail, CreatedDateTime: r.CreatedDateTime}
}

type assignmentRecord struct {
	ID                   string    `json:"id"`
	TenantID             string    `json:"tenantId"`
	AppRoleID            string    `json:"appRoleId"`
	PrincipalID          string    `json:"principalId"`
	PrincipalType        string    `json:"principalType"`
	PrincipalDisplayName string    `json:"principalDisplayName"`
	ResourceID           string    `json:"resourceId"`
	ResourceDisplayName  string    `json:"resourceDisplayName"`
	CreatedDateTime      time.Time `json:"createdDateTime,omitzero"`
}

func fromAssignment(a consent.AppRoleAssignment) assignmentRecord {
	r := assignmentRecord(a)
	r.CreatedDateTime = a.CreatedDateTime.UTC()
	return r
}

func (r assignmentRecord) toAssignment() consent.AppRoleAssignment {
	return consent.AppRoleAssignment(r)
}

type grantRecord struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenantId"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId,omitempty"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

func fromGrant(g consent.PermissionGrant) grantRecord { return grantRecord(g) }

func (r grantRecord) toGrant() consent.PermissionGrant { return consent.PermissionGrant(r) }

// keyRecord holds a signing key: the RSA private key as PKCS #8 DER and the
// self-signed certificate as DER (both base64 in JSON).
type keyRecord struct {
	KeyID           string    `json:"kid"`
	PrivateKey      []byte    `json:"privateKeyPkcs8"`
	Certificate     []byte    `json:"certificate"`
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
	RetiredDateTime time.Time `json:"retiredDateTime,omitzero"`
	ExpiresDateTime time.Time `json:"expiresDateTime,omitzero"`
}

func fromSigningKey(k tenant.SigningKey) (keyRecord, error) {
	if k.PrivateKey == nil || k.Certificate == nil {
		return keyRecord{}, fmt.Errorf("%w: signing key %s needs a private key and a certificate", tenant.ErrInvalid, k.KeyID)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return keyRecord{}, fmt.Errorf("storage: encode signing key %s: %w", k.KeyID, err)
	}
	return keyRecord{
		KeyID: k.KeyID, PrivateKey: der, Certificate: bytes.Clone(k.Certificate.Raw),
		CreatedDateTime: k.CreatedDateTime.UTC(), RetiredDateTime: k.RetiredDateTime.UTC(),
		ExpiresDateTime: k.ExpiresDateTime.UTC(),
	}, nil
}

func (r keyRecord) toSigningKey() (tenant.SigningKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(r.PrivateKey)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("storage: decode signing key %s: %w", r.KeyID, err)
	}
	rsaKey, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return tenant.SigningKey{}, fmt.Errorf("storage: decode signing key %s: private key is %T, not RSA", r.KeyID, priv)
	}
	cert, err := x509.ParseCertificate(r.Certificate)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("storage: decode signing key %s: certificate: %w", r.KeyID, err)
	}
	return tenant.SigningKey{
		KeyID: r.KeyID, PrivateKey: rsaKey, Certificate: cert,
		CreatedDateTime: r.CreatedDateTime, RetiredDateTime: r.RetiredDateTime, ExpiresDateTime: r.ExpiresDateTime,
	}, nil
}

// convert maps a slice, returning an empty (not nil) slice for an empty
// input so that Graph-shaped JSON shows [] rather than null.
func convert[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// convertOrNil is convert for lists the domain keeps nil when empty
// (federated credentials, which Graph does not show inline).
func convertOrNil[T, U any](in []T, f func(T) U) []U {
	if len(in) == 0 {
		return nil
	}
	return convert(in, f)
}

func cloneStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// cloneStringsOrNil copies s, keeping an empty list nil (omitted in
// records, and the domain's "none" for optional lists).
func cloneStringsOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// refreshTokenRecord is a refresh token's record, stored under its hash;
// the token text is never stored.
type refreshTokenRecord struct {
	FamilyID           string    `json:"familyId"`
	TenantID           string    `json:"tenantId"`
	ClientAppID        string    `json:"clientAppId"`
	UserID             string    `json:"userId"`
	Resource           string    `json:"resource"`
	Scopes             []string  `json:"scopes,omitempty"`
	IssuedDateTime     time.Time `json:"issuedDateTime"`
	ExpiresDateTime    time.Time `json:"expiresDateTime"`
	LastUsedDateTime   time.Time `json:"lastUsedDateTime,omitzero"`
	RotatedDateTime    time.Time `json:"rotatedDateTime,omitzero"`
	RevokedDateTime    time.Time `json:"revokedDateTime,omitzero"`
	PasswordBased      bool      `json:"passwordBased,omitempty"`
	ConfidentialClient bool      `json:"confidentialClient,omitempty"`
	SPA                bool      `json:"singlePageApplication,omitempty"`
	// PasswordGeneration is the user's password generation when a token
	// that a password change revokes was issued (userRecord).
	PasswordGeneration uint64 `json:"passwordGeneration,omitempty"`
}

func fromRefreshToken(t tenant.RefreshToken) refreshTokenRecord {
	return refreshTokenRecord{
		FamilyID: t.FamilyID, TenantID: t.TenantID, ClientAppID: t.ClientAppID, UserID: t.UserID,
		Resource: t.Resource, Scopes: slices.Clone(t.Scopes),
		IssuedDateTime: t.IssuedDateTime.UTC(), ExpiresDateTime: t.ExpiresDateTime.UTC(),
		LastUsedDateTime: utcOrZero(t.LastUsedDateTime), RotatedDateTime: utcOrZero(t.RotatedDateTime),
		RevokedDateTime: utcOrZero(t.RevokedDateTime),
		PasswordBased:   t.PasswordBased, ConfidentialClient: t.ConfidentialClient, SPA: t.SPA,
	}
}

func (r refreshTokenRecord) toRefreshToken(hash string) tenant.RefreshToken {
	return tenant.RefreshToken{
		Hash: hash, FamilyID: r.FamilyID, TenantID: r.TenantID, ClientAppID: r.ClientAppID, UserID: r.UserID,
		Resource: r.Resource, Scopes: slices.Clone(r.Scopes),
		IssuedDateTime: r.IssuedDateTime, ExpiresDateTime: r.ExpiresDateTime,
		LastUsedDateTime: r.LastUsedDateTime, RotatedDateTime: r.RotatedDateTime, RevokedDateTime: r.RevokedDateTime,
		PasswordBased: r.PasswordBased, ConfidentialClient: r.ConfidentialClient, SPA: r.SPA,
	}
}

// utcOrZero converts t to UTC, keeping the zero time zero.
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
