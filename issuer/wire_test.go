package issuer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// JSON types of the wire shapes. integer is a JSON number without fraction
// or exponent (MSAL Go parses expires_in with strconv.Atoi); intstring is a
// string holding one (v1 responses carry their numbers as strings).
const (
	tString    = "string"
	tInteger   = "integer"
	tIntString = "intstring"
	tBoolean   = "boolean"
	tNull      = "null"
	tStrings   = "[]string"
	tIntegers  = "[]integer"
	tObjects   = "[]object"
)

// field is one member of a JSON object on the wire.
type field struct {
	name     string
	typ      string
	optional bool   // may be absent (e.g. roles when none is granted)
	elem     *shape // the members of each element of a []object
}

// shape is a JSON object as protocol.md describes it: its members in the
// order protocol.md gives, and members that must be absent, with the reason.
// A member the shape does not list is an error too, so that a new member is
// checked against protocol.md before it ships.
type shape struct {
	fields []field
	absent map[string]string // name -> why it must not be there
}

func f(name, typ string) field           { return field{name: name, typ: typ} }
func optional(name, typ string) field    { return field{name: name, typ: typ, optional: true} }
func objects(name string, s shape) field { return field{name: name, typ: tObjects, elem: &s} }

// discoveryV2Shape is the v2 OpenID configuration (protocol.md §1.3,
// members in the order of its captured example). tenant_region_scope is a
// string for a tenant and null for common/organizations/consumers.
func discoveryV2Shape(regionScope string) shape {
	return shape{fields: []field{
		f("token_endpoint", tString), f("token_endpoint_auth_methods_supported", tStrings), f("jwks_uri", tString),
		f("response_modes_supported", tStrings), f("subject_types_supported", tStrings),
		f("id_token_signing_alg_values_supported", tStrings), f("response_types_supported", tStrings),
		f("scopes_supported", tStrings), f("issuer", tString), f("request_uri_parameter_supported", tBoolean),
		f("userinfo_endpoint", tString), f("authorization_endpoint", tString), f("device_authorization_endpoint", tString),
		f("http_logout_supported", tBoolean), f("frontchannel_logout_supported", tBoolean), f("end_session_endpoint", tString),
		f("claims_supported", tStrings), f("kerberos_endpoint", tString), f("tenant_region_scope", regionScope),
		f("cloud_instance_name", tString), f("cloud_graph_host_name", tString), f("msgraph_host", tString), f("rbac_url", tString),
	}, absent: map[string]string{"grant_types_supported": "Entra publishes none (§1.3)"}}
}

// discoveryV1Shape is the v1 OpenID configuration (protocol.md §1.3, in its
// table's order).
func discoveryV1Shape(regionScope string) shape {
	return shape{fields: []field{
		f("token_endpoint", tString), f("token_endpoint_auth_methods_supported", tStrings), f("jwks_uri", tString),
		f("response_modes_supported", tStrings), f("subject_types_supported", tStrings),
		f("id_token_signing_alg_values_supported", tStrings), f("response_types_supported", tStrings),
		f("scopes_supported", tStrings), f("issuer", tString), f("microsoft_multi_refresh_token", tBoolean),
		f("authorization_endpoint", tString), f("device_authorization_endpoint", tString),
		f("http_logout_supported", tBoolean), f("frontchannel_logout_supported", tBoolean), f("end_session_endpoint", tString),
		f("claims_supported", tStrings), f("check_session_iframe", tString), f("userinfo_endpoint", tString),
		f("kerberos_endpoint", tString), f("tenant_region_scope", regionScope),
		f("cloud_instance_name", tString), f("cloud_graph_host_name", tString), f("msgraph_host", tString), f("rbac_url", tString),
	}, absent: map[string]string{"grant_types_supported": "Entra publishes none (§1.3)"}}
}

