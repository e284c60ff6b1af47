package issuer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// ErrUnknownManagedIdentity means a managed-identity token request named
// no identity of the endpoint's tenant. The local identity endpoints answer
// it in their own shapes (Azure's "Identity not found"), not as AADSTS.
var ErrUnknownManagedIdentity = errors.New("managed identity not found")

// FlowManagedIdentity is the sign-in log's flow of a token a local
// identity endpoint asked for.
const FlowManagedIdentity = "managed_identity"

// ManagedIdentityRequest is a token request that code running on an Azure
// resource sent to a local identity endpoint (package managedidentity).
// The endpoint vouches for the caller, as Azure's do: no credential is
// presented, and nothing else can ask for a managed identity's token.
type ManagedIdentityRequest struct {
	// TenantID and Default name the identity the endpoint serves when the
	// request selects none: its resource's system-assigned identity, or
	// the user-assigned identity `issuer identity env` chose.
	TenantID, Default string
	// At most one selector: a user-assigned identity's client id, object
	// (principal) id or Azure resource id.
	ClientID, ObjectID, ResourceID string
	// Resource is the resource parameter (an appId or identifier URI).
	Resource string
	// CorrelationID is the client's request id when it sent a GUID.
	CorrelationID string
}

// ManagedIdentityToken is an access token for a managed identity, with
// what the endpoints report of it.
type ManagedIdentityToken struct {
	AccessToken                     string
	ExpiresIn, ExpiresOn, NotBefore int64
	Resource                        string // as requested
	ClientID                        string // the identity's client id
}

// IssueManagedIdentityToken issues an app-only token for the managed
// identity r selects, by the rules of the client-credentials grant: the
// identity needs an app role assignment on an assignment-required resource
// (AADSTS501051), a disabled identity is refused, and the sign-in log
// records the request either way. Entra issues managed identities' tokens
// with appidacr/azpacr "2" (the identity authenticates with a certificate
// Azure holds) and xms_mirid, the identity's resource id.
func (s *Server) IssueManagedIdentityToken(ctx context.Context, r ManagedIdentityRequest) (tok ManagedIdentityToken, err error) {
	c := &call{traceID: s.cfg.NewID(), now: s.cfg.Now().UTC(), newID: s.cfg.NewID, ctx: ctx,
		tenant: r.TenantID, tenantID: r.TenantID, flow: FlowManagedIdentity, resource: r.Resource}
	c.adopt(r.CorrelationID)
	defer func() { s.recordSignIn(c, err) }()

	sp, err := s.managedIdentity(ctx, r)
	if err != nil {
		return ManagedIdentityToken{}, err
	}
	c.client = sp.AppID
	if strings.TrimSpace(r.Resource) == "" {
		return ManagedIdentityToken{}, errMissing("resource")
	}
	creq := consent.Request{Flow: consent.FlowClientCredentials, TenantRef: sp.TenantID,
		ClientAppID: sp.AppID, ResourceName: strings.TrimSpace(r.Resource), Default: true}
	f, err := s.resolve(ctx, creq)
	if err != nil {
		return ManagedIdentityToken{}, err
	}
	c.judged = &judgement{creq, f}
	if err := checkClient(creq, f); err != nil {
		return ManagedIdentityToken{}, err
	}
	dec, err := decide(creq, f)
	if err != nil {
		return ManagedIdentityToken{}, err
	}
	t, err := s.signAccess(appToken{access: s.newAccess(creq, f, dec, appIDACRCertificate, c.now),
		ClientSPID: f.ClientSP.ID, Idtyp: appIdtyp(f.ResourceApp), MIResource: sp.ManagedIdentityResourceID()})
	if err != nil {
		return ManagedIdentityToken{}, err
	}
	return ManagedIdentityToken{AccessToken: t.token, ExpiresIn: t.lifetime, ExpiresOn: t.expiresOn,
		NotBefore: t.notBefore, Resource: r.Resource, ClientID: sp.AppID}, nil
}

