package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// certCommand is `issuer app cert`: certificate credentials (Graph:
// keyCredentials). Only public certificates are stored; `cert create`
// writes the private key it generates to a file and forgets it.
func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "manage an application's certificate credentials",
		Description: `A client holding the private key of a registered certificate authenticates
with a signed client assertion (private_key_jwt), as MSAL's certificate
credentials do; its tokens carry appidacr/azpacr "2".`,
		Subcommands: []*cli.Command{
			certAddCommand(),
			certListCommand(),
			certRemoveCommand(),
			certCreateCommand(),
		},
	}
}

func displayNameFlag() cli.Flag {
	return &cli.StringFlag{Name: "display-name", Usage: "`TEXT` describing the certificate (default: its subject, e.g. CN=daemon)"}
}

func certAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "register a public certificate (PEM or DER file)",
		Description: `Only the certificate is read; a private key in the same file is ignored and
never stored. The certificate must hold an RSA key of at least 2048 bits.

EXAMPLES
   issuer app cert add --app APPID --cert daemon.pem --display-name ci`,
		Flags: []cli.Flag{
			appFlag("application"),
			inputFile(cli.PathFlag{Name: "cert", Usage: "certificate `FILE` (PEM or DER)", Required: true}),
			displayNameFlag(),
		},
		Action: certAdd,
	}
}

func certAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	der, err := readCertificateFile(c, c.Path("cert"))
	if err != nil {
		return err
	}
	appID := c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		k, err := dir.AddKeyCredential(c.Context, appID, der, c.String("display-name"))
		if err != nil {
			return applicationError(appID, err)
		}
		v := newKeyCredentialView(k)
		return printObject(c, v, keyCredentialFields(k))
	})
}

// readCertificateFile returns the first certificate of a PEM file, or the
// file itself when it is not PEM (a DER .cer): the client's file, as
// --cert is an inputFileFlag.
func readCertificateFile(c *cli.Context, path string) ([]byte, error) {
	raw, err := readInput(c, path)
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	if !strings.Contains(string(raw), "-----BEGIN") {
		return raw, nil
	}
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
	return nil, fmt.Errorf("%w: %s holds no PEM CERTIFICATE block", tenant.ErrInvalid, path)
}

func certListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list an application's certificates",
		Flags: []cli.Flag{appFlag("application")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.KeyCredential, error) {
			keys, err := dir.ListKeyCredentials(c.Context, c.String("app"))
			return keys, applicationError(c.String("app"), err)
		}, newKeyCredentialView, []string{"KEY ID", "DISPLAY NAME", "THUMBPRINT (SHA-1)", "START", "END"}, func(k tenant.KeyCredential) []string {
			return []string{k.KeyID, orDash(k.DisplayName), k.Thumbprint(), timeText(k.StartDateTime), timeText(k.EndDateTime)}
		}),
	}
}

func certRemoveCommand() *cli.Command {
	return credentialRemoveCommand("remove a certificate", "certificate",
		&cli.StringFlag{Name: "key-id", Usage: "keyId of the certificate (`ID`, see app cert list)", Required: true},
		(*tenant.Directory).RemoveKeyCredential)
}

// maxCertDays bounds `cert create --days`.
const maxCertDays = 3650

func certCreateCommand() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "generate a key pair and a self-signed certificate, write them to files and register the certificate",
		Description: `For tests: an RSA-2048 key (PKCS #8 PEM, file mode 0600) and a self-signed
certificate for it (PEM) are written, and the certificate is registered on
the application. Existing files are never overwritten. The private key is
not stored in the database.

EXAMPLES
   issuer app cert create --app APPID --out-cert daemon.pem --out-key daemon.key
   # MSAL Go: confidential.NewCredFromCert(certs, key); azidentity: NewClientCertificateCredential`,
		Flags: []cli.Flag{
			appFlag("application"),
			outputFile(cli.PathFlag{Name: "out-cert", Usage: "write the certificate to `FILE`", Required: true}),
			outputFile(cli.PathFlag{Name: "out-key", Usage: "write the private key to `FILE` (mode 0600)", Required: true}),
			&cli.IntFlag{Name: "days", Usage: "validity in `DAYS`", Value: 365},
			displayNameFlag(),
		},
		Action: certCreate,
	}
}

