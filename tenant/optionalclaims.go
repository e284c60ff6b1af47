package tenant

import (
	"fmt"
	"slices"
	"strings"
)

// OptionalClaims is an application's optionalClaims (Graph
// optionalClaims, the manifest's "optionalClaims"): claims Entra adds to
// the tokens issued for it. The resource's AccessToken list shapes the
// access tokens issued for it as an API; the client's IDToken list the
// id_tokens it receives. SAML2Token is kept and exported as configured;
// this issuer issues no SAML tokens.
type OptionalClaims struct {
	AccessToken []OptionalClaim `json:"accessToken"`
	IDToken     []OptionalClaim `json:"idToken"`
	SAML2Token  []OptionalClaim `json:"saml2Token"`
}

// OptionalClaim is one entry (Graph optionalClaim).
type OptionalClaim struct {
	Name                 string   `json:"name"`
	Source               *string  `json:"source"`
	Essential            bool     `json:"essential"`
	AdditionalProperties []string `json:"additionalProperties"`
}

// Token types of OptionalClaims, as the manifest names them.
const (
	TokenTypeAccess = "accessToken"
	TokenTypeID     = "idToken"
	TokenTypeSAML2  = "saml2Token"
)

// SupportedOptionalClaims are the optional claims this issuer issues, from
// Microsoft's optional claims reference ("Optional claims reference",
// v1.0 and v2.0 claims set): idtyp (access tokens: "app" or "user"), email,
// given_name, family_name, upn (in v2 tokens; v1 tokens carry it anyway),
// acct (0: a member of the tenant, the only kind of user here), ctry (the
// user's two-letter country) and login_hint (id tokens). ipaddr, xms_pdl,
// xms_tpl and tenant_ctry are not offered: every client of this issuer is
// on loopback, and the directory keeps no multi-geo data locations, tenant
// languages or tenant countries, so those claims could only carry invented
// values. groups is the entry the portal's "Add groups claim" writes
// beside groupMembershipClaims: that property selects the groups, the entry
// formats the claim in one token type (GroupsFormat).
var SupportedOptionalClaims = []string{"acct", "ctry", "email", "family_name", "given_name", "groups", "idtyp", "login_hint", "upn"}

// groupsClaimProperties are the additionalProperties of the groups optional
// claim (Entra's "Configure group claims for applications"). The three
// sam_account_name forms replace the object ids of groups synchronised
// from Active Directory; every group here is cloud-only, whose claim keeps
// its object id, so they are accepted and change nothing.
var groupsClaimProperties = []string{
	GroupsEmitAsRoles, GroupsCloudDisplayName,
	"sam_account_name", "dns_domain_and_sam_account_name", "netbios_domain_and_sam_account_name",
}

// Additional properties of the groups optional claim that change a token.
const (
	// GroupsEmitAsRoles puts the groups in the roles claim instead of
	// groups. Entra: "If emit_as_roles is used, any application roles
	// configured that the user is assigned to won't appear in the role
	// claim."
	GroupsEmitAsRoles = "emit_as_roles"
	// GroupsCloudDisplayName lists cloud-only groups by display name
	// instead of object id, for the groups assigned to the application
	// (groupMembershipClaims ApplicationGroup) only.
	GroupsCloudDisplayName = "cloud_displayname"
)

// GroupsFormat is how one token type lists its groups, from the groups
// entry of that type's optional claims.
type GroupsFormat struct {
	AsRoles      bool // emit_as_roles
	DisplayNames bool // cloud_displayname
}

// GroupsFormat reads the groups entry of the optional claims of kind
// (TokenTypeAccess or TokenTypeID); the zero value when there is none.
func (a Application) GroupsFormat(kind string) GroupsFormat {
	if a.OptionalClaims == nil {
		return GroupsFormat{}
	}
	list := a.OptionalClaims.AccessToken
	if kind == TokenTypeID {
		list = a.OptionalClaims.IDToken
	}
	var f GroupsFormat
	for _, c := range list {
		if c.Name != "groups" {
			continue
		}
		f.AsRoles = slices.Contains(c.AdditionalProperties, GroupsEmitAsRoles)
		f.DisplayNames = slices.Contains(c.AdditionalProperties, GroupsCloudDisplayName)
	}
	return f
}

