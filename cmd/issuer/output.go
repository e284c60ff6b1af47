package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// field is one "key: value" line of an object's text output.
type field struct{ key, value string }

// isJSON reports whether --output json was given.
func isJSON(c *cli.Context) bool { return outputFormat(c) == "json" }

// printObject prints one object: v as indented JSON with --output json,
// otherwise fields as aligned "key: value" lines.
func printObject(c *cli.Context, v any, fields []field) error {
	if isJSON(c) {
		return writeJSON(c.App.Writer, v)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 1, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f.key, f.value)
	}
	return tw.Flush()
}

// printTable prints a list: v (a slice) as a JSON array with --output json,
// otherwise rows under header as aligned columns.
func printTable(c *cli.Context, v any, header []string, rows [][]string) error {
	if isJSON(c) {
		return writeJSON(c.App.Writer, v)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// listAction is the action of a list command, which takes no arguments:
// list finds the items in the directory (and wraps its error for the
// reader), and printList prints them.
func listAction[T, V any](list func(*cli.Context, *tenant.Directory) ([]T, error), view func(T) V, header []string, row func(T) []string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if _, err := requireArgs(c); err != nil {
			return err
		}
		return withDirectory(c, func(dir *tenant.Directory) error {
			items, err := list(c, dir)
			if err != nil {
				return err
			}
			return printList(c, items, view, header, row)
		})
	}
}

// printList prints items as printTable does: with --output json an array
// of view(item) ([] for none), otherwise a table of row(item).
func printList[T, V any](c *cli.Context, items []T, view func(T) V, header []string, row func(T) []string) error {
	views := make([]V, 0, len(items))
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		views = append(views, view(it))
		rows = append(rows, row(it))
	}
	return printTable(c, views, header, rows)
}

// same is the view of a list that prints its items as they are (Graph
// shapes).
func same[T any](v T) T { return v }

// printDone prints a confirmation line for people; with --output json it
// prints nothing, as Graph answers a DELETE with no body.
func printDone(c *cli.Context, format string, args ...any) error {
	if isJSON(c) {
		return nil
	}
	_, err := fmt.Fprintf(c.App.Writer, format+"\n", args...)
	return err
}

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ---- text views of the domain types ----

func tenantFields(t tenant.Tenant) []field {
	return []field{
		{"id", t.ID},
		{"displayName", t.DisplayName},
		{"domains", list(t.Domains)},
		{"userConsent", string(t.UserConsent)},
		{"createdDateTime", timeText(t.CreatedDateTime)},
	}
}

var tenantHeader = []string{"ID", "DISPLAY NAME", "DOMAINS"}

func tenantRow(t tenant.Tenant) []string {
	return []string{t.ID, t.DisplayName, list(t.Domains)}
}

// applicationFields is the text view of an application; sp, when known, is
// its service principal in the home tenant.
func applicationFields(a tenant.Application, sp *tenant.ServicePrincipal) []field {
	fs := []field{
		{"appId", a.AppID},
		{"id", a.ID},
		{"displayName", a.DisplayName},
		{"homeTenantId", a.HomeTenantID},
		{"signInAudience", a.SignInAudience},
		{"identifierUris", list(a.IdentifierURIs)},
		{"accessTokenVersion", strconv.Itoa(a.TokenVersion())},
		{"isFallbackPublicClient", strconv.FormatBool(a.IsFallbackPublicClient)},
	}
	for _, pl := range []struct {
		name string
		uris []string
	}{{"web.redirectUris", a.Web.RedirectURIs}, {"spa.redirectUris", a.SPA.RedirectURIs}, {"publicClient.redirectUris", a.PublicClient.RedirectURIs}} {
		if len(pl.uris) > 0 {
			fs = append(fs, field{pl.name, list(pl.uris)})
		}
	}
	if oc := a.OptionalClaims; oc != nil {
		for _, l := range []struct {
			kind string
			list []tenant.OptionalClaim
		}{{tenant.TokenTypeAccess, oc.AccessToken}, {tenant.TokenTypeID, oc.IDToken}, {tenant.TokenTypeSAML2, oc.SAML2Token}} {
			if len(l.list) > 0 {
				names := make([]string, len(l.list))
				for i, c := range l.list {
					names[i] = c.Name
				}
				fs = append(fs, field{"optionalClaims." + l.kind, list(names)})
			}
		}
	}
	if p := a.TokenLifetimePolicy; p != nil {
		fs = append(fs, field{"tokenLifetimePolicy.accessTokenLifetime", p.AccessTokenLifetime.String()})
	}
	if a.GroupMembershipClaims != "" {
		fs = append(fs, field{"groupMembershipClaims", a.GroupMembershipClaims})
	}
	if sp != nil {
		fs = append(fs, field{"accountEnabled", strconv.FormatBool(sp.AccountEnabled)})
	}
	roles := make([]string, 0, len(a.AppRoles))
	for _, r := range a.AppRoles {
		roles = append(roles, r.Value)
	}
	scopes := make([]string, 0, len(a.API.OAuth2PermissionScopes))
	for _, s := range a.API.OAuth2PermissionScopes {
		scopes = append(scopes, s.Value)
	}
	secrets := make([]string, 0, len(a.PasswordCredentials))
	for _, p := range a.PasswordCredentials {
		secrets = append(secrets, p.KeyID)
	}
	return append(fs,
		field{"appRoles", list(roles)},
		field{"oauth2PermissionScopes", list(scopes)},
		field{"passwordCredentials", list(secrets)},
		field{"createdDateTime", timeText(a.CreatedDateTime)},
	)
}