// jwksShape is a key set (protocol.md §1.4): RSA keys in the example's member
// order, issuer only on the v2 path, never alg (jose skips a key whose alg
// differs from the token's).
func jwksShape(v2 bool) shape {
	key := shape{fields: []field{
		f("kty", tString), f("use", tString), f("kid", tString), f("x5t", tString),
		f("n", tString), f("e", tString), f("x5c", tStrings),
	}, absent: map[string]string{"alg": "Entra publishes no alg (§1.4)", "x5t#S256": "not in Entra's key sets (§1.4)"}}
	if v2 {
		key.fields = append(key.fields, f("issuer", tString))
	} else {
		key.absent["issuer"] = "only v2 key sets carry it (§1.4)"
	}
	return shape{fields: []field{objects("keys", key)}}
}

// instanceShape is instance discovery (protocol.md §1.5).
var instanceShape = shape{fields: []field{
	f("tenant_discovery_endpoint", tString), f("api-version", tString),
	objects("metadata", shape{fields: []field{f("preferred_network", tString), f("preferred_cache", tString), f("aliases", tStrings)}}),
}}

// Client-credentials responses (protocol.md §2.2): v2 numbers, v1 strings
// with expires_on, not_before and resource; never a scope or a refresh
// token, which would break MSAL's cache lookups or promise what app-only
// tokens do not have.
var (
	noUserTokens = map[string]string{
		"scope":         "client credentials responses have none (§2.2); MSAL Go fails on a scope that lacks a requested one",
		"refresh_token": "client credentials never get one (§2.2, §3.5)",
		"id_token":      "app-only (§2.2)",
		"client_info":   "app-only (§2.2)",
	}
	tokenResponseV2 = shape{fields: []field{
		f("token_type", tString), f("expires_in", tInteger), f("ext_expires_in", tInteger), f("access_token", tString),
	}, absent: withAbsent(noUserTokens, "expires_on", "v2 responses have none (§2.2)")}
	tokenResponseV1 = shape{fields: []field{
		f("token_type", tString), f("expires_in", tIntString), f("ext_expires_in", tIntString), f("expires_on", tIntString),
		f("not_before", tIntString), f("resource", tString), f("access_token", tString),
	}, absent: noUserTokens}
)