// HasOptionalClaim reports whether the list names the claim (case-insensitively, as
// Entra matches claim names).
func HasOptionalClaim(list []OptionalClaim, name string) bool {
	return slices.ContainsFunc(list, func(c OptionalClaim) bool { return strings.EqualFold(c.Name, name) })
}

// IsZero reports whether no optional claim is configured.
func (o OptionalClaims) IsZero() bool {
	return len(o.AccessToken) == 0 && len(o.IDToken) == 0 && len(o.SAML2Token) == 0
}

// Validate checks every entry: a supported claim name (lowercased), at
// most once per token type; a source of nil or "user" (the only sources
// of the supported claims).
func (o *OptionalClaims) Validate() error {
	for _, l := range []struct {
		kind string
		list []OptionalClaim
	}{{TokenTypeAccess, o.AccessToken}, {TokenTypeID, o.IDToken}, {TokenTypeSAML2, o.SAML2Token}} {
		seen := map[string]bool{}
		for i := range l.list {
			c := &l.list[i]
			c.Name = strings.ToLower(strings.TrimSpace(c.Name))
			if !slices.Contains(SupportedOptionalClaims, c.Name) {
				return fmt.Errorf("%w: optional claim %q (%s) is not one this issuer issues: %s", ErrInvalid, c.Name, l.kind, strings.Join(SupportedOptionalClaims, ", "))
			}
			if seen[c.Name] {
				return fmt.Errorf("%w: optional claim %q is listed twice for %s", ErrInvalid, c.Name, l.kind)
			}
			seen[c.Name] = true
			if c.Source != nil && *c.Source != "" && !strings.EqualFold(*c.Source, "user") {
				return fmt.Errorf("%w: optional claim %q: source %q; want none or user", ErrInvalid, c.Name, *c.Source)
			}
			if c.Name == "groups" {
				if err := normalizeGroupsProperties(c, l.kind); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ParseOptionalClaim reads "TOKENTYPE:NAME" (accessToken:idtyp,
// idToken:email), the CLI's spelling of one manifest entry.
func ParseOptionalClaim(s string) (kind string, c OptionalClaim, err error) {
	kind, name, ok := strings.Cut(s, ":")
	switch {
	case !ok || name == "":
		return "", c, fmt.Errorf("%w: optional claim %q: want TOKENTYPE:NAME, e.g. accessToken:idtyp", ErrInvalid, s)
	case strings.EqualFold(kind, TokenTypeAccess):
		kind = TokenTypeAccess
	case strings.EqualFold(kind, TokenTypeID):
		kind = TokenTypeID
	case strings.EqualFold(kind, TokenTypeSAML2):
		kind = TokenTypeSAML2
	default:
		return "", c, fmt.Errorf("%w: optional claim %q: token type %q; want accessToken, idToken or saml2Token", ErrInvalid, s, kind)
	}
	return kind, OptionalClaim{Name: name, AdditionalProperties: []string{}}, nil
}

// Add puts c in the list of kind.
func (o *OptionalClaims) Add(kind string, c OptionalClaim) {
	switch kind {
	case TokenTypeAccess:
		o.AccessToken = append(o.AccessToken, c)
	case TokenTypeID:
		o.IDToken = append(o.IDToken, c)
	case TokenTypeSAML2:
		o.SAML2Token = append(o.SAML2Token, c)
	}
}

// normalizeGroupsProperties lowercases the groups entry's additional
// properties and refuses one Entra does not define.
func normalizeGroupsProperties(c *OptionalClaim, kind string) error {
	for i, p := range c.AdditionalProperties {
		p = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(groupsClaimProperties, p) {
			return fmt.Errorf("%w: optional claim groups (%s): additional property %q; want %s", ErrInvalid, kind, c.AdditionalProperties[i], strings.Join(groupsClaimProperties, ", "))
		}
		c.AdditionalProperties[i] = p
	}
	return nil
}
