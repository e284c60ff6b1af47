package issuer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestSplitScopeParam: the scope parameter splits on U+0020 only.
func TestSplitScopeParam(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string // nil with wantErr
		bad  bool
	}{
		{"one scope", "api://orders/.default", []string{"api://orders/.default"}, false},
		{"MSAL's list", "api://orders/Orders.Read openid profile offline_access", []string{"api://orders/Orders.Read", "openid", "profile", "offline_access"}, false},
		{"runs and ends of spaces", "  openid   profile ", []string{"openid", "profile"}, false},
		{"empty", "", nil, false},
		{"no-break space", "api://x/.default\u00a0openid", nil, true},
		{"tab", "openid\tprofile", nil, true},
		{"carriage return", "openid\r", nil, true},
		{"line separator", "openid\u2028profile", nil, true},
		{"NUL", "openid\x00", nil, true},
		{"non-ASCII letters are not separators", "api://x/Lesen.Schreiben\u00e9", []string{"api://x/Lesen.Schreiben\u00e9"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitScopeParam(tc.in)
			var e *Error
			switch {
			case tc.bad && (!errors.As(err, &e) || e.Code != CodeInvalidScope):
				t.Errorf("splitScopeParam(%q) = %q, %v; want AADSTS70011", tc.in, got, err)
			case !tc.bad && (err != nil || !slices.Equal(got, tc.want)):
				t.Errorf("splitScopeParam(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzSplitScopeParam: what splitScopeParam accepts holds no empty value
// and no white space or control character, and joins back to the input
// without its extra spaces.
func FuzzSplitScopeParam(f *testing.F) {
	for _, s := range []string{"", "openid", " a  b ", "a\u00a0b", "a\tb", "api://x/.default offline_access"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := splitScopeParam(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidScope {
				t.Fatalf("splitScopeParam(%q): %v; want AADSTS70011", s, err)
			}
			return
		}
		for _, v := range got {
			if v == "" || strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				t.Fatalf("splitScopeParam(%q) returned %q", s, v)
			}
		}
		if want := strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " "); strings.Join(got, " ") != want {
			t.Fatalf("splitScopeParam(%q) = %q; want the values of %q", s, got, want)
		}
	})
}
