package graph

import (
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// FuzzParseQuery: any query string is either parsed or refused with a 400,
// never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$filter=appId%20eq%20'00000003-0000-0000-c000-000000000000'",
		"$filter=identifierUris/any(x:x%20eq%20'api://a')%20and%20startswith(displayName,'a''b')",
		"$select=id,appId&$top=5&$skiptoken=NQ", "$top=0", "$filter=(", "$skiptoken=%%%",
		"$orderby=displayName%20desc&$count=true", "$orderby=a,b",
		`$search="displayName:a%20b"%20AND%20"description:c"%20OR%20"mail:d"`, `$search="x`, `$search=""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			if err.status != 400 {
				t.Fatalf("parseQuery(%q) status %d; want 400", raw, err.status)
			}
			return
		}
		if q.top < 1 || q.top > maxPageSize || q.skip < 0 {
			t.Fatalf("parseQuery(%q) = top %d skip %d", raw, q.top, q.skip)
		}
		obj := map[string]any{"id": "x", "appId": "y", "identifierUris": []any{"api://a"}, "displayName": "ab"}
		if _, aerr := matches(obj, q.filter, "application"); aerr != nil && aerr.status != 400 {
			t.Fatalf("matches: %v", aerr)
		}
		if _, aerr := searchMatches(obj, q.search, "application"); aerr != nil && aerr.status != 400 {
			t.Fatalf("searchMatches: %v", aerr)
		}
		objs := []map[string]any{obj, {"displayName": nil}, {"displayName": "AB"}}
		if aerr := sortObjects(objs, q, "application"); aerr != nil && aerr.status != 400 {
			t.Fatalf("sortObjects: %v", aerr)
		}
	})
}

// FuzzApplicationBody: any body of POST /applications decodes or is
// refused with a 400, and a decoded one becomes an update or a 400.
func FuzzApplicationBody(f *testing.F) {
	for _, s := range []string{
		`{"displayName":"x","identifierUris":["api://x"],"api":{"requestedAccessTokenVersion":2,"oauth2PermissionScopes":[{"value":"a","type":"User","isEnabled":true}]}}`,
		`{"@odata.type":"#microsoft.graph.application","appRoles":[{"value":"r","allowedMemberTypes":["Application"]}],"requiredResourceAccess":[{"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","type":"Scope"}]}]}`,
		`{"signInAudience":"AzureADandPersonalMicrosoftAccount"}`, `{"colour":1}`, `[]`, `{"displayName":"x"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b applicationBody
		if err := decodeStrict(body, &b, "application"); err != nil {
			if err.status != 400 {
				t.Fatalf("decode status %d; want 400", err.status)
			}
			return
		}
		if _, err := b.update(nil); err != nil && err.status != 400 {
			t.Fatalf("update status %d; want 400", err.status)
		}
	})
}

// FuzzReferencedID: any @odata.id is either an object id of a directory
// collection or refused with a 400, never a panic.
func FuzzReferencedID(f *testing.F) {
	for _, s := range []string{
		"https://graph.microsoft.com/v1.0/directoryObjects/5f7e0a56-0000-4000-8000-000000000001",
		"https://graph.microsoft.com/v1.0/users/5f7e0a56-0000-4000-8000-000000000001",
		"/servicePrincipals/5f7e0a56-0000-4000-8000-000000000001", "directoryObjects", "%zz", "https://x/applications/1",
		"https://graph.microsoft.com/v1.0/groups/5f7e0a56-0000-4000-8000-000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id, err := referencedID(ref)
		if err != nil {
			if err.status != 400 {
				t.Fatalf("referencedID(%q) status %d; want 400", ref, err.status)
			}
			return
		}
		if !tenant.IsGUID(id) {
			t.Fatalf("referencedID(%q) = %q, not an object id", ref, id)
		}
	})
}

// FuzzGroupBody: any body of POST /groups decodes or is refused with a
// 400, and a decoded one becomes a GroupSpec the directory accepts, or a
// 400.
func FuzzGroupBody(f *testing.F) {
	for _, s := range []string{
		`{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true}`,
		`{"displayName":"x","mailEnabled":true,"mailNickname":"x","securityEnabled":false,"groupTypes":["Unified"],"description":"d"}`,
		`{"displayName":"x","mailEnabled":true,"mailNickname":"x","securityEnabled":true}`,
		`{"displayName":"x","mailEnabled":false,"mailNickname":"a b","securityEnabled":true,"groupTypes":["DynamicMembership"]}`,
		`{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/users/5f7e0a56-0000-4000-8000-000000000001"]}`,
		`{"visibility":"Private"}`, `{"groupTypes":null}`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b groupBody
		if err := decodeStrict(body, &b, "group"); err != nil {
			if err.status != 400 {
				t.Fatalf("decode status %d; want 400", err.status)
			}
			return
		}
		spec, err := b.spec()
		if err != nil {
			if err.status != 400 {
				t.Fatalf("spec status %d; want 400", err.status)
			}
			return
		}
		if strings.TrimSpace(spec.DisplayName) == "" || tenant.ValidateMailNickname(spec.MailNickname) != nil {
			t.Fatalf("spec(%s) = %+v, which the directory refuses", body, spec)
		}
	})
}

// FuzzMembershipBodies: any body of getMemberGroups or checkMemberGroups
// decodes or is refused with a 400.
func FuzzMembershipBodies(f *testing.F) {
	for _, s := range []string{
		`{"securityEnabledOnly":true}`, `{"securityEnabledOnly":"yes"}`,
		`{"groupIds":["5f7e0a56-0000-4000-8000-000000000001"]}`, `{"groupIds":null}`, `{"groupIds":[1]}`, `{}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var g memberGroupsBody
		if err := decodeStrict(body, &g, "directoryObject"); err != nil && err.status != 400 {
			t.Fatalf("getMemberGroups body: status %d; want 400", err.status)
		}
		var c checkMemberGroupsBody
		if err := decodeStrict(body, &c, "directoryObject"); err != nil && err.status != 400 {
			t.Fatalf("checkMemberGroups body: status %d; want 400", err.status)
		}
	})
}
