package tenant

import (
	"errors"
	"testing"
)

// TestOptionalClaimsValidate: only the claims this issuer issues, once per
// token type, with no source but the user; names are lowercased.
func TestOptionalClaimsValidate(t *testing.T) {
	user, other := "user", "device"
	for _, tc := range []struct {
		name    string
		oc      OptionalClaims
		wantErr bool
	}{
		{"supported claims", OptionalClaims{AccessToken: []OptionalClaim{{Name: "IDTYP"}, {Name: "email"}}, IDToken: []OptionalClaim{{Name: "login_hint"}}}, false},
		{"source user", OptionalClaims{IDToken: []OptionalClaim{{Name: "upn", Source: &user}}}, false},
		{"unknown claim", OptionalClaims{AccessToken: []OptionalClaim{{Name: "ipaddr"}}}, true},
		{"twice", OptionalClaims{AccessToken: []OptionalClaim{{Name: "email"}, {Name: "Email"}}}, true},
		{"other source", OptionalClaims{AccessToken: []OptionalClaim{{Name: "email", Source: &other}}}, true},
		{"saml2 checked too", OptionalClaims{SAML2Token: []OptionalClaim{{Name: "xms_pdl"}}}, true},
		{"groups with its properties", OptionalClaims{IDToken: []OptionalClaim{{Name: "groups", AdditionalProperties: []string{"Emit_As_Roles", "cloud_displayname", "netbios_domain_and_sam_account_name"}}}}, false},
		{"groups with an unknown property", OptionalClaims{IDToken: []OptionalClaim{{Name: "groups", AdditionalProperties: []string{"emit_as_groups"}}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.oc.Validate()
			if (err != nil) != tc.wantErr || err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v; want error %v (ErrInvalid)", err, tc.wantErr)
			}
			if err == nil && len(tc.oc.AccessToken) > 0 && tc.oc.AccessToken[0].Name != "idtyp" {
				t.Errorf("name = %q; want it lowercased", tc.oc.AccessToken[0].Name)
			}
		})
	}
}

// TestGroupsFormat: the groups entry of one token type, its properties
// lowercased by Validate, formats that type's groups claim only.
func TestGroupsFormat(t *testing.T) {
	oc := OptionalClaims{
		AccessToken: []OptionalClaim{{Name: "email"}, {Name: "Groups", AdditionalProperties: []string{"EMIT_AS_ROLES"}}},
		IDToken:     []OptionalClaim{{Name: "groups", AdditionalProperties: []string{"cloud_displayname", "sam_account_name"}}},
	}
	if err := oc.Validate(); err != nil {
		t.Fatal(err)
	}
	app := Application{OptionalClaims: &oc}
	for _, tc := range []struct {
		name string
		app  Application
		kind string
		want GroupsFormat
	}{
		{"access token", app, TokenTypeAccess, GroupsFormat{AsRoles: true}},
		{"id_token", app, TokenTypeID, GroupsFormat{DisplayNames: true}},
		{"no optional claims", Application{}, TokenTypeAccess, GroupsFormat{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.app.GroupsFormat(tc.kind); got != tc.want {
				t.Errorf("GroupsFormat(%s) = %+v; want %+v", tc.kind, got, tc.want)
			}
		})
	}
}

// TestParseOptionalClaim: the CLI's TOKENTYPE:NAME.
func TestParseOptionalClaim(t *testing.T) {
	for _, tc := range []struct {
		in, kind, name string
		wantErr        bool
	}{
		{"accessToken:idtyp", TokenTypeAccess, "idtyp", false},
		{"IDTOKEN:email", TokenTypeID, "email", false},
		{"saml2token:upn", TokenTypeSAML2, "upn", false},
		{"email", "", "", true},
		{"accessToken:", "", "", true},
		{"refreshToken:email", "", "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			kind, c, err := ParseOptionalClaim(tc.in)
			if (err != nil) != tc.wantErr || kind != tc.kind || c.Name != tc.name {
				t.Errorf("ParseOptionalClaim(%q) = %q %q %v; want %q %q error %v", tc.in, kind, c.Name, err, tc.kind, tc.name, tc.wantErr)
			}
		})
	}
}

// TestUserAttributes: mail must be an address, country two letters
// (uppercased); "" clears.
func TestUserAttributes(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name    string
		a       UserAttributes
		want    User
		wantErr bool
	}{
		{"all", UserAttributes{Mail: s("ada@example.com"), GivenName: s(" Ada "), Surname: s("Lovelace"), Country: s("gb")},
			User{Mail: "ada@example.com", GivenName: "Ada", Surname: "Lovelace", Country: "GB"}, false},
		{"clear", UserAttributes{Mail: s(""), Country: s("")}, User{GivenName: "Old"}, false},
		{"mail without @", UserAttributes{Mail: s("ada")}, User{}, true},
		{"mail with a bad domain", UserAttributes{Mail: s("ada@no_dots")}, User{}, true},
		{"three-letter country", UserAttributes{Country: s("GBR")}, User{}, true},
		{"digits for a country", UserAttributes{Country: s("12")}, User{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := User{Mail: "old@example.com", GivenName: "Old", Country: "FR"}
			err := tc.a.apply(&u)
			if (err != nil) != tc.wantErr {
				t.Fatalf("apply = %v; want error %v", err, tc.wantErr)
			}
			if err == nil && (u.Mail != tc.want.Mail || u.GivenName != tc.want.GivenName || u.Surname != tc.want.Surname || u.Country != tc.want.Country) {
				t.Errorf("user = %+v; want %+v", u, tc.want)
			}
		})
	}
}