var applicationHeader = []string{"APP ID", "DISPLAY NAME", "IDENTIFIER URIS", "TOKEN VERSION", "SECRETS"}

func applicationRow(a tenant.Application) []string {
	return []string{a.AppID, a.DisplayName, list(a.IdentifierURIs),
		strconv.Itoa(a.TokenVersion()), strconv.Itoa(len(a.PasswordCredentials))}
}

// secretView is the JSON of a client secret: Graph's passwordCredential,
// with endDateTime null when the secret never expires, and secretText only
// in the answer to `app secret add`. Hashes and salts are never shown.
type secretView struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	Hint          string     `json:"hint"`
	StartDateTime time.Time  `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
	SecretText    string     `json:"secretText,omitempty"`
}

func newSecretView(p tenant.PasswordCredential, secretText string) secretView {
	v := secretView{KeyID: p.KeyID, DisplayName: p.DisplayName, Hint: p.Hint,
		StartDateTime: p.StartDateTime, SecretText: secretText}
	if !p.EndDateTime.IsZero() {
		end := p.EndDateTime
		v.EndDateTime = &end
	}
	return v
}

func secretFields(v secretView) []field {
	fs := []field{
		{"keyId", v.KeyID},
		{"displayName", orDash(v.DisplayName)},
		{"hint", v.Hint},
		{"startDateTime", timeText(v.StartDateTime)},
		{"endDateTime", endText(v.EndDateTime)},
	}
	if v.SecretText != "" {
		fs = append(fs, field{"secretText", v.SecretText})
	}
	return fs
}

var secretHeader = []string{"KEY ID", "DISPLAY NAME", "HINT", "START", "END"}

func secretRow(v secretView) []string {
	return []string{v.KeyID, orDash(v.DisplayName), v.Hint, timeText(v.StartDateTime), endText(v.EndDateTime)}
}

// ---- value formatting ----

// list joins values for text output; an empty list shows as "-".
func list(values []string) string {
	if len(values) == 0 {
		return "-"
	}
	return strings.Join(values, ", ")
}

// orDash shows an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func endText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return timeText(*t)
}

// objectView is a directory object (an owner, a group member) as the CLI
// shows it: its id, Graph's @odata.type of a directoryObject, and the name
// a person knows it by (a UPN, a display name).
type objectView struct {
	ID   string `json:"id"`
	Type string `json:"@odata.type"`
	Name string `json:"name"`
}

var objectHeader = []string{"OBJECT ID", "TYPE", "NAME"}

func objectRow(v objectView) []string { return []string{v.ID, v.Type, v.Name} }

// odataTypes is Graph's @odata.type of each kind of directory object.
var odataTypes = map[string]string{
	tenant.ObjectUser:             "#microsoft.graph.user",
	tenant.ObjectServicePrincipal: "#microsoft.graph.servicePrincipal",
	tenant.ObjectGroup:            "#microsoft.graph.group",
}

func userObject(u tenant.User) objectView {
	return objectView{ID: u.ID, Type: odataTypes[tenant.ObjectUser], Name: u.UserPrincipalName}
}

func servicePrincipalObject(sp tenant.ServicePrincipal) objectView {
	return objectView{ID: sp.ID, Type: odataTypes[tenant.ObjectServicePrincipal], Name: sp.DisplayName}
}

func groupObject(g tenant.Group) objectView {
	return objectView{ID: g.ID, Type: odataTypes[tenant.ObjectGroup], Name: g.DisplayName}
}
