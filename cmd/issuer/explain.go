package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// explainCommand is `issuer explain`: the policy engine's answer to a token
// request, without issuing anything.
func explainCommand() *cli.Command {
	return &cli.Command{
		Name:  "explain",
		Usage: "explain whether a token request would succeed, and why",
		Description: `Runs the token endpoint's checks for a request (the tenant, the client, the
resource, the user, then the consent and assignment rules) without signing
anything, and prints the token that would be issued (version, roles, scp) or
the AADSTS error Entra would answer, with the directory facts behind it.

Without --user the request is app-only (client credentials, /.default);
with --user it is a user signing in to the client (--flow changes that to
password, on_behalf_of or refresh_token). --scope names delegated scopes;
without it the request is for RESOURCE/.default.

EXAMPLES
   issuer explain --tenant contoso.onmicrosoft.com --client DAEMON_APPID --resource api://orders
   issuer explain --tenant contoso.onmicrosoft.com --client WEB_APPID --resource api://orders --user alice@contoso.onmicrosoft.com --scope access_as_user
   issuer -o json explain --tenant fabrikam.onmicrosoft.com --client MULTI_TENANT_APPID --resource api://orders`,
		Flags: []cli.Flag{
			tenantFlag("tenant of the request"),
			clientFlag("client application (client_id)"),
			resourceFlag("resource requested"),
			&cli.StringFlag{Name: "user", Usage: "the signed-in user (`UPN` or object id)"},
			&cli.StringSliceFlag{Name: "scope", Usage: "a delegated scope `VALUE` of the resource (repeatable; default: /.default)"},
			&cli.GenericFlag{Name: "flow", Usage: "`FLOW`: client_credentials, interactive, password, on_behalf_of or refresh_token (default: client_credentials without --user, interactive with it)",
				Value: &choice{allowed: []string{
					string(consent.FlowClientCredentials), string(consent.FlowInteractive), string(consent.FlowPassword),
					string(consent.FlowOnBehalfOf), string(consent.FlowRefreshToken),
				}}},
		},
		Action: explain,
	}
}

// explainView is the JSON of `issuer explain`: the explanation, and for a
// denial the error the token endpoint would send.
type explainView struct {
	consent.Explanation
	Error *explainError `json:"error,omitempty"`
}

// explainError is the token endpoint's answer to a denied request.
type explainError struct {
	Code        int    `json:"code"`  // AADSTS code
	Error       string `json:"error"` // OAuth error
	SubError    string `json:"suberror,omitempty"`
	Status      int    `json:"status"`      // HTTP status
	Description string `json:"description"` // error_description without trace ids
}

func explain(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	q := consent.Query{
		TenantRef: c.String("tenant"), ClientAppID: c.String("client"), ResourceName: c.String("resource"),
		UserRef: c.String("user"), Scopes: nonEmpty(c.StringSlice("scope")),
	}
	if v, ok := c.Generic("flow").(*choice); ok {
		q.Flow = consent.Flow(v.value)
	}
	return withDB(c, func(db *storage.DB, dir *tenant.Directory) error {
		if _, err := dir.ResolveTenant(c.Context, q.TenantRef); err != nil {
			return tenantError(q.TenantRef, err)
		}
		ex, err := consent.Explain(c.Context, db, q)
		if err != nil {
			return err
		}
		v := explainView{Explanation: ex}
		if ex.Denial != nil {
			e := issuer.DenialError(ex.Denial)
			v.Error = &explainError{Code: e.Code, Error: e.OAuthError(), SubError: e.SubError, Status: e.Status(), Description: e.Error()}
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, v)
		}
		return printExplanation(c.App.Writer, v)
	})
}

