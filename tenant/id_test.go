package tenant

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestFormatGUID: the GUID text is the 8-4-4-4-12 lowercase hex of the
// bytes, as fmt's %x writes them, and NewGUID's is a version 4 GUID.
func TestFormatGUID(t *testing.T) {
	tests := []struct {
		name string
		b    [16]byte
	}{
		{"zero", [16]byte{}},
		{"all ones", [16]byte(bytes.Repeat([]byte{0xff}, 16))},
		{"counting", [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"mixed", [16]byte{0xde, 0xad, 0xbe, 0xef, 0x0a, 0xb0, 0x4c, 0x1d, 0x80, 0x7f, 0x10, 0x20, 0x30, 0x40, 0x50, 0xa9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			want := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
			if got := FormatGUID(b); got != want {
				t.Fatalf("FormatGUID = %s, want %s", got, want)
			}
		})
	}
	id := NewGUID()
	if !IsGUID(id) || id[14] != '4' || !bytes.ContainsAny([]byte{id[19]}, "89ab") {
		t.Fatalf("NewGUID = %s, not a version 4 GUID", id)
	}
}

// TestGUIDBytes: the lowercase GUIDs FormatGUID writes read back as their
// bytes; anything FormatGUID would not write exactly is refused.
func TestGUIDBytes(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		ok      bool
	}{
		{"lowercase", "deadbeef-0ab0-4c1d-807f-1020304050a9", true},
		{"zero", "00000000-0000-0000-0000-000000000000", true},
		{"upper case", "DEADBEEF-0AB0-4C1D-807F-1020304050A9", false},
		{"mixed case", "deadbeef-0ab0-4c1d-807f-1020304050A9", false},
		{"braces", "{deadbeef-0ab0-4c1d-807f-1020304050a9}", false},
		{"no dashes", "deadbeef0ab04c1d807f1020304050a9", false},
		{"dash moved", "deadbee-f0ab0-4c1d-807f-1020304050a9", false},
		{"not hex", "deadbeeg-0ab0-4c1d-807f-1020304050a9", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := GUIDBytes(tc.s)
			if ok != tc.ok {
				t.Fatalf("GUIDBytes(%q) ok = %v; want %v", tc.s, ok, tc.ok)
			}
			if ok && FormatGUID(b) != tc.s {
				t.Errorf("FormatGUID(GUIDBytes(%q)) = %q", tc.s, FormatGUID(b))
			}
		})
	}
}

// FuzzGUIDBytes: GUIDBytes accepts exactly the strings FormatGUID writes,
// and gives back their bytes.
func FuzzGUIDBytes(f *testing.F) {
	for _, s := range []string{"deadbeef-0ab0-4c1d-807f-1020304050a9", "DEADBEEF-0AB0-4C1D-807F-1020304050A9", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := GUIDBytes(s)
		canonical := IsGUID(s) && strings.ToLower(s) == s
		if ok != canonical {
			t.Fatalf("GUIDBytes(%q) ok = %v; want %v", s, ok, canonical)
		}
		if ok && FormatGUID(b) != s {
			t.Fatalf("FormatGUID(GUIDBytes(%q)) = %q", s, FormatGUID(b))
		}
	})
}

// TestParseTenantRef: the one reading of a tenant reference, which
// ResolveTenant and the etcd sign-in log's reader share.
func TestParseTenantRef(t *testing.T) {
	for _, tc := range []struct {
		name, ref, id, domain string
		invalid               bool
	}{
		{"id, any case, spaces around", " 8F2A3B4C-1D2E-4F5A-9B8C-7D6E5F4A3B2C ", "8f2a3b4c-1d2e-4f5a-9b8c-7d6e5f4a3b2c", "", false},
		{"domain, any case, spaces around", "\tContoso.COM ", "", "contoso.com", false},
		{"empty", "", "", "", true},
		{"path", "contoso.com/oauth2", "", "", true},
		{"not a domain", "contoso", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, domain, err := ParseTenantRef(tc.ref)
			if id != tc.id || domain != tc.domain || (err != nil) != tc.invalid || err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseTenantRef(%q) = %q, %q, %v; want %q, %q, invalid %v", tc.ref, id, domain, err, tc.id, tc.domain, tc.invalid)
			}
		})
	}
}
