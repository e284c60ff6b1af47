package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/storage/etcd"
)

// The store: a bbolt file (--db PATH, or --store bolt:PATH) or a directory
// kept in etcd (--store etcd://HOST:PORT[,HOST:PORT…][/PREFIX]) that any
// number of commands and `issuer serve` replicas share directly: no file
// lock, no admin socket.

// storeFlags are the global flags that choose the store and reach etcd.
func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "store", Usage: "the directory's store `URL`: bolt:PATH (as --db) or etcd://HOST:PORT[,HOST:PORT…][/PREFIX]", EnvVars: []string{"ISSUER_STORE"}},
		&cli.PathFlag{Name: "key-encryption-key-file", Usage: "with etcd: the `FILE` (32+ bytes) whose key seals the signing keys; every replica needs the same", EnvVars: []string{"ISSUER_KEY_ENCRYPTION_KEY_FILE"}},
		&cli.PathFlag{Name: "etcd-ca-file", Usage: "with etcd: speak TLS, trusting the CA certificates in `FILE`", EnvVars: []string{"ISSUER_ETCD_CA_FILE"}},
		&cli.PathFlag{Name: "etcd-cert-file", Usage: "with etcd: TLS client certificate `FILE` (with --etcd-key-file)", EnvVars: []string{"ISSUER_ETCD_CERT_FILE"}},
		&cli.PathFlag{Name: "etcd-key-file", Usage: "with etcd: TLS client key `FILE`", EnvVars: []string{"ISSUER_ETCD_KEY_FILE"}},
		&cli.StringFlag{Name: "etcd-user", Usage: "with etcd: authenticate as `USER` (password in ISSUER_ETCD_PASSWORD or --etcd-password-file)", EnvVars: []string{"ISSUER_ETCD_USER"}},
		&cli.IntFlag{Name: "etcd-max-txn-ops", Usage: "with etcd: the cluster's --max-txn-ops (`N` operations per transaction); raise both together to allow larger single writes", Value: 128, EnvVars: []string{"ISSUER_ETCD_MAX_TXN_OPS"}},
		&cli.PathFlag{Name: "etcd-password-file", Usage: "with etcd: the password of --etcd-user, in `FILE`", EnvVars: []string{"ISSUER_ETCD_PASSWORD_FILE"}},
	}
}

// storeURL is a parsed --store: a bolt file, or etcd endpoints and prefix.
type storeURL struct {
	bolt      string
	endpoints []string
	prefix    string
}

func (u storeURL) isEtcd() bool { return len(u.endpoints) > 0 }

func (u storeURL) String() string {
	if u.isEtcd() {
		return "etcd://" + strings.Join(u.endpoints, ",") + u.prefix
	}
	return "bolt:" + u.bolt
}

// parseStoreURL parses bolt:PATH or etcd://HOST:PORT[,HOST:PORT…][/PREFIX].
func parseStoreURL(s string) (storeURL, error) {
	bad := func(why string) (storeURL, error) {
		return storeURL{}, usageError("--store %q: %s (want bolt:PATH or etcd://HOST:PORT[,HOST:PORT…][/PREFIX])", s, why)
	}
	if p, ok := strings.CutPrefix(s, "bolt:"); ok {
		if p == "" {
			return bad("no path")
		}
		return storeURL{bolt: p}, nil
	}
	rest, ok := strings.CutPrefix(s, "etcd://")
	if !ok {
		return bad("unknown kind of store")
	}
	hosts, prefix, _ := strings.Cut(rest, "/")
	if hosts == "" {
		return bad("no endpoint")
	}
	u := storeURL{prefix: "/" + strings.Trim(prefix, "/")}
	if u.prefix == "/" {
		u.prefix = "/issuer"
	}
	if strings.Contains(u.prefix, "//") {
		return bad("empty segment in the prefix")
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" || strings.Trim(port, "0123456789") != "" {
			return bad(fmt.Sprintf("endpoint %q is not HOST:PORT", h))
		}
		u.endpoints = append(u.endpoints, h)
	}
	return u, nil
}

// storeTarget returns the store the command line names: --store when given,
// else the file of --db.
func storeTarget(c *cli.Context) (storeURL, error) {
	s := c.String("store")
	if s == "" {
		p, err := dbPath(c)
		return storeURL{bolt: p}, err
	}
	if c.IsSet("db") {
		return storeURL{}, usageError("give --store or --db, not both")
	}
	u, err := parseStoreURL(s)
	if err != nil || u.isEtcd() {
		return u, err
	}
	abs, err := filepath.Abs(u.bolt)
	if err != nil {
		return storeURL{}, fmt.Errorf("database path %q: %w", u.bolt, err)
	}
	u.bolt = abs
	return u, nil
}

// etcdConfig builds the configuration of a replica of u from the flags:
// the key-encryption key (required), TLS and authentication.
func etcdConfig(c *cli.Context, u storeURL) (etcd.Config, error) {
	cfg := etcd.Config{Endpoints: u.endpoints, Prefix: u.prefix, MaxTxnOps: c.Int("etcd-max-txn-ops")}
	if cfg.MaxTxnOps < 2 {
		return cfg, usageError("--etcd-max-txn-ops %d: want at least 2 (etcd's default is 128)", cfg.MaxTxnOps)
	}
	kekFile := c.Path("key-encryption-key-file")
	if kekFile == "" {
		return cfg, usageError("%s: --key-encryption-key-file is required with etcd (every replica is given the same; e.g. openssl rand -base64 32 > kek)", u)
	}
	kek, err := etcd.ReadKeyEncryptionKey(kekFile)
	if err != nil {
		return cfg, err
	}
	cfg.KeyEncryptionKey = kek
	if ca, cert, key := c.Path("etcd-ca-file"), c.Path("etcd-cert-file"), c.Path("etcd-key-file"); ca != "" || cert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return cfg, fmt.Errorf("--etcd-ca-file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, usageError("--etcd-ca-file %s: no PEM certificate in the file", ca)
			}
		}
		if cert != "" {
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return cfg, fmt.Errorf("--etcd-cert-file/--etcd-key-file: %w", err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		cfg.TLS = tc
	}
	if user := c.String("etcd-user"); user != "" {
		cfg.Username, cfg.Password = user, os.Getenv("ISSUER_ETCD_PASSWORD")
		if f := c.Path("etcd-password-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return cfg, fmt.Errorf("--etcd-password-file: %w", err)
			}
			cfg.Password = strings.TrimRight(string(b), "\r\n")
		}
	}
	return cfg, nil
}

// openEtcd opens a replica of the directory at u; create lets it initialise
// an empty prefix (serve and db copy do; other commands refuse one, so that
// a mistyped prefix writes nothing).
func openEtcd(c *cli.Context, u storeURL, create bool, changed func(map[string]bool)) (*etcd.Store, error) {
	cfg, err := etcdConfig(c, u)
	if err != nil {
		return nil, err
	}
	cfg.Create, cfg.Changed = create, changed
	return etcd.Open(c.Context, cfg)
}

// openStore opens the store at u for a command that runs here: a replica
// for etcd, the file for bolt.
func openStore(c *cli.Context, u storeURL) (*storage.DB, error) {
	if u.isEtcd() {
		s, err := openEtcd(c, u, false, nil)
		if err != nil {
			return nil, err
		}
		return s.DB, nil
	}
	return openLocalDB(c, u.bolt)
}