// printExplanation prints the decision first, then the facts.
func printExplanation(w io.Writer, v explainView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, args...)) }
	ex := v.Explanation
	if d := ex.Decision; d != nil {
		line("decision", "token issued (access token v%d)", d.TokenVersion)
		line("roles", "%s", list(d.Roles))
		if ex.Flow.Delegated() {
			line("scp", "%s", list(d.Scopes))
		}
	} else if e := v.Error; e != nil {
		line("decision", "denied")
		sub := ""
		if e.SubError != "" {
			sub = ", suberror " + e.SubError
		}
		line("error", "AADSTS%d %s%s (HTTP %d)", e.Code, e.Error, sub, e.Status)
		line("message", "%s", strings.TrimPrefix(e.Description, fmt.Sprintf("AADSTS%d: ", e.Code)))
		line("reason", "%s", ex.Denial.Reason)
		line("detail", "%s", ex.Denial.Detail)
	}
	fmt.Fprintln(tw)
	requested := "/.default"
	if !ex.DefaultScope {
		requested = strings.Join(ex.RequestedScopes, " ")
	}
	line("flow", "%s, scope %s", ex.Flow, requested)
	line("tenant", "%s (%s), userConsent %s", ex.Tenant.DisplayName, ex.Tenant.ID, ex.Tenant.UserConsent)
	appLines(line, "client", ex.Client)
	if ex.Resource != nil {
		appLines(line, "resource", *ex.Resource)
	}
	if u := ex.User; u != nil {
		line("user", "%s (%s), accountEnabled %t", u.UserPrincipalName, u.ID, u.AccountEnabled)
	}
	for _, s := range ex.Scopes {
		state := "not exposed by the resource"
		if s.Exposed {
			state = fmt.Sprintf("type %s, isEnabled %t", s.Type, s.IsEnabled)
		}
		granted := "not granted"
		if s.GrantedBy != "" {
			granted = "granted by " + s.GrantedBy
		}
		line("scope", "%s: %s, %s", s.Value, state, granted)
	}
	if ex.Resource != nil && ex.Resource.ServicePrincipal != nil {
		if len(ex.AppRoleAssignments) == 0 {
			line("appRoleAssignment", "none")
		}
		for _, a := range ex.AppRoleAssignments {
			state := "issued"
			if !a.Issued {
				state = "not issued"
			}
			if a.Note != "" {
				state += ": " + a.Note
			}
			line("appRoleAssignment", "%s of %s to %s (%s) [%s, %s]", orDash(a.AppRoleValue), a.ResourceDisplayName, orDash(a.PrincipalDisplayName), a.PrincipalType, a.ID, state)
		}
	}
	for _, g := range ex.PermissionGrants {
		state := "applies"
		if !g.AppliesToUser {
			state = "does not apply"
		}
		if g.Note != "" {
			state += ": " + g.Note
		}
		line("oauth2PermissionGrant", "%s %s [%s, %s]", g.ConsentType, g.Scope, g.ID, state)
	}
	return tw.Flush()
}

// appLines prints the facts of the client or the resource.
func appLines(line func(k, format string, args ...any), k string, f consent.ApplicationFacts) {
	switch {
	case f.AppID == "" && k == "resource":
		line(k, "%s: no application of that name has a service principal in the tenant", f.Requested)
		return
	case f.AppID == "":
		line(k, "%s: no such application", f.Requested)
		return
	}
	desc := fmt.Sprintf("%s (%s), home tenant %s, %s", f.DisplayName, f.AppID, f.HomeTenantID, f.SignInAudience)
	if k == "resource" {
		desc = fmt.Sprintf("%s (%s) as %q, access tokens v%d", f.DisplayName, f.AppID, f.Requested, f.TokenVersion)
	}
	line(k, "%s", desc)
	if sp := f.ServicePrincipal; sp != nil {
		line(k+" servicePrincipal", "%s, accountEnabled %s, appRoleAssignmentRequired %s",
			sp.ID, strconv.FormatBool(sp.AccountEnabled), strconv.FormatBool(sp.AppRoleAssignmentRequired))
	} else {
		line(k+" servicePrincipal", "none in this tenant")
	}
}
