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
// tenant i is "seed<i>" (seed<i>.onmicrosoft.com, so a directory is seeded
// once); its applications alternate between an API (identifier URI
// api://<appId>, v2 tokens) and a daemon, registered by the same rules as
// `issuer app add`. It is the large directory the token path's cost must
// not grow with.
//
// The filler's tenant ids and appIds ascend (they share a prefix taken from
// the clock and end in a counter), so that each batch appends to the
// directory's global indexes instead of touching pages all over them: with
// random GUIDs every batch rewrote most of those B+trees, and seeding took
// about twice as long.
func SeedDirectory(ctx context.Context, dir *tenant.Directory, tenants, apps int) (SeedStats, error) {
	start := time.Now()
	next := ascendingGUIDs(start)
	var st SeedStats
	for first := 0; first < tenants; first += seedBatch {
		batch := make([]tenant.BulkTenant, 0, min(seedBatch, tenants-first))
		for i := first; i < min(first+seedBatch, tenants); i++ {
			bt := tenant.BulkTenant{Tenant: tenant.TenantSpec{Name: fmt.Sprintf("seed%06d", i), ID: next()}}
			for j := range apps {
				spec := tenant.ApplicationSpec{DisplayName: fmt.Sprintf("Daemon %d", j), AppID: next(), ObjectID: next()}
				if j%2 == 0 {
					spec.DisplayName = fmt.Sprintf("API %d", j)
					spec.IdentifierURIs = []string{"api://" + spec.AppID}
					spec.TokenVersion = 2
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

// ascendingGUIDs returns a source of version-4-shaped GUIDs that ascend as
// strings: the first 60 bits come from t, the last 48 count.
func ascendingGUIDs(t time.Time) func() string {
	hi := uint64(t.UnixNano())
	var n uint64
	return func() string {
		n++
		return fmt.Sprintf("%08x-%04x-4%03x-8000-%012x", uint32(hi>>28), uint16(hi>>12), uint16(hi)&0xfff, n)
	}
}
