package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

// applyCommand is `issuer apply -f FILE`: a seed file, applied by natural
// key (seed.Apply).
func applyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "create or update tenants, applications, users, groups and grants from a seed file",
		Description: `A seed file is JSON describing tenants, their applications (identifier
URIs, app roles, scopes, required permissions, secrets with known values),
service principals, users, groups and their members, consents and role
assignments; see the README's
"Seed files" and testdata/seed/example.json. Objects are matched by natural
key (tenant id or initial domain, appId or display name, UPN, …), so applying
a file twice changes nothing the second time. Applying adds and updates; it
never deletes. FILE - reads standard input.

EXAMPLES
   issuer apply -f testdata/seed/example.json
   issuer export --tenant contoso.onmicrosoft.com > contoso.json && issuer --db other.db apply -f contoso.json`,
		Flags: []cli.Flag{
			inputFile(cli.PathFlag{Name: "file", Aliases: []string{"f"}, Usage: "seed `FILE` (JSON; - for standard input)", Required: true}),
		},
		Action: applySeed,
	}
}

func applySeed(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	name := c.Path("file")
	data, err := readInput(c, name)
	if err != nil {
		return err
	}
	doc, err := seed.Parse(name, data)
	if err != nil {
		return err
	}
	return withManager(c, func(m *consent.Manager, dir *tenant.Directory) error {
		res, err := seed.Apply(c.Context, dir, m, doc)
		if err != nil {
			return err
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, res)
		}
		tot := res.Total()
		fmt.Fprintf(c.App.Writer, "applied %s: %d created, %d updated, %d unchanged\n", name, tot.Created, tot.Updated, tot.Unchanged)
		rows := [][]string{}
		for _, k := range res.Kinds() {
			if k.Count != (seed.Count{}) {
				rows = append(rows, []string{k.Name, strconv.Itoa(k.Count.Created), strconv.Itoa(k.Count.Updated), strconv.Itoa(k.Count.Unchanged)})
			}
		}
		return printTable(c, nil, []string{"KIND", "CREATED", "UPDATED", "UNCHANGED"}, rows)
	})
}

// exportCommand is `issuer export`: the directory as a seed file.
func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "print the directory (or one tenant) as a seed file",
		Description: `Prints a seed file that issuer apply reproduces in an empty database: tenants,
applications with their ids, roles, scopes and required permissions,
service principals with their ids, users, groups with their members, grants
and role assignments, so that tokens carry the same claims. Client secrets and user passwords are
not exported (only their hashes are stored); the document's $comment says
so. The output is JSON whatever --output says.

EXAMPLES
   issuer export > directory.json
   issuer export --tenant contoso.onmicrosoft.com > contoso.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tenant", Usage: "export this tenant only (`TENANT` id or domain)"},
		},
		Action: exportSeed,
	}
}

func exportSeed(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref := c.String("tenant")
	return withManager(c, func(m *consent.Manager, dir *tenant.Directory) error {
		s, err := seed.Export(c.Context, dir, m, ref)
		if err != nil {
			return tenantError(ref, err)
		}
		return writeJSON(c.App.Writer, s)
	})
}
