package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/managedidentity"
	"github.com/issuer-dev/issuer/tenant"
)

// identityCommand is `issuer identity`: managed identities, the service
// principals Azure resources get tokens as from a local endpoint.
func identityCommand() *cli.Command {
	return &cli.Command{
		Name:  "identity",
		Usage: "manage managed identities (user- and system-assigned)",
		Description: `A managed identity is a service principal of type ManagedIdentity with no
credentials: code running on an Azure resource gets its tokens from a local
endpoint, which issuer serve --managed-identity-addr serves. Give it app roles
with issuer role assign --client CLIENT-ID, like any client. IDENTITY is the
client id, the object (principal) id, the Azure resource id or the name.

EXAMPLES
   issuer identity add --tenant contoso.onmicrosoft.com --name orders-worker
   issuer identity add --tenant contoso.onmicrosoft.com --system-assigned --resource orders-web
   issuer identity list --tenant contoso.onmicrosoft.com
   eval "$(issuer identity env --tenant contoso.onmicrosoft.com orders-web)"`,
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "add a user-assigned identity, or a resource's system-assigned one",
				Flags: []cli.Flag{
					tenantFlag("tenant"),
					&cli.StringFlag{Name: "name", Usage: "the user-assigned identity's `NAME`"},
					&cli.BoolFlag{Name: "system-assigned", Usage: "the system-assigned identity of the Azure resource --resource"},
					&cli.StringFlag{Name: "resource", Usage: "with --system-assigned: the resource's `NAME` (an App Service site) or Azure resource id"},
					&cli.StringFlag{Name: "resource-id", Usage: "the user-assigned identity's Azure resource `ID` (default: formed from --subscription, --resource-group and --name)"},
					&cli.StringFlag{Name: "subscription", Usage: "subscription `GUID` of the resource id (default: the tenant's id)"},
					&cli.StringFlag{Name: "resource-group", Usage: "resource `GROUP` of the resource id", Value: "issuer"},
					&cli.StringFlag{Name: "client-id", Usage: "client id (appId, `GUID`; default: a new one)"},
					&cli.StringFlag{Name: "id", Usage: "object (principal) id (`GUID`; default: a new one)"},
				},
				Action: identityAdd,
			},
			{
				Name:  "list",
				Usage: "list a tenant's managed identities",
				Flags: []cli.Flag{tenantFlag("tenant")},
				Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.ServicePrincipal, error) {
					ids, err := dir.ListManagedIdentities(c.Context, c.String("tenant"))
					return ids, tenantError(c.String("tenant"), err)
				}, identityViewOf, []string{"CLIENT ID", "OBJECT ID", "NAME", "KIND", "RESOURCE ID"}, func(sp tenant.ServicePrincipal) []string {
					return []string{sp.AppID, sp.ID, sp.DisplayName, identityKind(sp), sp.ManagedIdentityResourceID()}
				}),
			},
			{
				Name: "show", Usage: "show a managed identity", ArgsUsage: "IDENTITY",
				Flags:  []cli.Flag{tenantFlag("tenant")},
				Action: identityShow,
			},
			{
				Name: "remove", Usage: "delete a managed identity with its app role assignments", ArgsUsage: "IDENTITY",
				Flags:  []cli.Flag{tenantFlag("tenant")},
				Action: identityRemove,
			},
			{
				Name:      "env",
				Usage:     "print the environment that points Azure SDKs at the running server's endpoint for IDENTITY",
				ArgsUsage: "IDENTITY",
				Description: `Prints lines for a POSIX shell that make the SDKs find the endpoint of
--source: appservice (the default: IDENTITY_ENDPOINT and IDENTITY_HEADER,
which DefaultAzureCredential and ManagedIdentityCredential try first, and
AZURE_POD_IDENTITY_AUTHORITY_HOST for SDKs that move IMDS), cloudshell
(MSI_ENDPOINT) or azureml (MSI_ENDPOINT, MSI_SECRET and
DEFAULT_IDENTITY_CLIENT_ID), unsetting the other sources' variables; and,
for a user-assigned identity, AZURE_CLIENT_ID. A request that selects no
identity gets IDENTITY's token. Needs a server started with
--managed-identity-addr; the secret changes with every start. -o json
prints the variables to set.

--source workload is workload identity federation instead: it writes
IDENTITY's token for api://AzureADTokenExchange to --token-file and prints
AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID (the --client application),
AZURE_TENANT_ID and AZURE_AUTHORITY_HOST, for WorkloadIdentityCredential.
The application must trust the identity with a federated credential; the
error says which. The token expires like any other: run the command again
to renew the file.`,
				Flags: []cli.Flag{tenantFlag("tenant"),
					&cli.GenericFlag{Name: "source", Usage: "the managed identity `SOURCE` to point at: appservice, cloudshell, azureml, or workload (workload identity federation)",
						Value: &choice{allowed: []string{"appservice", "cloudshell", "azureml", "workload"}, value: "appservice"}},
					&cli.StringFlag{Name: "client", Usage: "with --source workload: the application (`APPID`) the workload signs in as"},
					outputFile(cli.PathFlag{Name: "token-file", Usage: "with --source workload: write the federated token to `FILE` (mode 0600)"}),
				},
				Action: identityEnv,
			},
		},
	}
}

