package tenant

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// FederatedIdentityCredential lets tokens of an external identity provider
// stand in for a client credential (workload identity federation; Graph:
// federatedIdentityCredential). A client assertion authenticates the
// application when its iss equals Issuer, its sub equals Subject (exactly,
// case-sensitive) and its aud holds one of Audiences. Members are in the
// order Graph lists them.
type FederatedIdentityCredential struct {
	Audiences   []string `json:"audiences"`
	Description string   `json:"description"`
	ID          string   `json:"id"`
	Issuer      string   `json:"issuer"`
	Name        string   `json:"name"`
	Subject     string   `json:"subject"`
}

// DefaultFederationAudience is the audience Entra recommends for federated
// credentials in the public cloud.
const DefaultFederationAudience = "api://AzureADTokenExchange"

// Limits Entra places on federated identity credentials
// (protocol.md §6.2).
const (
	maxFederatedCredentials   = 20
	maxFederatedValueLength   = 600
	minFederatedNameLength    = 3
	maxFederatedNameLength    = 120
	maxFederatedDescriptionLn = 600
)

// ValidateFederatedIdentityCredential applies Entra's rules to c: a name of
// 3 to 120 URL-safe characters (letters, digits, '-' and '_', starting with a
// letter or digit); an https issuer URL and a subject of at most 600
// characters each; exactly one audience (of at most 600 characters); no
// leading or trailing whitespace anywhere, because Entra compares the values
// exactly and whitespace silently blocks the exchange. It returns c with
// the default audience filled in.
func ValidateFederatedIdentityCredential(c FederatedIdentityCredential) (FederatedIdentityCredential, error) {
	if n := len(c.Name); n < minFederatedNameLength || n > maxFederatedNameLength || !urlSafeName(c.Name) {
		return c, fmt.Errorf("%w: federated credential name %q must have %d to %d characters among letters, digits, '-' and '_', starting with a letter or digit",
			ErrInvalid, c.Name, minFederatedNameLength, maxFederatedNameLength)
	}
	if len(c.Audiences) == 0 {
		c.Audiences = []string{DefaultFederationAudience}
	}
	if len(c.Audiences) != 1 {
		return c, fmt.Errorf("%w: a federated credential has exactly one audience, not %d", ErrInvalid, len(c.Audiences))
	}
	for _, f := range []struct{ name, value string }{{"issuer", c.Issuer}, {"subject", c.Subject}, {"audience", c.Audiences[0]}} {
		switch {
		case f.value == "":
			return c, fmt.Errorf("%w: a federated credential needs an %s", ErrInvalid, f.name)
		case strings.TrimSpace(f.value) != f.value:
			return c, fmt.Errorf("%w: the federated credential %s %q has leading or trailing whitespace, which would never match a token", ErrInvalid, f.name, f.value)
		case len(f.value) > maxFederatedValueLength:
			return c, fmt.Errorf("%w: the federated credential %s has more than %d characters", ErrInvalid, f.name, maxFederatedValueLength)
		}
	}
	if u, err := url.Parse(c.Issuer); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return c, fmt.Errorf("%w: federated credential issuer %q must be an https URL: Entra reads the issuer's OpenID configuration from it", ErrInvalid, c.Issuer)
	}
	if len(c.Description) > maxFederatedDescriptionLn {
		return c, fmt.Errorf("%w: a federated credential description has at most %d characters", ErrInvalid, maxFederatedDescriptionLn)
	}
	return c, nil
}

func urlSafeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return false
		}
	}
	return true
}

// AddFederatedIdentityCredential adds a federated identity credential to
// the application. Names are unique per application (compared
// case-insensitively, as they name the credential in Graph URLs), so is
// the (issuer, subject) pair (compared exactly, as tokens are matched), and
// an application holds at most 20.
func (d *Directory) AddFederatedIdentityCredential(ctx context.Context, appID string, spec FederatedIdentityCredential) (FederatedIdentityCredential, error) {
	c, err := ValidateFederatedIdentityCredential(spec)
	if err != nil {
		return FederatedIdentityCredential{}, err
	}
	c.Audiences = slices.Clone(c.Audiences)
	if c.ID, err = d.idOrNew(c.ID); err != nil {
		return FederatedIdentityCredential{}, err
	}
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return FederatedIdentityCredential{}, err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		for _, o := range a.FederatedIdentityCredentials {
			switch {
			case strings.EqualFold(o.Name, c.Name):
				return fmt.Errorf("federated credential %q: %w", o.Name, ErrExists)
			case o.Issuer == c.Issuer && o.Subject == c.Subject:
				return fmt.Errorf("federated credential for issuer %q and subject %q (%s): %w", c.Issuer, c.Subject, o.Name, ErrExists)
			case o.ID == c.ID:
				return fmt.Errorf("federated credential %s: %w", c.ID, ErrExists)
			}
		}
		if len(a.FederatedIdentityCredentials) >= maxFederatedCredentials {
			return fmt.Errorf("%w: an application has at most %d federated credentials", ErrInvalid, maxFederatedCredentials)
		}
		a.FederatedIdentityCredentials = append(a.FederatedIdentityCredentials, c)
		return nil
	})
	if err != nil {
		return FederatedIdentityCredential{}, err
	}
	return c, nil
}

// ListFederatedIdentityCredentials returns the application's federated
// identity credentials.
func (d *Directory) ListFederatedIdentityCredentials(ctx context.Context, appID string) ([]FederatedIdentityCredential, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return nil, err
	}
	return app.FederatedIdentityCredentials, nil
}

// RemoveFederatedIdentityCredential removes the federated identity
// credential with the given name (any case).
func (d *Directory) RemoveFederatedIdentityCredential(ctx context.Context, appID, name string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.FederatedIdentityCredentials, func(c FederatedIdentityCredential) bool { return strings.EqualFold(c.Name, name) })
		if i < 0 {
			return fmt.Errorf("federated credential %q: %w", name, ErrNotFound)
		}
		a.FederatedIdentityCredentials = slices.Delete(a.FederatedIdentityCredentials, i, i+1)
		if len(a.FederatedIdentityCredentials) == 0 {
			a.FederatedIdentityCredentials = nil
		}
		return nil
	})
	return err
}
