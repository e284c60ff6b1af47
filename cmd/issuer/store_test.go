package main

import (
	"strings"
	"testing"
)

func TestParseStoreURL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want: the parsed store, or the error's substring after "!"
	}{
		{"bolt", "bolt:a.db", "bolt:a.db"},
		{"etcd, default prefix", "etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/issuer"},
		{"etcd, endpoints and prefix", "etcd://a:1,b:2/team/dir/", "etcd://a:1,b:2/team/dir"},
		{"ipv6", "etcd://[::1]:2379/x", "etcd://[::1]:2379/x"},
		{"bolt without path", "bolt:", "!no path"},
		{"unknown scheme", "etcd:/127.0.0.1:2379", "!unknown kind of store"},
		{"http", "http://127.0.0.1:2379", "!unknown kind of store"},
		{"no endpoint", "etcd:///x", "!no endpoint"},
		{"no port", "etcd://127.0.0.1/x", "!is not HOST:PORT"},
		{"port not a number", "etcd://127.0.0.1:x/y", "!is not HOST:PORT"},
		{"empty endpoint", "etcd://a:1,/x", "!is not HOST:PORT"},
		{"empty prefix segment", "etcd://a:1/x//y", "!empty segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := parseStoreURL(tc.in)
			if want, ok := strings.CutPrefix(tc.want, "!"); ok {
				if err == nil || !strings.Contains(err.Error(), want) || !isUsageError(err) {
					t.Fatalf("parseStoreURL(%q) = %v, %v; want a usage error with %q", tc.in, u, err, want)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("parseStoreURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
			}
		})
	}
}

// FuzzParseStoreURL: any --store value is a store or a usage error, never
// a panic, and a parsed store prints as a URL that parses to itself.
func FuzzParseStoreURL(f *testing.F) {
	for _, s := range []string{"bolt:a.db", "etcd://127.0.0.1:2379", "etcd://a:1,b:2/p/q", "etcd://[::1]:1/x", "etcd:///", "etcd://a:1//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseStoreURL(s)
		if err != nil {
			if !isUsageError(err) {
				t.Fatalf("%q: %v is not a usage error", s, err)
			}
			return
		}
		again, err := parseStoreURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("%q parsed as %s, which parses as %v, %v", s, u, again, err)
		}
	})
}