// managedIdentity returns the identity r selects in its tenant.
func (s *Server) managedIdentity(ctx context.Context, r ManagedIdentityRequest) (tenant.ServicePrincipal, error) {
	ref, n := r.Default, 0
	for _, sel := range []string{r.ClientID, r.ObjectID, r.ResourceID} {
		if sel = strings.TrimSpace(sel); sel != "" {
			ref, n = sel, n+1
		}
	}
	if n > 1 {
		return tenant.ServicePrincipal{}, fmt.Errorf("%w: give one of client_id, object_id and the resource id", tenant.ErrInvalid)
	}
	if ref == "" {
		return tenant.ServicePrincipal{}, errorf(CodeApplicationNotFound, "The request selects no managed identity.").wrap(ErrUnknownManagedIdentity)
	}
	sp, err := s.cfg.Directory.FindManagedIdentity(ctx, r.TenantID, ref)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		// AADSTS700016 names it in the sign-in log; the endpoints answer
		// ErrUnknownManagedIdentity their own way.
		return tenant.ServicePrincipal{}, errorf(CodeApplicationNotFound,
			"Managed identity '%s' was not found in the directory '%s'.", ref, r.TenantID).wrap(fmt.Errorf("%w: %w", ErrUnknownManagedIdentity, err))
	case err != nil:
		return tenant.ServicePrincipal{}, err
	}
	return sp, nil
}

// ExchangeResource is the resource of the tokens a workload presents as a
// federated credential: Entra's token exchange audience, which federated
// credentials name by default (tenant.DefaultFederationAudience).
const ExchangeResource = "api://AzureADTokenExchange"

// WorkloadToken is a token for a workload to present as a client assertion
// (workload identity federation), and the issuer and subject a federated
// credential must name to accept it.
type WorkloadToken struct {
	Token           string
	ExpiresOn       time.Time
	Issuer, Subject string
}

// IssueWorkloadToken issues the managed identity's token for Entra's token
// exchange audience: the credential Entra documents for an application that
// trusts a managed identity (a federated credential with the identity's
// tenant's issuer, the identity's principal id as subject and the audience
// api://AzureADTokenExchange), and what `issuer identity env --source
// workload` writes to AZURE_FEDERATED_TOKEN_FILE. It is an app-only v1
// token of the identity, as Entra issues it for that resource, with no
// roles; the sign-in log records it.
func (s *Server) IssueWorkloadToken(ctx context.Context, tenantID, identity string) (wt WorkloadToken, err error) {
	c := &call{traceID: s.cfg.NewID(), now: s.cfg.Now().UTC(), newID: s.cfg.NewID, ctx: ctx,
		tenant: tenantID, tenantID: tenantID, flow: FlowManagedIdentity, resource: ExchangeResource}
	defer func() { s.recordSignIn(c, err) }()
	sp, err := s.managedIdentity(ctx, ManagedIdentityRequest{TenantID: tenantID, Default: identity})
	if err != nil {
		return WorkloadToken{}, err
	}
	c.client = sp.AppID
	if !sp.AccountEnabled {
		return WorkloadToken{}, errorf(CodeApplicationDisabled, "Application '%s'(%s) is disabled.", sp.AppID, sp.DisplayName)
	}
	t, err := s.signAccess(appToken{access: access{Version: 1, TenantID: sp.TenantID, ClientAppID: sp.AppID,
		ResourceAppID: exchangeAppID, ResourceName: ExchangeResource, ACR: appIDACRCertificate, Issued: c.now,
		Lifetime: s.cfg.TokenLifetime.Truncate(time.Second), ID: s.cfg.NewID()},
		ClientSPID: sp.ID, MIResource: sp.ManagedIdentityResourceID()})
	if err != nil {
		return WorkloadToken{}, err
	}
	return WorkloadToken{Token: t.token, ExpiresOn: time.Unix(t.expiresOn, 0).UTC(), Issuer: s.issuer(1, sp.TenantID), Subject: sp.ID}, nil
}

// exchangeAppID is the appId of Entra's token exchange resource
// (protocol.md §6.2, from a captured token [O]): rh names it.
const exchangeAppID = "fb60f99c-7a34-4190-8149-302f77469936"