func withAbsent(m map[string]string, name, why string) map[string]string {
	out := map[string]string{name: why}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// JWT headers and app-only claims (protocol.md §3.2, §3.3): header order
// typ, alg, (x5t,) kid; claims aud, iss, iat, nbf, exp, then the rest
// alphabetically.
var (
	jwtHeaderV1 = shape{fields: []field{f("typ", tString), f("alg", tString), f("x5t", tString), f("kid", tString)}}
	jwtHeaderV2 = shape{fields: []field{f("typ", tString), f("alg", tString), f("kid", tString)},
		absent: map[string]string{"x5t": "v2 headers carry only kid (§3.2)"}}
	appClaimsV1 = shape{fields: []field{
		f("aud", tString), f("iss", tString), f("iat", tInteger), f("nbf", tInteger), f("exp", tInteger),
		f("aio", tString), f("appid", tString), f("appidacr", tString), f("idp", tString), f("oid", tString),
		f("rh", tString), optional("roles", tStrings), f("sub", tString), f("tid", tString), f("uti", tString), f("ver", tString),
	}, absent: map[string]string{"azp": "v2 only (§3.3)", "azpacr": "v2 only (§3.3)", "scp": "app-only tokens have no scp (§4.2)"}}
	appClaimsV2 = shape{fields: []field{
		f("aud", tString), f("iss", tString), f("iat", tInteger), f("nbf", tInteger), f("exp", tInteger),
		f("aio", tString), f("azp", tString), f("azpacr", tString), f("oid", tString),
		f("rh", tString), optional("roles", tStrings), f("sub", tString), f("tid", tString), f("uti", tString), f("ver", tString),
	}, absent: map[string]string{"appid": "v1 only (§3.3)", "appidacr": "v1 only (§3.3)", "idp": "v1 only (§3.3)", "scp": "app-only tokens have no scp (§4.2)"}}
)

// errorShape is Entra's error body in observed member order (protocol.md
// §5.1); suberror only where the code has one.
var errorShape = shape{fields: []field{
	f("error", tString), f("error_description", tString), f("error_codes", tIntegers), f("timestamp", tString),
	f("trace_id", tString), f("correlation_id", tString), f("error_uri", tString), optional("suberror", tString),
}}

// wireShape is the expected shape of one golden answer: its status, body,
// and for token responses the access token's header and claims.
type wireShape struct {
	status         int
	body           shape
	header, claims *shape
}

// wireShapes names every document of goldenRequests.
var wireShapes = map[string]wireShape{
	"discovery-v2-tenant.json":       {status: 200, body: discoveryV2Shape(tString)},
	"discovery-v1-tenant.json":       {status: 200, body: discoveryV1Shape(tString)},
	"discovery-v2-common.json":       {status: 200, body: discoveryV2Shape(tNull)},
	"discovery-v1-common.json":       {status: 200, body: discoveryV1Shape(tNull)},
	"discovery-v2-consumers.json":    {status: 200, body: discoveryV2Shape(tNull)},
	"jwks-v2.json":                   {status: 200, body: jwksShape(true)},
	"jwks-v1.json":                   {status: 200, body: jwksShape(false)},
	"instance-discovery.json":        {status: 200, body: instanceShape},
	"token-v2.json":                  {status: 200, body: tokenResponseV2, header: &jwtHeaderV2, claims: &appClaimsV2},
	"token-v1.json":                  {status: 200, body: tokenResponseV1, header: &jwtHeaderV1, claims: &appClaimsV1},
	"token-v1-from-v2-endpoint.json": {status: 200, body: tokenResponseV2, header: &jwtHeaderV1, claims: &appClaimsV1},
	"error-7000215.json":             {status: 401, body: errorShape},
	"error-1002012.json":             {status: 400, body: errorShape},
	"error-501051.json":              {status: 400, body: errorShape},
	"error-700016.json":              {status: 400, body: errorShape},
	"error-90002-discovery.json":     {status: 400, body: errorShape},
}

// TestWireShapes compares the discovery documents, key sets, instance
// discovery, token responses (with their tokens' headers and claims) and
// error bodies member by member with protocol.md: names, JSON types, order,
// and the members that must be absent. It checks the live answers and the
// golden files: TestGolden pins the bytes, this pins the shape, so
// rewriting the golden files with -update after a change that drops or
// retypes a member still fails here.
func TestWireShapes(t *testing.T) {
	w := newWorld(t)
	for _, gr := range goldenRequests {
		want, ok := wireShapes[gr.file]
		if !ok {
			t.Errorf("%s has no wire shape; add one from protocol.md", gr.file)
			continue
		}
		t.Run(gr.file, func(t *testing.T) {
			live := w.fetchGolden(t, gr)
			doc := map[string]json.RawMessage{"body": live.body}
			if gr.token {
				var m struct {
					AccessToken string `json:"access_token"`
				}
				live.decode(t, &m)
				doc["token_header"], doc["token_claims"] = segment(t, m.AccessToken, 0), segment(t, m.AccessToken, 1)
			}
			t.Run("live", func(t *testing.T) { checkWireDocument(t, live.status, doc, want) })

			raw, err := os.ReadFile(filepath.Join("testdata", "golden", gr.file))
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Status int `json:"status"`
			}
			var parts map[string]json.RawMessage
			if err := json.Unmarshal(raw, &golden); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &parts); err != nil {
				t.Fatal(err)
			}
			t.Run("golden", func(t *testing.T) { checkWireDocument(t, golden.Status, parts, want) })
		})
	}
}

// checkWireDocument checks a status and the body, token_header and
// token_claims of doc against want.
func checkWireDocument(t *testing.T, status int, doc map[string]json.RawMessage, want wireShape) {
	t.Helper()
	if status != want.status {
		t.Errorf("status = %d; want %d", status, want.status)
	}
	for _, p := range []struct {
		part string
		s    *shape
	}{{"body", &want.body}, {"token_header", want.header}, {"token_claims", want.claims}} {
		if p.s == nil {
			if _, ok := doc[p.part]; ok && p.part != "body" {
				t.Errorf("%s present; want none", p.part)
			}
			continue
		}
		v, err := parseOrdered(doc[p.part])
		if err != nil {
			t.Fatalf("%s: %v", p.part, err)
		}
		for _, problem := range p.s.check(p.part, v) {
			t.Error(problem)
		}
	}
}