// identityView is the JSON form of a managed identity.
type identityView struct {
	ClientID       string `json:"clientId"`
	PrincipalID    string `json:"principalId"`
	DisplayName    string `json:"displayName"`
	TenantID       string `json:"tenantId"`
	Kind           string `json:"kind"`
	ResourceID     string `json:"resourceId"`
	AccountEnabled bool   `json:"accountEnabled"`
}

func identityViewOf(sp tenant.ServicePrincipal) identityView {
	return identityView{ClientID: sp.AppID, PrincipalID: sp.ID, DisplayName: sp.DisplayName, TenantID: sp.TenantID,
		Kind: identityKind(sp), ResourceID: sp.ManagedIdentityResourceID(), AccountEnabled: sp.AccountEnabled}
}

func identityKind(sp tenant.ServicePrincipal) string {
	if sp.SystemAssigned() {
		return "system-assigned"
	}
	return "user-assigned"
}

func identityFields(v identityView) []field {
	return []field{{"clientId", v.ClientID}, {"principalId", v.PrincipalID}, {"displayName", v.DisplayName},
		{"tenantId", v.TenantID}, {"kind", v.Kind}, {"resourceId", v.ResourceID}, {"accountEnabled", strconv.FormatBool(v.AccountEnabled)}}
}

func identityAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	spec := tenant.ManagedIdentitySpec{Name: c.String("name"), SystemAssigned: c.Bool("system-assigned"),
		ResourceID: c.String("resource-id"), Subscription: c.String("subscription"), ResourceGroup: c.String("resource-group"),
		ClientID: c.String("client-id"), ObjectID: c.String("id")}
	switch res := c.String("resource"); {
	case spec.SystemAssigned && (spec.Name != "" || spec.ResourceID != ""):
		return usageError("identity add: a system-assigned identity is named by its --resource, not --name or --resource-id")
	case spec.SystemAssigned && res == "":
		return usageError("identity add: --system-assigned needs the --resource it belongs to")
	case spec.SystemAssigned && strings.HasPrefix(res, "/"):
		spec.ResourceID = res
	case spec.SystemAssigned:
		spec.Name = res
	case res != "":
		return usageError("identity add: --resource names the resource of a --system-assigned identity")
	case spec.Name == "" && spec.ResourceID == "":
		return usageError("identity add: give the user-assigned identity's --name (or --resource-id)")
	}
	ref := c.String("tenant")
	return withDirectory(c, func(dir *tenant.Directory) error {
		sp, err := dir.AddManagedIdentity(c.Context, ref, spec)
		if err != nil {
			return tenantError(ref, err)
		}
		v := identityViewOf(sp)
		return printObject(c, v, identityFields(v))
	})
}

func identityShow(c *cli.Context) error {
	args, err := requireArgs(c, "IDENTITY")
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		sp, err := dir.FindManagedIdentity(c.Context, t.ID, args[0])
		if err != nil {
			return err
		}
		v := identityViewOf(sp)
		return printObject(c, v, identityFields(v))
	})
}

