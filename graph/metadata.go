package graph

import (
	"net/http"
	"strings"
)

// MetadataPath is where Azure Resource Manager publishes a cloud's
// endpoints; go-azure-sdk (Terraform's azuread provider: metadata_host)
// reads {host}/metadata/endpoints?api-version=2022-09-01 to find a custom
// cloud's login and Microsoft Graph endpoints.
const MetadataPath = "/metadata/endpoints"

// metadataAPIVersion is the one version served.
const metadataAPIVersion = "2022-09-01"

// Metadata serves the cloud document of this server: logins at its base
// URL, Microsoft Graph at {base}/graph/ (its endpoint and, as ARM's
// document says of Graph, its resource identifier: the server accepts
// tokens for either). Resource Manager and the other services are
// Azure's own, which this server does not provide; go-azure-sdk requires
// a resourceManager entry, so it names Azure's.
func (h *Handler) Metadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("api-version"); v != metadataAPIVersion {
			// ARM's answer to a missing or unknown api-version.
			code := "InvalidApiVersionParameter"
			if v == "" {
				code = "MissingApiVersionParameter"
			}
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": code,
				"message": "The api-version '" + v + "' is invalid. The supported versions are '" + metadataAPIVersion + "'."}})
			return
		}
		base := strings.TrimSuffix(h.BaseURL, "/")
		writeJSON(w, http.StatusOK, map[string]any{
			"name":   "issuer",
			"portal": base,
			"authentication": map[string]any{
				"loginEndpoint":    base,
				"audiences":        []string{"https://management.core.windows.net/", "https://management.azure.com/"},
				"tenant":           "common",
				"identityProvider": "AAD",
			},
			"resourceManager":          "https://management.azure.com/",
			"microsoftGraphResourceId": GraphEndpoint(base) + "/",
			"graph":                    "https://graph.windows.net/",
			"graphAudience":            "https://graph.windows.net/",
			"suffixes":                 map[string]any{},
		})
	})
}

// GraphEndpoint is the Graph endpoint of the server at base: the root SDKs
// append /v1.0 to, and a name of Microsoft Graph at the token endpoint
// (issuer.Server.AliasResource).
func GraphEndpoint(base string) string {
	return strings.TrimSuffix(base, "/") + strings.TrimSuffix(strings.TrimSuffix(Prefix, "/"), "/v1.0")
}