// member is a JSON object member in document order.
type member struct {
	name  string
	value any
}

// object is a JSON object with its members in document order.
type object []member

// parseOrdered decodes JSON keeping member order (objects become object,
// numbers json.Number).
func parseOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var o object
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, member{name: k.(string), value: v})
		}
		_, err := dec.Token() // }
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token() // ]
		return a, err
	}
	return tok, nil
}

// check returns what is wrong with v as an instance of s, naming members by
// their path.
func (s shape) check(path string, v any) []string {
	o, ok := v.(object)
	if !ok {
		return []string{fmt.Sprintf("%s = %s; want an object", path, typeOf(v))}
	}
	var problems []string
	var order []string // the shape's members that are present, in the shape's order
	for _, fd := range s.fields {
		i := slices.IndexFunc(o, func(m member) bool { return m.name == fd.name })
		if i < 0 {
			if !fd.optional {
				problems = append(problems, fmt.Sprintf("%s.%s is missing; want JSON type %s", path, fd.name, fd.typ))
			}
			continue
		}
		order = append(order, fd.name)
		val := o[i].value
		if !hasType(val, fd.typ) {
			problems = append(problems, fmt.Sprintf("%s.%s = %s; want JSON type %s", path, fd.name, describe(val), fd.typ))
			continue
		}
		if fd.elem != nil {
			for j, e := range val.([]any) {
				problems = append(problems, fd.elem.check(fmt.Sprintf("%s.%s[%d]", path, fd.name, j), e)...)
			}
		}
	}
	var got []string
	for _, m := range o {
		switch why, bad := s.absent[m.name]; {
		case bad:
			problems = append(problems, fmt.Sprintf("%s.%s is present; it must be absent: %s", path, m.name, why))
		case !slices.ContainsFunc(s.fields, func(fd field) bool { return fd.name == m.name }):
			problems = append(problems, fmt.Sprintf("%s.%s is not in protocol.md's shape; add it to the table in wire_test.go if Entra sends it", path, m.name))
		default:
			got = append(got, m.name)
		}
	}
	if !slices.Equal(got, order) {
		problems = append(problems, fmt.Sprintf("%s members in order %v; want %v", path, got, order))
	}
	return problems
}

// hasType reports whether v, as parseOrdered returns it, is of the wire type.
func hasType(v any, typ string) bool {
	switch typ {
	case tString:
		_, ok := v.(string)
		return ok
	case tInteger:
		n, ok := v.(json.Number)
		return ok && isInteger(string(n))
	case tIntString:
		s, ok := v.(string)
		return ok && isInteger(s)
	case tBoolean:
		_, ok := v.(bool)
		return ok
	case tNull:
		return v == nil
	case tStrings, tIntegers, tObjects:
		a, ok := v.([]any)
		if !ok {
			return false
		}
		elem := map[string]string{tStrings: tString, tIntegers: tInteger}[typ]
		for _, e := range a {
			if _, isObj := e.(object); typ == tObjects && !isObj || typ != tObjects && !hasType(e, elem) {
				return false
			}
		}
		return true
	}
	panic("unknown wire type " + typ)
}

// isInteger reports whether s is a decimal integer without sign, fraction
// or exponent.
func isInteger(s string) bool {
	_, err := strconv.ParseUint(s, 10, 63)
	return err == nil
}

// typeOf names the JSON type of v.
func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if isInteger(string(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case object:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// describe shows a value and its JSON type in a failure message.
func describe(v any) string {
	s := fmt.Sprint(v)
	if o, ok := v.(object); ok {
		names := make([]string, len(o))
		for i, m := range o {
			names[i] = m.name
		}
		s = "{" + strings.Join(names, ",") + "}"
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return fmt.Sprintf("%s (%s)", s, typeOf(v))
}
