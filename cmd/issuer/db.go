package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/tenant"
)

// dbCommand is `issuer db`: backups and consistency checks of the database
// file.
func dbCommand() *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "back up and check the database file",
		Description: `The database is one bbolt file holding the whole directory, the signing
keys and the local CA: back it up. Both commands work while issuer serve
runs (they go over the admin socket and run in the server).`,
		Subcommands: []*cli.Command{
			dbBackupCommand(),
			dbCheckCommand(),
			dbCopyCommand(),
		},
	}
}

func dbBackupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of the database to a new file",
		ArgsUsage: "FILE",
		Description: `The copy is the database as of one read transaction: token requests and
admin commands go on while it is written, and the copy holds every change
acknowledged before it started. FILE gets mode 0600 (it holds the signing
keys) and must not exist. A copy is a database: issuer --db FILE serve
serves it, issuer db check FILE checks it.

Where FILE goes: run directly or through the admin socket (the server is on
this machine), FILE is created where you name it, relative to your working
directory. Through --server (remote admin over HTTPS) the server sends the
copy in its answer and this command writes it here, up to 32 MiB; for a
larger database run the command on the server's machine.

EXAMPLES
   issuer db backup issuer-$(date +%F).db
   issuer --server https://issuer.test:8443 --admin-token-file t db backup copy.db`,
		Action: dbBackup,
	}
}

// backupView is `db backup -o json`.
type backupView struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

func dbBackup(c *cli.Context) error {
	args, err := requireArgs(c, "FILE")
	if err != nil {
		return err
	}
	name := args[0]
	return withDB(c, func(db *storage.DB, _ *tenant.Directory) error {
		var n int64
		err := writeOutputFile(c, name, 0o600, func(w io.Writer) error {
			var err error
			n, err = db.Backup(c.Context, w)
			return err
		})
		if err != nil {
			return fmt.Errorf("backing up to %s: %w", name, err)
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, backupView{File: name, Bytes: n})
		}
		return printDone(c, "backed up the database to %s (%d bytes)", name, n)
	})
}

func dbCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a database file: bbolt's page structure, and every record and index",
		ArgsUsage: "[FILE]",
		Description: `Without FILE, checks --db (in the server, while issuer serve runs). With
FILE, opens that file read-only here (a backup, or a database no server
holds). bbolt's own check (every page reachable or free, none freed twice)
runs first, then the directory's: every record decodes, and every index
entry names a record that names it back. Problems are listed, one per line,
and the exit code is 1; a consistent file exits 0.

EXAMPLES
   issuer db check
   issuer db check backup.db`,
		Action: dbCheck,
	}
}

// checkView is `db check -o json`.
type checkView struct {
	File     string   `json:"file"`
	Problems []string `json:"problems"`
}

func dbCheck(c *cli.Context) error {
	args := c.Args().Slice()
	switch {
	case len(args) > 1:
		return usageError("db check: want at most one FILE, got %d arguments", len(args))
	case len(args) == 0:
		err := withDB(c, func(db *storage.DB, _ *tenant.Directory) error {
			return reportCheck(c, db.Path(), db.Check(c.Context))
		})
		if isDamaged(err) {
			// A file that cannot be opened is what the check found.
			path, _ := dbPath(c)
			return reportCheck(c, path, &storage.CheckError{Path: path, Problems: []string{err.Error()}})
		}
		return err
	}
	// The server opens no file a client names (route refuses this command
	// there too): the client checks its own files.
	if err := refuseInServer(c, "db check FILE"); err != nil {
		return err
	}
	name := args[0]
	db, err := storage.Open(name, storage.Options{ReadOnly: true, Timeout: envOf(c).lockTimeout})
	switch {
	case errors.Is(err, storage.ErrLocked):
		return fmt.Errorf("%w; to check the database of a running server, run issuer --db %s db check (without FILE): it runs in the server", err, shellQuote(name))
	case errors.Is(err, fs.ErrNotExist):
		// Nothing was checked: not a problem of a file, an error.
		return fmt.Errorf("%s: no such database file", name)
	case err != nil && !isDamaged(err) && !errors.Is(err, storage.ErrNewerSchema) && !errors.Is(err, storage.ErrUnsafeFile):
		return fmt.Errorf("cannot check %s: %w", name, err)
	case err != nil:
		// The file is there and cannot be opened: that is what the
		// check found.
		return reportCheck(c, name, &storage.CheckError{Path: name, Problems: []string{err.Error()}})
	}
	defer db.Close()
	return reportCheck(c, name, db.Check(c.Context))
}

