package tenant

import (
	"strings"
	"testing"
)

// TestPasswordHash checks the PHC strings HashPassword makes, and which
// hashes a seed may carry.
func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("S3cret-password")
	if err != nil {
		t.Fatal(err)
	}
	u := User{PasswordHash: h}
	if !u.CheckPassword("S3cret-password") || u.CheckPassword("s3cret-password") {
		t.Errorf("CheckPassword with the hash of HashPassword: the password fails or another passes")
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") was accepted")
	}
	fields := strings.Split(h, "$") // "", argon2id, v=19, m=…, salt, key
	with := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return strings.Join(f, "$")
	}
	tests := []struct {
		name string
		hash string
		ok   bool
	}{
		{"from HashPassword", h, true},
		{"other parameters", with(3, "m=65536,t=3,p=4"), true},
		{"argon2i", with(1, "argon2i"), false},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", false},
		{"old version", with(2, "v=16"), false},
		{"no parameters", with(3, ""), false},
		{"a terabyte of memory", with(3, "m=1073741824,t=2,p=1"), false},
		{"less memory than 8 per thread", with(3, "m=8,t=2,p=4"), false},
		{"zero passes", with(3, "m=19456,t=0,p=1"), false},
		{"17 passes", with(3, "m=19456,t=17,p=1"), false},
		{"trailing text after the parameters", with(3, "m=19456,t=2,p=1x"), false},
		{"padded salt", with(4, fields[4]+"=="), false},
		{"short salt", with(4, "c2FsdA"), false},
		{"short key", with(5, "a2V5"), false},
		{"missing key", strings.Join(fields[:5], "$"), false},
		{"text before", "x" + h, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidatePasswordHash(tt.hash); (err == nil) != tt.ok {
				t.Errorf("ValidatePasswordHash(%q) = %v, want ok = %v", tt.hash, err, tt.ok)
			}
		})
	}
}

// FuzzPasswordHash: a password hash comes from seed files; parsing one
// must not panic, and one that parses must be usable to check a password.
func FuzzPasswordHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$XF6pEEaMOO6NLb5YT98pwQ$Gd2dKSihExKpAt3IfyCRKvB8c8BgNzNyqsYRZig65eI")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw")
	f.Add("$argon2i$v=19$m=8,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePasswordHash(s)
		if err != nil {
			return
		}
		if h.memory > 1<<12 || h.passes > 2 {
			return // valid, but too slow to hash in a fuzz loop
		}
		User{PasswordHash: s}.CheckPassword("password")
	})
}
