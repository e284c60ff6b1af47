package sdktest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	azauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// graphClient is msgraph-sdk-go, unmodified, signed in as a daemon of
// tenantID through azidentity, with its base URL set to the server's
// Graph and the server's host allowed for its bearer tokens.
func graphClient(t *testing.T, srv *issuertest.Server, tenantID, clientID, secret string) *msgraph.GraphServiceClient {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		DisableInstanceDiscovery: true,
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
			Transport: srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		}})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := azauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{"https://graph.microsoft.com/.default"}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(srv.Client().Transport, khttp.GetDefaultMiddlewares()...)}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(srv.GraphURL())
	return msgraph.NewGraphServiceClient(adapter)
}

// bootstrap is the one step outside Graph: a daemon holding Graph's
// provisioning app roles in tenant, as an administrator sets one up once.
func bootstrap(t *testing.T, srv *issuertest.Server, tenantID string) *msgraph.GraphServiceClient {
	t.Helper()
	app := srv.AddApp(tenantID, tenant.ApplicationSpec{DisplayName: "Provisioner"})
	for _, r := range []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All", "User.ReadWrite.All"} {
		srv.AssignRole(tenantID, tenant.MicrosoftGraphAppID, r, consent.Assignee{ClientAppID: app.AppID})
	}
	return graphClient(t, srv, tenantID, app.AppID, srv.AddSecret(app.AppID))
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, describe(err))
	}
}

// describe adds Graph's error code and message to an SDK error.
func describe(err error) error {
	var odata *odataerrors.ODataError
	if errors.As(err, &odata) && odata.GetErrorEscaped() != nil {
		e := odata.GetErrorEscaped()
		return &graphError{code: deref(e.GetCode()), message: deref(e.GetMessage())}
	}
	return err
}

type graphError struct{ code, message string }

