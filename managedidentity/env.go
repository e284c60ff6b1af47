package managedidentity

import (
	"fmt"
	"net/url"

	"github.com/issuer-dev/issuer/tenant"
)

// Sources are the managed identity sources Environment can point SDKs at.
var Sources = []string{"appservice", "cloudshell", "azureml"}

// Variables are every environment variable Environment sets, for clearing
// the ones of other sources: the SDKs take the first source whose
// variables they find.
var Variables = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
	"MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID", "AZURE_CLIENT_ID"}

// Var is an environment variable and its value.
type Var struct{ Name, Value string }

// Environment returns the variables that make the SDKs get identity's
// tokens from the endpoints a Handler with secret serves at base (its
// http://host:port) for source: App Service's IDENTITY_ENDPOINT and
// IDENTITY_HEADER (and AZURE_POD_IDENTITY_AUTHORITY_HOST, where SDKs that
// move IMDS look), or MSI_ENDPOINT (with MSI_SECRET for Azure Machine
// Learning); and AZURE_CLIENT_ID for a user-assigned identity, which
// DefaultAzureCredential passes on.
func Environment(base, secret string, identity tenant.ServicePrincipal, source string) ([]Var, error) {
	prefix := base + "/" + url.PathEscape(identity.TenantID) + "/" + url.PathEscape(identity.ID)
	var vars []Var
	switch source {
	case "appservice":
		vars = []Var{{"IDENTITY_ENDPOINT", prefix + "/msi/token"}, {"IDENTITY_HEADER", secret}, {"AZURE_POD_IDENTITY_AUTHORITY_HOST", prefix}}
	case "cloudshell":
		vars = []Var{{"MSI_ENDPOINT", prefix + "/cloudshell/token"}}
	case "azureml":
		vars = []Var{{"MSI_ENDPOINT", prefix + "/azureml/token"}, {"MSI_SECRET", secret}, {"DEFAULT_IDENTITY_CLIENT_ID", identity.AppID}}
	default:
		return nil, fmt.Errorf("%w: managed identity source %q, want one of %v", tenant.ErrInvalid, source, Sources)
	}
	if !identity.SystemAssigned() {
		vars = append(vars, Var{"AZURE_CLIENT_ID", identity.AppID})
	}
	return vars, nil
}
