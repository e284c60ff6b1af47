package issuer_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// inventoryState is what decides Daemon's app-only token for the
// Inventory API, all of it in the facts the read cache keeps.
type inventoryState struct {
	clientEnabled   bool // Daemon's service principal
	resourceEnabled bool // Inventory's service principal
	assigned        bool // Daemon holds Inventory.Read.All
	roleEnabled     bool // the Inventory.Read.All role is enabled
	required        bool // Inventory's service principal requires assignment
}

// outcome is the answer the state calls for, in Entra's order of checks:
// the client, the resource, the assignment requirement, then the roles.
func (s inventoryState) outcome() string {
	switch {
	case !s.clientEnabled:
		return fmt.Sprint("AADSTS", issuer.CodeApplicationDisabled)
	case !s.resourceEnabled:
		return fmt.Sprint("AADSTS", issuer.CodeResourceDisabled)
	case s.required && !s.assigned:
		return fmt.Sprint("AADSTS", issuer.CodeClientNotAssigned)
	case s.assigned && s.roleEnabled:
		return "token [Inventory.Read.All]"
	}
	return "token []"
}

// TestReadCacheUnderChange issues Daemon's tokens for Inventory from
// several goroutines, all answered from the read cache between writes,
// while another goroutine disables and enables the client's and the
// resource's service principals, removes and gives the app role
// assignment, disables and enables the role, and requires and stops
// requiring assignment. Every answer must be what the directory called
// for at some instant of its request, never a state older than the last
// write acknowledged before the request began; and the request the writer
// sends once a write has returned must see it exactly. The race detector
// watches the caches meanwhile.
func TestReadCacheUnderChange(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m := w.manager()
	path := "/" + tenantA + "/oauth2/v2.0/token"
	form := ccForm("scope", "api://inventory/.default")
	st := newFact(inventoryState{clientEnabled: true, resourceEnabled: true, assigned: true, roleEnabled: true})

	// answer is the outcome of one token request.
	answer := func(t *testing.T) (string, bool) {
		r := w.post(t, path, form)
		switch r.status {
		case http.StatusOK:
			var body struct {
				AccessToken string `json:"access_token"`
			}
			r.decode(t, &body)
			return fmt.Sprint("token ", claimStrings(claimsOf(t, body.AccessToken)["roles"])), true
		case http.StatusBadRequest, http.StatusUnauthorized:
			var e errorResponse
			r.decode(t, &e)
			if len(e.ErrorCodes) != 1 {
				t.Errorf("refusal without one code: %s", r.body)
				return "", false
			}
			return fmt.Sprint("AADSTS", e.ErrorCodes[0]), true
		}
		t.Errorf("token request: %d %s", r.status, r.body)
		return "", false
	}

	type change struct {
		name  string
		next  func(s inventoryState) inventoryState
		apply func(s inventoryState) error
	}
	sp := func(appID string, u tenant.ServicePrincipalUpdate) error {
		_, err := w.Directory.UpdateServicePrincipal(ctx, tenantA, appID, u)
		return err
	}
	changes := []change{
		{"client service principal", func(s inventoryState) inventoryState { s.clientEnabled = !s.clientEnabled; return s },
			func(s inventoryState) error {
				return sp(clientID, tenant.ServicePrincipalUpdate{AccountEnabled: &s.clientEnabled})
			}},
		{"resource service principal", func(s inventoryState) inventoryState { s.resourceEnabled = !s.resourceEnabled; return s },
			func(s inventoryState) error {
				return sp(inventoryID, tenant.ServicePrincipalUpdate{AccountEnabled: &s.resourceEnabled})
			}},
		{"app role enabled", func(s inventoryState) inventoryState { s.roleEnabled = !s.roleEnabled; return s },
			func(s inventoryState) error {
				_, err := w.Directory.SetAppRoleEnabled(ctx, inventoryID, "Inventory.Read.All", s.roleEnabled)
				return err
			}},
		{"app role assignment", func(s inventoryState) inventoryState { s.assigned = !s.assigned; return s },
			func(s inventoryState) error {
				who := consent.Assignee{ClientAppID: clientID}
				if s.assigned {
					_, err := m.AssignRole(ctx, tenantA, "api://inventory", "Inventory.Read.All", who)
					return err
				}
				_, err := m.UnassignRole(ctx, tenantA, "api://inventory", "Inventory.Read.All", who)
				return err
			}},
		{"assignment required", func(s inventoryState) inventoryState { s.required = !s.required; return s },
			func(s inventoryState) error {
				return sp(inventoryID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &s.required})
			}},
	}

	var (
		stop     atomic.Bool
		requests atomic.Int64
		seen     sync.Map // outcome → true, for the log
	)
	var workers sync.WaitGroup
	for range 3 {
		workers.Go(func() {
			for !stop.Load() {
				from := st.start()
				got, ok := answer(t)
				if !ok {
					return
				}
				seen.Store(got, true)
				var want []string
				for _, s := range st.possible(from) {
					want = append(want, s.outcome())
				}
				if !slices.Contains(want, got) {
					t.Errorf("answer %q; the directory called for one of %v during the request", got, want)
					return
				}
				requests.Add(1)
			}
		})
	}

	defer func() { // also when the test fails: no request outlives the server
		stop.Store(true)
		workers.Wait()
	}()
	// The writes, by index in changes: every answer is called for by some
	// state, and a role is enabled whenever it is assigned (Entra refuses
	// to assign a disabled role). The sequence ends where it began.
	sequence := []int{0, 0, 1, 1, 3, 4, 4, 3, 2, 4, 2, 3, 3, 4}
	const rounds = 2
	for round := range rounds * len(sequence) {
		c := changes[sequence[round%len(sequence)]]
		next := c.next(st.current())
		if err := st.change(next, func() error { return c.apply(next) }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// Read-after-write: the write has returned, so the next request
		// sees it.
		if got, ok := answer(t); !ok || got != next.outcome() {
			t.Errorf("after %s changed (round %d): %q; want %q", c.name, round, got, next.outcome())
		}
		// Let the workers run in this state, from the cache: until a
		// dozen more requests completed, or a generous while on a slow
		// machine (no assertion depends on how many ran).
		for base, deadline := requests.Load(), time.Now().Add(10*time.Second); requests.Load() < base+12 && time.Now().Before(deadline) && !t.Failed(); {
			time.Sleep(time.Millisecond)
		}
	}
	stop.Store(true)
	workers.Wait()
	if requests.Load() == 0 {
		t.Error("no request ran during the writes")
	}
	var outcomes []string
	seen.Range(func(k, _ any) bool { outcomes = append(outcomes, k.(string)); return true })
	slices.Sort(outcomes)
	t.Logf("%d concurrent requests during %d writes; answers seen: %s", requests.Load(), rounds*len(sequence), strings.Join(outcomes, ", "))
}