func (e *graphError) Error() string { return e.code + ": " + e.message }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestProvisionWithGraphSDK provisions a whole scenario with msgraph-sdk-go
// from a bootstrap app's app-only token, then uses it with MSAL: an API
// with a scope and an app role, a daemon with a secret from addPassword
// and an app role assignment, a multi-tenant public client, and its
// oauth2PermissionGrant and a user in a second tenant.
func TestProvisionWithGraphSDK(t *testing.T) {
	ctx := context.Background()
	srv := issuertest.NewServer(t, issuertest.Clock(time.Now())) // MSAL and azidentity use the real clock
	contoso, fabrikam := srv.AddTenant("contoso"), srv.AddTenant("fabrikam")
	gc := bootstrap(t, srv, contoso.ID)

	// The API: a scope users may consent to and an application permission.
	scopeID, roleID := uuid.New(), uuid.New()
	api := models.NewApplication()
	api.SetDisplayName(ptr("Orders API"))
	api.SetIdentifierUris([]string{"api://orders"})
	api.SetSignInAudience(ptr("AzureADMultipleOrgs"))
	apiApp := models.NewApiApplication()
	apiApp.SetRequestedAccessTokenVersion(ptr(int32(2)))
	scope := models.NewPermissionScope()
	scope.SetId(&scopeID)
	scope.SetValue(ptr("Orders.Read"))
	scope.SetTypeEscaped(ptr("User"))
	scope.SetIsEnabled(ptr(true))
	scope.SetAdminConsentDisplayName(ptr("Read orders"))
	scope.SetAdminConsentDescription(ptr("Read orders on behalf of the user"))
	apiApp.SetOauth2PermissionScopes([]models.PermissionScopeable{scope})
	api.SetApi(apiApp)
	role := models.NewAppRole()
	role.SetId(&roleID)
	role.SetValue(ptr("Orders.Write"))
	role.SetDisplayName(ptr("Write orders"))
	role.SetDescription(ptr("Write all orders"))
	role.SetAllowedMemberTypes([]string{"Application"})
	role.SetIsEnabled(ptr(true))
	api.SetAppRoles([]models.AppRoleable{role})
	created, err := gc.Applications().Post(ctx, api, nil)
	check(t, "create the API", err)
	apiAppID := deref(created.GetAppId())
	apiSP, err := gc.ServicePrincipals().Post(ctx, spFor(apiAppID), nil)
	check(t, "the API's service principal", err)

	// Find it again the way provisioning code does.
	found, err := gc.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: ptr("appId eq '" + apiAppID + "'"), Select: []string{"id", "appId", "appRoles"}}})
	check(t, "list with $filter", err)
	if v := found.GetValue(); len(v) != 1 || deref(v[0].GetId()) != deref(created.GetId()) || len(v[0].GetAppRoles()) != 1 {
		t.Fatalf("$filter=appId eq '%s' found %d applications; want the API with its role", apiAppID, len(v))
	}
	// And by a word of its name, with $search, which Graph serves only
	// with the advanced-query header.
	eventual := abstractions.NewRequestHeaders()
	eventual.Add("ConsistencyLevel", "eventual")
	searched, err := gc.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{Headers: eventual,
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Search: ptr(`"displayName:orders"`), Select: []string{"id", "displayName"}}})
	check(t, "list with $search", err)
	if v := searched.GetValue(); len(v) != 1 || deref(v[0].GetId()) != deref(created.GetId()) {
		t.Fatalf(`$search="displayName:orders" found %d applications; want the API`, len(v))
	}

	// The daemon: a secret from addPassword, and the API's app role.
	daemon := models.NewApplication()
	daemon.SetDisplayName(ptr("Nightly Job"))
	rra := models.NewRequiredResourceAccess()
	rra.SetResourceAppId(&apiAppID)
	ra := models.NewResourceAccess()
	ra.SetId(&roleID)
	ra.SetTypeEscaped(ptr("Role"))
	rra.SetResourceAccess([]models.ResourceAccessable{ra})
	daemon.SetRequiredResourceAccess([]models.RequiredResourceAccessable{rra})
	daemonApp, err := gc.Applications().Post(ctx, daemon, nil)
	check(t, "create the daemon", err)
	pw := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(ptr("ci"))
	pw.SetPasswordCredential(pc)
	secret, err := gc.Applications().ByApplicationId(deref(daemonApp.GetId())).AddPassword().Post(ctx, pw, nil)
	check(t, "addPassword", err)
	if deref(secret.GetSecretText()) == "" || secret.GetKeyId() == nil {
		t.Fatal("addPassword returned no secretText or keyId")
	}
	daemonSP, err := gc.ServicePrincipals().Post(ctx, spFor(deref(daemonApp.GetAppId())), nil)
	check(t, "the daemon's service principal", err)
	asg := models.NewAppRoleAssignment()
	asg.SetPrincipalId(parseUUID(t, daemonSP.GetId()))
	asg.SetResourceId(parseUUID(t, apiSP.GetId()))
	asg.SetAppRoleId(&roleID)
	_, err = gc.ServicePrincipals().ByServicePrincipalId(deref(apiSP.GetId())).AppRoleAssignedTo().Post(ctx, asg, nil)
	check(t, "appRoleAssignedTo", err)

	// Owners, as provisioning code sets them: the provisioner that created
	// the daemon owns it, and another service principal is added by
	// reference, listed with its type, and removed again.
	owners := gc.Applications().ByApplicationId(deref(daemonApp.GetId())).Owners()
	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + deref(apiSP.GetId())))
	check(t, "add an owner by reference", owners.Ref().Post(ctx, ref, nil))
	listed, err := owners.Get(ctx, nil)
	check(t, "list owners", err)
	var ownerIDs []string
	for _, o := range listed.GetValue() {
		if _, ok := o.(models.ServicePrincipalable); !ok {
			t.Fatalf("owner %s is a %T; want a service principal", deref(o.GetId()), o)
		}
		ownerIDs = append(ownerIDs, deref(o.GetId()))
	}
	if len(ownerIDs) != 2 || !slices.Contains(ownerIDs, deref(apiSP.GetId())) {
		t.Fatalf("owners %v; want the provisioner and the API's service principal", ownerIDs)
	}
	check(t, "remove an owner", owners.ByDirectoryObjectId(deref(apiSP.GetId())).Ref().Delete(ctx, nil))
	// The daemon's service principal gets its own owner the same way.
	spOwners := gc.ServicePrincipals().ByServicePrincipalId(deref(daemonSP.GetId())).Owners()
	check(t, "add a service principal's owner", spOwners.Ref().Post(ctx, ref, nil))
	spListed, err := spOwners.Get(ctx, nil)
	check(t, "list a service principal's owners", err)
	if v := spListed.GetValue(); len(v) != 1 || deref(v[0].GetId()) != deref(apiSP.GetId()) {
		t.Fatalf("the daemon's service principal has %d owners; want the API's service principal", len(v))
	}
	check(t, "remove a service principal's owner", spOwners.ByDirectoryObjectId(deref(apiSP.GetId())).Ref().Delete(ctx, nil))
	assigned, err := gc.ServicePrincipals().ByServicePrincipalId(deref(daemonSP.GetId())).AppRoleAssignments().Get(ctx, nil)
	check(t, "list appRoleAssignments", err)
	if v := assigned.GetValue(); len(v) != 1 || v[0].GetAppRoleId().String() != roleID.String() {
		t.Fatalf("the daemon holds %d assignments; want the API's role", len(v))
	}

	// MSAL with the secret Graph returned; the API validates the token.
	cred, err := confidential.NewCredFromSecret(deref(secret.GetSecretText()))
	check(t, "secret", err)
	cc, err := confidential.New(srv.URL+"/"+contoso.ID, deref(daemonApp.GetAppId()), cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	check(t, "MSAL confidential client", err)
	tok, err := cc.AcquireTokenByCredential(ctx, []string{"api://orders/.default"})
	check(t, "the daemon's token", err)
	claims, err := srv.Issuer.VerifyAccessToken(tok.AccessToken)
	check(t, "the API validates the daemon's token", err)
	if claims.Audience != apiAppID || !slices.Contains(claims.Roles, "Orders.Write") {
		t.Errorf("daemon token aud %s roles %v; want %s and Orders.Write", claims.Audience, claims.Roles, apiAppID)
	}

	// A multi-tenant public client, consented in a second tenant by a
	// provisioner of that tenant, used there by a user Graph created.
	client := models.NewApplication()
	client.SetDisplayName(ptr("Partner Portal"))
	client.SetSignInAudience(ptr("AzureADMultipleOrgs"))
	client.SetIsFallbackPublicClient(ptr(true))
	pcl := models.NewPublicClientApplication()
	pcl.SetRedirectUris([]string{"http://localhost"})
	client.SetPublicClient(pcl)
	clientApp, err := gc.Applications().Post(ctx, client, nil)
	check(t, "create the multi-tenant client", err)

	fc := bootstrap(t, srv, fabrikam.ID)
	clientSP, err := fc.ServicePrincipals().Post(ctx, spFor(deref(clientApp.GetAppId())), nil)
	check(t, "the client in fabrikam", err)
	apiSPf, err := fc.ServicePrincipals().Post(ctx, spFor(apiAppID), nil)
	check(t, "the API in fabrikam", err)
	grant := models.NewOAuth2PermissionGrant()
	grant.SetClientId(clientSP.GetId())
	grant.SetConsentType(ptr("AllPrincipals"))
	grant.SetResourceId(apiSPf.GetId())
	grant.SetScope(ptr("Orders.Read"))
	_, err = fc.Oauth2PermissionGrants().Post(ctx, grant, nil)
	check(t, "oauth2PermissionGrant in fabrikam", err)
	user := models.NewUser()
	user.SetAccountEnabled(ptr(true))
	user.SetDisplayName(ptr("Bo"))
	user.SetMailNickname(ptr("bo"))
	user.SetUserPrincipalName(ptr("bo@fabrikam.onmicrosoft.com"))
	prof := models.NewPasswordProfile()
	prof.SetPassword(ptr("Correct-Horse-9"))
	user.SetPasswordProfile(prof)
	_, err = fc.Users().Post(ctx, user, nil)
	check(t, "create a user in fabrikam", err)

	pub, err := public.New(deref(clientApp.GetAppId()), public.WithAuthority(srv.URL+"/"+fabrikam.ID),
		public.WithHTTPClient(srv.Client()), public.WithInstanceDiscovery(false))
	check(t, "MSAL public client", err)
	res, err := pub.AcquireTokenByUsernamePassword(ctx, []string{"api://orders/Orders.Read"}, "bo@fabrikam.onmicrosoft.com", "Correct-Horse-9")
	check(t, "the user's token in fabrikam", err)
	uc, err := srv.Issuer.VerifyAccessToken(res.AccessToken)
	check(t, "the API validates the user's token", err)
	if uc.TenantID != fabrikam.ID || !slices.Contains(uc.Scopes, "Orders.Read") {
		t.Errorf("user token tid %s scp %v; want %s and Orders.Read", uc.TenantID, uc.Scopes, fabrikam.ID)
	}

	// Cleaning up: deleting the daemon removes its service principal and
	// assignment, and its secret stops working.
	check(t, "delete the daemon", gc.Applications().ByApplicationId(deref(daemonApp.GetId())).Delete(ctx, nil))
	cc2, _ := confidential.New(srv.URL+"/"+contoso.ID, deref(daemonApp.GetAppId()), cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if _, err := cc2.AcquireTokenByCredential(ctx, []string{"api://orders/.default"}); err == nil {
		t.Error("a deleted application still gets tokens")
	}
	if _, err := gc.ServicePrincipals().ByServicePrincipalId(deref(daemonSP.GetId())).Get(ctx, nil); err == nil {
		t.Error("the deleted application's service principal is still there")
	}
}

func spFor(appID string) models.ServicePrincipalable {
	sp := models.NewServicePrincipal()
	sp.SetAppId(&appID)
	return sp
}

func parseUUID(t *testing.T, s *string) *uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(deref(s))
	if err != nil {
		t.Fatal(err)
	}
	return &u
}

func ptr[T any](v T) *T { return &v }