func certCreate(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	days, certPath, keyPath := c.Int("days"), c.Path("out-cert"), c.Path("out-key")
	if days < 1 || days > maxCertDays {
		return usageError("--days must be between 1 and %d", maxCertDays)
	}
	if certPath == keyPath {
		return usageError("--out-cert and --out-key must name different files")
	}
	appID := c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		app, err := dir.GetApplication(c.Context, appID)
		if err != nil {
			return applicationError(appID, err)
		}
		certPEM, keyPEM, err := newSelfSignedCertificate(app.DisplayName, envOf(c).now(), days)
		if err != nil {
			return err
		}
		keyFile, certFile, err := writeKeyPair(c, keyPath, keyPEM, certPath, certPEM)
		if err != nil {
			return err
		}
		block, _ := pem.Decode(certPEM)
		k, err := dir.AddKeyCredential(c.Context, app.AppID, block.Bytes, c.String("display-name"))
		if err != nil {
			removeOutputs(keyFile, certFile)
			return applicationError(appID, err)
		}
		if err := printObject(c, newKeyCredentialView(k), keyCredentialFields(k)); err != nil {
			return err
		}
		if !isJSON(c) {
			fmt.Fprintf(c.App.ErrWriter, "issuer: wrote %s and %s (private key, mode 0600)\n", certPath, keyPath)
		}
		return nil
	})
}

// writeKeyPair writes the private key (mode 0600) and the certificate
// (0644) where the command line said (see outfile.go), and returns the
// paths created here, for removal should registering fail.
func writeKeyPair(c *cli.Context, keyPath string, keyPEM []byte, certPath string, certPEM []byte) (string, string, error) {
	e := envOf(c)
	write := func(data []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(data); return err }
	}
	if err := writeOutputFile(c, keyPath, 0o600, write(keyPEM)); err != nil {
		return "", "", err
	}
	keyFile, _ := e.outputPath(keyPath)
	if err := writeOutputFile(c, certPath, 0o644, write(certPEM)); err != nil {
		removeOutputs(keyFile)
		return "", "", err
	}
	certFile, _ := e.outputPath(certPath)
	return keyFile, certFile, nil
}

// removeOutputs removes files a failed command created here ("" is a file
// returned to the client, which it has not written).
func removeOutputs(paths ...string) {
	for _, p := range paths {
		if p != "" {
			os.Remove(p)
		}
	}
}

// newSelfSignedCertificate returns a self-signed certificate for a new
// RSA-2048 key, subject CN=name, valid for days from now, and the key, both
// as PEM.
func newSelfSignedCertificate(name string, now time.Time, days int) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial: %w", err)
	}
	now = now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now,
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

// keyCredentialView is the JSON of a certificate credential: Graph's
// keyCredential, members in Graph's (alphabetical) order.
// customKeyIdentifier is the SHA-1 thumbprint as Graph serialises binary
// values, standard base64; az and the portal show the same bytes as
// upper-case hex, which the text output calls thumbprint. key (the
// certificate) is left out, as Graph leaves it out of lists unless
// selected; it is public anyway.
type keyCredentialView struct {
	CustomKeyIdentifier []byte    `json:"customKeyIdentifier"`
	DisplayName         string    `json:"displayName"`
	EndDateTime         time.Time `json:"endDateTime"`
	KeyID               string    `json:"keyId"`
	StartDateTime       time.Time `json:"startDateTime"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
}

func newKeyCredentialView(k tenant.KeyCredential) keyCredentialView {
	return keyCredentialView{
		CustomKeyIdentifier: k.CustomKeyIdentifier, DisplayName: k.DisplayName,
		EndDateTime: k.EndDateTime, KeyID: k.KeyID, StartDateTime: k.StartDateTime, Type: k.Type, Usage: k.Usage,
	}
}

func keyCredentialFields(k tenant.KeyCredential) []field {
	return []field{
		{"keyId", k.KeyID},
		{"displayName", orDash(k.DisplayName)},
		{"type", k.Type},
		{"usage", k.Usage},
		{"thumbprint", k.Thumbprint()},
		{"thumbprintSha256", strings.ToUpper(hex.EncodeToString(k.Thumbprint256))},
		{"startDateTime", timeText(k.StartDateTime)},
		{"endDateTime", timeText(k.EndDateTime)},
	}
}
