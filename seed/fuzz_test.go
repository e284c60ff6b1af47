package seed_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/seed"
)

// FuzzSeed: the seed parser never panics; every refusal is a *Error
// naming the file, with a line within the document; and what it accepts
// encodes to a document it accepts again.
func FuzzSeed(f *testing.F) {
	example, err := os.ReadFile(exampleSeed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"tenants": null}`, `{"tenants": [{}]}`,
		`{"tenants": [{"name": "a", "applications": [{"displayName": "x", "tokenVersion": 2.5}]}]}`,
		"{\"tenants\": [{\"name\": \"a\",\n\"bogus\": 1}]}",
		`{"tenants": [{"name": "a", "consents": [{"client": "x", "admin": true}]}]} trailing`,
		`{"tenants": [{"name": "a", "applications": [{"displayName": "x", "secrets": [{"value": "v", "expires": "-1d"}]}]}]}`,
		"{\"$comment\": \"\xff\"}",
		`{"tenants": [{"name": "a", "Applications": [{"DISPLAYNAME": "x"}]}]}`,
		`{"tenants": [{"name": "a", "groups": [{"displayName": "G", "members": [{"group": "H"}, {"user": "u@a.onmicrosoft.com"}]}, {"displayName": "H", "groupTypes": ["Unified"]}]}]}`,
		`{"tenants": [{"name": "a", "groups": [{"displayName": "A", "members": [{"group": "b"}]}, {"displayName": "B", "members": [{"group": "A"}]}]}]}`,
		`{"tenants": [{"name": "a", "groups": [{"displayName": "G", "id": "0000f001-0000-4000-8000-000000000001", "securityEnabled": false, "mailNickname": "g;g"}], "roleAssignments": [{"resource": "r", "role": "R", "group": "G"}]}]}`,
		`{"tenants": [{"name": "a", "applications": [{"displayName": "x", "groupMembershipClaims": "SecurityGroup, DirectoryRole"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := seed.Parse("fuzz.json", data)
		if err != nil {
			var se *seed.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %v (%T) is not a *Error", err, err)
			}
			lines := strings.Count(string(data), "\n") + 1
			if se.File != "fuzz.json" || se.Line < 0 || se.Line > lines || !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("Parse error %q at line %d of %d lines; want it to name fuzz.json and a line in the document", err, se.Line, lines)
			}
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("json.Marshal(accepted seed): %v", err)
		}
		if _, err := seed.Parse("again.json", again); err != nil {
			t.Fatalf("an accepted seed, encoded again, is refused: %v\n%s", err, again)
		}
	})
}