// reportCheck prints the outcome of a check: "consistent", or each problem
// on a line of its own followed by an error (exit code 1).
func reportCheck(c *cli.Context, name string, err error) error {
	var ce *storage.CheckError
	switch {
	case errors.As(err, &ce):
	case err != nil:
		return err
	case isJSON(c):
		return writeJSON(c.App.Writer, checkView{File: name, Problems: []string{}})
	default:
		return printDone(c, "%s: consistent", name)
	}
	if isJSON(c) {
		if err := writeJSON(c.App.Writer, checkView{File: name, Problems: ce.Problems}); err != nil {
			return err
		}
	} else {
		for _, p := range ce.Problems {
			fmt.Fprintf(c.App.Writer, "%s: %s\n", name, p)
		}
	}
	if len(ce.Problems) == 1 {
		return fmt.Errorf("%s: 1 problem found", name)
	}
	return fmt.Errorf("%s: %d problems found", name, len(ce.Problems))
}

func dbCopyCommand() *cli.Command {
	return &cli.Command{
		Name:  "copy",
		Usage: "copy the whole directory from one store to another: a bolt file into etcd, or back",
		Description: `Copies everything, exactly: every tenant, application, service principal,
user, grant and assignment with its id, the hashes of client secrets and
passwords, the signing keys and the local CA. The target must be new: a
file that does not exist yet, or an etcd prefix without keys. The source is
read from one read transaction (a bolt file no server holds, or a fresh
replica of an etcd directory).

Into etcd, a large directory takes several etcd transactions, and the keys
that make the prefix a directory are written last: a copy that stops
halfway leaves a prefix that every command refuses; delete it (etcdctl del
--prefix PREFIX/) and copy again. Values holding private keys are sealed
with --key-encryption-key-file.

EXAMPLES
   issuer --key-encryption-key-file kek db copy --from bolt:issuer.db --to etcd://127.0.0.1:2379/issuer
   issuer --key-encryption-key-file kek db copy --from etcd://127.0.0.1:2379/issuer --to bolt:copy.db`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "source store `URL`: bolt:PATH or etcd://HOST:PORT[,…][/PREFIX]", Required: true},
			&cli.StringFlag{Name: "to", Usage: "target store `URL`, new or empty", Required: true},
		},
		Action: dbCopy,
	}
}

func dbCopy(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	from, err := parseStoreURL(c.String("from"))
	if err != nil {
		return err
	}
	to, err := parseStoreURL(c.String("to"))
	if err != nil {
		return err
	}
	if from.String() == to.String() {
		return usageError("db copy: --from and --to name the same store")
	}
	var src *storage.DB
	if from.isEtcd() {
		src, err = openStore(c, from)
	} else {
		src, err = storage.Open(from.bolt, storage.Options{ReadOnly: true, Timeout: envOf(c).lockTimeout})
		if errors.Is(err, storage.ErrLocked) {
			err = fmt.Errorf("%w; stop the server, or copy a backup of it (issuer db backup)", err)
		}
	}
	if err != nil {
		return err
	}
	defer src.Close()
	var n int64
	if to.isEtcd() {
		cfg, err := etcdConfig(c, to)
		if err != nil {
			return err
		}
		k, err := etcd.Import(c.Context, cfg, src)
		if err != nil {
			return fmt.Errorf("copying to %s: %w", to, err)
		}
		n = int64(k)
	} else {
		err := createFile(to.bolt, 0o600, func(w io.Writer) error {
			var err error
			n, err = src.Backup(c.Context, w)
			return err
		})
		if err != nil {
			return fmt.Errorf("copying to %s: %w", to, err)
		}
	}
	if isJSON(c) {
		return writeJSON(c.App.Writer, copyView{From: from.String(), To: to.String(), Count: n})
	}
	unit := "keys"
	if !to.isEtcd() {
		unit = "bytes"
	}
	return printDone(c, "copied %s to %s (%d %s)", from, to, n, unit)
}

// copyView is `db copy -o json`: Count is keys written to etcd, or bytes
// of a file.
type copyView struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int64  `json:"count"`
}
