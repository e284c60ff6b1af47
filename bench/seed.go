package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// seedBatch is how many tenants one transaction of SeedDirectory writes:
// a thousand tenants with ten applications each are a few megabytes of
// pending pages, and ten commits seed 10,000 tenants.
const seedBatch = 1000

// SeedStats says what SeedDirectory created and how long it took.
type SeedStats struct {
	Tenants      int           `json:"tenants"`
	Applications int           `json:"applications"`
	Elapsed      time.Duration `json:"-"`
	Seconds      float64       `json:"seconds"`
}

// SeedDirectory fills dir with tenants × apps filler objects through
// tenant.Directory.BulkCreate, a batch of 1,000 tenants per transaction:
// tenant i is "seed<i>" (seed<i>.onmicrosoft.com); its applications
// alternate between an API (identifier URI api://<appId>, v2 tokens) and
// a daemon, registered by the same rules as `issuer app add`. It is the
// large directory the token path's cost must not grow with.
func SeedDirectory(ctx context.Context, dir *tenant.Directory, tenants, apps int) (SeedStats, error) {
	start := time.Now()
	var st SeedStats
	for first := 0; first < tenants; first += seedBatch {
		batch := make([]tenant.BulkTenant, 0, min(seedBatch, tenants-first))
		for i := first; i < min(first+seedBatch, tenants); i++ {
			bt := tenant.BulkTenant{Tenant: tenant.TenantSpec{Name: fmt.Sprintf("seed%06d", i)}}
			for j := range apps {
				spec := tenant.ApplicationSpec{DisplayName: fmt.Sprintf("Daemon %d", j)}
				if j%2 == 0 {
					id := tenant.NewGUID()
					spec = tenant.ApplicationSpec{DisplayName: fmt.Sprintf("API %d", j), AppID: id,
						IdentifierURIs: []string{"api://" + id}, TokenVersion: 2}
				}
				bt.Applications = append(bt.Applications, spec)
			}
			batch = append(batch, bt)
		}
		ts, as, err := dir.BulkCreate(ctx, batch)
		if err != nil {
			return st, fmt.Errorf("seeding tenants %d to %d: %w", first, first+len(batch)-1, err)
		}
		st.Tenants += len(ts)
		st.Applications += len(as)
	}
	st.Elapsed = time.Since(start)
	st.Seconds = st.Elapsed.Seconds()
	return st, nil
}
