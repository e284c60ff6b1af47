package seed_test

import (
	"fmt"
	"testing"

	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

// largeSeed is a seed of 10,050 objects: 50 tenants of 100 applications
// (each with an identifier URI) and 100 users, whose passwordHash is
// passwordHash.
func largeSeed(passwordHash string) seed.Document {
	var doc seed.Document
	for t := range 50 {
		st := seed.Tenant{Name: fmt.Sprintf("Tenant %d", t)}
		for a := range 100 {
			st.Applications = append(st.Applications, seed.Application{
				DisplayName: fmt.Sprintf("app %d", a), IdentifierURIs: []string{fmt.Sprintf("api://t%d-a%d", t, a)}})
		}
		for u := range 100 {
			su := seed.User{UserPrincipalName: fmt.Sprintf("u%d@tenant%d.onmicrosoft.com", u, t), DisplayName: fmt.Sprintf("U%d", u)}
			su.PasswordHash = passwordHash
			st.Users = append(st.Users, su)
		}
		doc.Tenants = append(doc.Tenants, st)
	}
	return doc
}

// BenchmarkApply measures applying a seed of 10,050 objects to an empty
// directory, with and without password hashes, and again to the directory
// that holds it (nothing changes). Issue 19's target is 2 s for 10,000
// objects.
func BenchmarkApply(b *testing.B) {
	hash, err := tenant.HashPassword("password-0001")
	if err != nil {
		b.Fatal(err)
	}
	plain := largeSeed("")
	for _, bm := range []struct {
		name string
		doc  seed.Document
	}{{"new", plain}, {"new_password_hashes", largeSeed(hash)}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e := newSeedEnv(b)
				b.StartTimer()
				if _, err := seed.Apply(e.ctx, e.dir, e.mgr, bm.doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("unchanged", func(b *testing.B) {
		e := newSeedEnv(b)
		if _, err := seed.Apply(e.ctx, e.dir, e.mgr, plain); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := seed.Apply(e.ctx, e.dir, e.mgr, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
