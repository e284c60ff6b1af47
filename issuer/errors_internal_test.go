package issuer

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
)

// constants returns the values of the package-level constants whose names
// start with prefix in the Go file at path, read from the source so that a
// constant added later cannot be forgotten by the tests.
func constants(t *testing.T, path, prefix string) map[string]constant.Value {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]constant.Value{}
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				tv, err := types.Eval(fset, nil, token.NoPos, types.ExprString(vs.Values[i]))
				if err != nil {
					t.Fatalf("%s: %v", name.Name, err)
				}
				out[name.Name] = tv.Value
			}
		}
	}
	return out
}

// TestCodeTable checks that every AADSTS code constant has one table entry
// with an OAuth error value and a status that agree with Entra's rules:
// invalid_client is 401 except AADSTS501051 (see the table), server_error
// is 500, everything else 400.
func TestCodeTable(t *testing.T) {
	codes := constants(t, "errors.go", "Code")
	if len(codes) < 20 {
		t.Fatalf("found %d Code constants in errors.go; the parser is looking in the wrong place", len(codes))
	}
	valid := regexp.MustCompile(`^[a-z_]+$`)
	for name, v := range codes {
		n, _ := constant.Int64Val(v)
		info, ok := codeTable[int(n)]
		if !ok {
			t.Errorf("%s (%d) has no codeTable entry", name, n)
			continue
		}
		want := http.StatusBadRequest
		switch {
		case info.oauth == "server_error":
			want = http.StatusInternalServerError
		case info.oauth == "temporarily_unavailable":
			want = http.StatusServiceUnavailable // RFC 6749 §4.1.2.1: a 503 the client may retry
		case info.oauth == "invalid_client" && n != CodeClientNotAssigned:
			want = http.StatusUnauthorized
		}
		if info.status != want || !valid.MatchString(info.oauth) {
			t.Errorf("%s (%d) = %q %d; want a lowercase error and status %d", name, n, info.oauth, info.status, want)
		}
	}
	if len(codeTable) != len(codes) {
		t.Errorf("codeTable has %d entries for %d Code constants", len(codeTable), len(codes))
	}
}

// TestCodeReasons checks that every code of codeTable names its rule for
// the sign-in log, and that nothing else does.
func TestCodeReasons(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for code := range codeTable {
		r, ok := codeReasons[code]
		if !ok || !valid.MatchString(r) {
			t.Errorf("AADSTS%d has reason %q; want a lowercase snake_case name in codeReasons", code, r)
		}
	}
	for code := range codeReasons {
		if _, ok := codeTable[code]; !ok {
			t.Errorf("codeReasons names AADSTS%d, which is not in codeTable", code)
		}
	}
	if got := (&Error{Code: 1}).Reason(); got != "aadsts_1" {
		t.Errorf("Reason of an unknown code = %q; want aadsts_1", got)
	}
}

// TestDenialCodes checks that every consent.Reason has an AADSTS code.
func TestDenialCodes(t *testing.T) {
	reasons := constants(t, "../consent/denial.go", "Reason")
	if len(reasons) == 0 {
		t.Fatal("found no Reason constants in consent/denial.go")
	}
	for name, v := range reasons {
		r := consent.Reason(constant.StringVal(v))
		code, ok := denialCodes[r]
		if !ok {
			t.Errorf("consent.%s (%q) has no AADSTS code", name, r)
			continue
		}
		if _, ok := codeTable[code]; !ok {
			t.Errorf("consent.%s maps to %d, which is not in codeTable", name, code)
		}
	}
}

// TestErrorWrapDoesNotMutate checks that wrap copies: shared *Error values
// must not collect causes from concurrent requests.
func TestErrorWrapDoesNotMutate(t *testing.T) {
	base := errorf(CodeInvalidScope, "x")
	cause := &consent.Denial{Reason: consent.ReasonScopeNotFound}
	w := base.wrap(cause)
	if base.Err != nil || w.Err != cause || w.Code != base.Code {
		t.Errorf("wrap: base.Err = %v, copy = %+v; want base untouched and the copy carrying the cause", base.Err, w)
	}
}

// TestOpaqueClaims checks the shapes of uti, aio and rh (protocol.md §3.3).
func TestOpaqueClaims(t *testing.T) {
	for _, id := range []string{"00000000-0000-4000-8000-000000000001", "6C1E0B7A-2D3F-4A5B-8C9D-0E1F2A3B4C5D", "not a guid"} {
		if got := uti(id); len(got) != 22 || strings.ContainsAny(got, "+/=") {
			t.Errorf("uti(%q) = %q; want 22 base64url characters", id, got)
		}
		if got := aio(id); !strings.HasSuffix(got, "=") || len(got)%4 != 0 {
			t.Errorf("aio(%q) = %q; want padded standard base64", id, got)
		}
	}
	got := rh("6c1e0b7a-2d3f-4a5b-8c9d-0e1f2a3b4c5d", "8f2a1c34-5b6d-4e7f-9a0b-1c2d3e4f5a6b")
	if !strings.HasPrefix(got, "0.AR8AegsebD8tW0qMnQ4fKjtMXTQcKo9tW39Omgsc") || !strings.HasSuffix(got, ".") {
		t.Errorf("rh = %q; want 0.AR8A, the tenant and app in Microsoft byte order, and a final dot", got)
	}
}
