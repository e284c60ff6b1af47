package seed_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

// identitySeed is a tenant with an API, a user-assigned identity holding
// its role (named by the identity's name) and a disabled system-assigned
// identity of a VM.
const identitySeed = `{"tenants": [{"name": "Contoso",
  "applications": [{"displayName": "Orders API", "identifierUris": ["api://orders"], "appRoles": [{"value": "Orders.Read"}]}],
  "managedIdentities": [
    {"name": "orders-worker", "clientId": "0000f001-0000-4000-8000-000000000001", "id": "0000f002-0000-4000-8000-000000000001"},
    {"systemAssigned": true, "resource": "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "accountEnabled": false}
  ],
  "roleAssignments": [{"resource": "api://orders", "role": "Orders.Read", "client": "orders-worker"}]}]}`

// TestApplyManagedIdentities: identities of a seed are created, matched
// again by resource id, exported as identities (not applications), and the
// export applies to the same directory.
func TestApplyManagedIdentities(t *testing.T) {
	doc, err := seed.Parse("identities.json", []byte(identitySeed))
	if err != nil {
		t.Fatal(err)
	}
	e := newSeedEnv(t)
	if res := e.apply(t, doc); res.ManagedIdentities.Created != 2 || res.RoleAssignments.Created != 1 {
		t.Errorf("first apply: %+v", res)
	}
	if res := e.apply(t, doc); res.ManagedIdentities.Unchanged != 2 || res.Total().Created+res.Total().Updated != 0 {
		t.Errorf("second apply: %+v, want nothing changed", res)
	}
	ids, err := e.dir.ListManagedIdentities(e.ctx, "contoso.onmicrosoft.com")
	if err != nil || len(ids) != 2 {
		t.Fatalf("identities %+v, %v", ids, err)
	}
	for _, sp := range ids {
		switch sp.DisplayName {
		case "orders-worker":
			if sp.AppID != "0000f001-0000-4000-8000-000000000001" || sp.SystemAssigned() || !sp.AccountEnabled {
				t.Errorf("worker %+v", sp)
			}
		case "vm1":
			if !sp.SystemAssigned() || sp.AccountEnabled {
				t.Errorf("vm1 %+v", sp)
			}
		default:
			t.Errorf("unexpected identity %+v", sp)
		}
	}
	exported := e.snapshot(t)
	var doc2 seed.Document
	if err := json.Unmarshal([]byte(exported), &doc2); err != nil {
		t.Fatal(err)
	}
	if ts := doc2.Tenants[0]; len(ts.ManagedIdentities) != 2 || len(ts.Applications) != 1 || len(ts.ServicePrincipals) != 1 {
		t.Errorf("export: %d identities, %d applications, %d service principals; want 2, 1 (the API), 1", len(ts.ManagedIdentities), len(ts.Applications), len(ts.ServicePrincipals))
	}
	fresh := newSeedEnv(t)
	fresh.apply(t, doc2)
	if again := fresh.snapshot(t); again != exported {
		t.Errorf("export → apply → export differs:\n--- first\n%s\n--- second\n%s", exported, again)
	}
}

// TestManagedIdentityRefusals: what a seed's identities may not be.
func TestManagedIdentityRefusals(t *testing.T) {
	tests := []struct {
		name, entry, wantPath string
		wantIs                error
		atApply               bool // refused while applying, not when checked
	}{
		{"system-assigned with a name", `{"systemAssigned": true, "name": "x-y-z", "resource": "web"}`, "tenants[0].managedIdentities[0]", tenant.ErrInvalid, false},
		{"system-assigned without its resource", `{"systemAssigned": true}`, "tenants[0].managedIdentities[0]", tenant.ErrInvalid, false},
		{"a resource without systemAssigned", `{"name": "w-1", "resource": "web"}`, "tenants[0].managedIdentities[0]", tenant.ErrInvalid, false},
		{"nothing named", `{}`, "tenants[0].managedIdentities[0]", tenant.ErrInvalid, false},
		{"a bad name", `{"name": "a b"}`, "tenants[0].managedIdentities[0]", tenant.ErrInvalid, false},
		{"a client id that is no GUID", `{"name": "w-1", "clientId": "x"}`, "tenants[0].managedIdentities[0].clientId", tenant.ErrInvalid, false},
		{"an existing identity with another client id", `{"name": "orders-worker", "clientId": "0000f001-0000-4000-8000-0000000000ff"}`, "tenants[0].managedIdentities[0]", seed.ErrConflict, true},
	}
	e := newSeedEnv(t)
	base, err := seed.Parse("identities.json", []byte(identitySeed))
	if err != nil {
		t.Fatal(err)
	}
	e.apply(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := seed.Parse("bad.json", []byte(`{"tenants": [{"name": "Contoso", "managedIdentities": [`+tt.entry+`]}]}`))
			if err == nil {
				_, err = seed.Apply(e.ctx, e.dir, e.mgr, doc)
			} else if tt.atApply {
				t.Fatalf("refused when parsed, want when applied: %v", err)
			}
			var se *seed.Error
			if !errors.As(err, &se) || se.Path != tt.wantPath || !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v; want a *seed.Error at %s wrapping %v", err, tt.wantPath, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), "seed: ") && !strings.HasPrefix(err.Error(), "bad.json") {
				t.Errorf("error %q", err)
			}
		})
	}
}