func identityRemove(c *cli.Context) error {
	args, err := requireArgs(c, "IDENTITY")
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		if err := dir.RemoveManagedIdentity(c.Context, t.ID, args[0]); err != nil {
			return err
		}
		return printDone(c, "removed managed identity %s", args[0])
	})
}

// identityEnv prints the environment of IDENTITY for the running server's
// managed identity endpoints.
func identityEnv(c *cli.Context) error {
	args, err := requireArgs(c, "IDENTITY")
	if err != nil {
		return err
	}
	st := serverOf(c)
	source := c.Generic("source").(*choice).value
	workload, workloadFlags := source == "workload", c.String("client") != "" || c.IsSet("token-file")
	if workload && (c.String("client") == "" || !c.IsSet("token-file")) || !workload && workloadFlags {
		return usageError("identity env: --source workload needs --client and --token-file, and only it takes them")
	}
	if source == "workload" {
		return identityWorkloadEnv(c, st, args[0])
	}
	if st.miURL == "" {
		return fmt.Errorf("identity env: the server does not serve managed identity endpoints; start it with --managed-identity-addr 127.0.0.1:PORT")
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		sp, err := dir.FindManagedIdentity(c.Context, t.ID, args[0])
		if err != nil {
			return err
		}
		vars, err := managedidentity.Environment(st.miURL, st.miSecret, sp, source)
		if err != nil {
			return err
		}
		set := map[string]string{}
		for _, v := range vars {
			set[v.Name] = v.Value
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, set)
		}
		// The SDKs pick the first source whose variables are set: the
		// other sources' must go.
		var unset []string
		for _, name := range managedidentity.Variables {
			if _, ok := set[name]; !ok {
				unset = append(unset, name)
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "unset %s\n", strings.Join(unset, " "))
		for _, v := range vars {
			fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
		}
		_, err = fmt.Fprint(c.App.Writer, b.String())
		return err
	})
}

// identityWorkloadEnv is identity env --source workload: IDENTITY's token
// for the token exchange audience in --token-file, and the environment of
// WorkloadIdentityCredential signing in as --client with it.
func identityWorkloadEnv(c *cli.Context, st *serverState, identity string) error {
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		sp, err := dir.FindManagedIdentity(c.Context, t.ID, identity)
		if err != nil {
			return err
		}
		app, err := dir.GetApplication(c.Context, c.String("client"))
		if err != nil {
			return fmt.Errorf("--client %s: %w", c.String("client"), err)
		}
		iss := st.iss.TokenIssuer(1, t.ID)
		trusted := slices.ContainsFunc(app.FederatedIdentityCredentials, func(f tenant.FederatedIdentityCredential) bool {
			return f.Issuer == iss && f.Subject == sp.ID && slices.Contains(f.Audiences, issuer.ExchangeResource)
		})
		if !trusted {
			return fmt.Errorf("application %s (%s) has no federated credential for managed identity %s; add one:\n  issuer app federated add --app %s --name %s --issuer %s --subject %s",
				app.AppID, app.DisplayName, sp.DisplayName, app.AppID, sp.DisplayName, iss, sp.ID)
		}
		wt, err := st.iss.IssueWorkloadToken(c.Context, t.ID, sp.ID)
		if err != nil {
			return err
		}
		file := c.Path("token-file")
		if err := writeOutputFile(c, file, 0o600, func(w io.Writer) error {
			_, err := io.WriteString(w, wt.Token)
			return err
		}); err != nil {
			return err
		}
		abs := file
		if p, err := envOf(c).outputPath(file); err == nil && p != "" {
			abs = p
		}
		set := [][2]string{{"AZURE_FEDERATED_TOKEN_FILE", abs}, {"AZURE_CLIENT_ID", app.AppID},
			{"AZURE_TENANT_ID", app.HomeTenantID}, {"AZURE_AUTHORITY_HOST", st.iss.BaseURL() + "/"}}
		if isJSON(c) {
			m := map[string]string{}
			for _, v := range set {
				m[v[0]] = v[1]
			}
			return writeJSON(c.App.Writer, m)
		}
		var b strings.Builder
		for _, v := range set {
			fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
		}
		_, err = fmt.Fprint(c.App.Writer, b.String())
		return err
	})
}
