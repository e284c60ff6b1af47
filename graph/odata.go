package graph

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Page sizes of list calls: Graph's default for directory objects is 100,
// and $top may ask for up to 999.
const (
	defaultPageSize = 100
	maxPageSize     = 999
	maxQueryLength  = 4096 // a longer $filter or $select is refused
)

// query is the OData query options of a call.
type query struct {
	filter []clause   // the $filter clauses, all of which must hold
	selct  []string   // $select, empty for every property
	top    int        // page size
	skip   int        // from $skiptoken: objects already returned
	rest   url.Values // the query as given, to build @odata.nextLink
	// count: $count=true, the total of a list (@odata.count), which
	// Graph serves on directory objects only with ConsistencyLevel:
	// eventual (an advanced query).
	count bool
	// orderby is $orderby's property ("" for none), descending with desc.
	orderby string
	desc    bool
	// search is $search (search.go): groups of terms, one of which must
	// hold whole.
	search [][]searchTerm
}

// clause is one condition of $filter: property eq value, startswith(
// property, value), or collection/any(x:x eq value).
type clause struct {
	property string
	op       string // "eq", "startswith" or "any"
	value    string
}

// parseQuery reads the query options Graph's directory collections take.
// Options this subset does not serve ($expand, $skip, …) are
// refused rather than ignored, so that a caller never reads an unfiltered
// or unsorted answer as the one it asked for.
func parseQuery(raw string) (query, *apiError) {
	if len(raw) > maxQueryLength {
		return query{}, badRequest("The query is longer than %d characters.", maxQueryLength)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, badRequest("Invalid query string: %s.", err)
	}
	q := query{top: defaultPageSize, rest: v}
	for k, vs := range v {
		if len(vs) != 1 {
			return query{}, badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", k)
		}
		val := vs[0]
		switch strings.ToLower(k) {
		case "$filter":
			if q.filter, err = parseFilter(val); err != nil {
				return query{}, badRequest("Invalid filter clause: %s", err.Error())
			}
		case "$select":
			for _, p := range strings.Split(val, ",") {
				if p = strings.TrimSpace(p); p == "" {
					return query{}, badRequest("Invalid $select: an empty property name.")
				}
				q.selct = append(q.selct, p)
			}
		case "$top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxPageSize {
				return query{}, badRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", val, maxPageSize)
			}
			q.top = n
		case "$skiptoken":
			b, err := base64.RawURLEncoding.DecodeString(val)
			n, err2 := strconv.Atoi(string(b))
			if err != nil || err2 != nil || n < 0 {
				return query{}, badRequest("Invalid paging token specified.")
			}
			q.skip = n
		case "$count":
			switch strings.ToLower(val) {
			case "true":
				q.count = true
			case "false":
			default:
				return query{}, badRequest("Invalid value '%s' for $count: want true or false.", val)
			}
		case "$orderby":
			if q.orderby, q.desc, err = parseOrderBy(val); err != nil {
				return query{}, &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery, message: err.Error()}
			}
		case "$search":
			if q.search, err = parseSearch(val); err != nil {
				return query{}, badRequest("Invalid $search: %s", err.Error())
			}
		case "$expand", "$skip", "$format", "$apply", "$compute":
			return query{}, badRequest("Query option '%s' is not supported by this server.", k)
		}
	}
	return q, nil
}

// parseOrderBy reads $orderby: one property, then optionally asc or desc.
// Graph sorts directory objects by one property only.
func parseOrderBy(s string) (property string, desc bool, err error) {
	f := strings.Fields(s)
	switch {
	case strings.Contains(s, ","):
		return "", false, errorf("Sorting by more than one property is not supported.")
	case len(f) == 1:
		return f[0], false, nil
	case len(f) == 2 && strings.EqualFold(f[1], "asc"):
		return f[0], false, nil
	case len(f) == 2 && strings.EqualFold(f[1], "desc"):
		return f[0], true, nil
	}
	return "", false, errorf("Invalid $orderby: '%s'.", s)
}

// sortable lists, by type, the properties Graph sorts directory objects
// by, each with whether it needs the advanced query parameters
// (ConsistencyLevel: eventual and $count=true): Graph's "Support for
// sorting by properties of directory objects". Sorting a filtered or
// searched list always needs them.
var sortable = map[string]map[string]bool{
	"application":      {"displayname": true, "createddatetime": true},
	"group":            {"displayname": false},
	"servicePrincipal": {"displayname": true},
	"user":             {"displayname": false, "userprincipalname": false, "createddatetime": true},
}

// errSortUnsupported is Graph's answer to a sort its query parameters do
// not allow.
var errSortUnsupported = &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery, message: "Sorting not supported for current query."}

// sortObjects orders the listed objects (their Graph JSON) as q asks, or
// refuses a sort Graph would refuse. Directory strings sort without
// case, as they compare; ties keep the list's order.
func sortObjects(objs []map[string]any, q query, typeName string) *apiError {
	if q.orderby == "" {
		return nil
	}
	advanced, ok := sortable[typeName][strings.ToLower(q.orderby)]
	switch {
	case !ok:
		return &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
			message: fmt.Sprintf("Sorting by '%s' of resource '%s' is not supported.", q.orderby, typeName)}
	case (advanced || len(q.filter) > 0 || len(q.search) > 0) && !q.count:
		return errSortUnsupported
	}
	key := func(m map[string]any) string {
		v, _ := property(m, q.orderby)
		return strings.ToLower(scalar(v))
	}
	slices.SortStableFunc(objs, func(a, b map[string]any) int {
		c := strings.Compare(key(a), key(b))
		if q.desc {
			return -c
		}
		return c
	})
	return nil
}

// parseFilter reads "c1 and c2 …", each clause one of
//
//	property eq 'value'        (also a GUID, true or false, unquoted)
//	startswith(property,'value')
//	collection/any(x:x eq 'value')
func parseFilter(s string) ([]clause, error) {
	l := lexer{s: s}
	var out []clause
	for {
		c, err := l.clause()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if l.done() {
			return out, nil
		}
		if w := l.word(); !strings.EqualFold(w, "and") {
			return nil, errorf("expected 'and' or the end of the filter, found '%s'", w)
		}
	}
}

type filterError string

func (e filterError) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	return filterError(fmt.Sprintf(format, args...))
}

// lexer walks a $filter expression.
type lexer struct {
	s string
	i int
}

func (l *lexer) skipSpace() {
	for l.i < len(l.s) && l.s[l.i] == ' ' {
		l.i++
	}
}

func (l *lexer) done() bool { l.skipSpace(); return l.i >= len(l.s) }

// word reads a name: letters, digits and '_', '.', '-', '@'.
func (l *lexer) word() string {
	l.skipSpace()
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '@' {
			l.i++
			continue
		}
		break
	}
	return l.s[start:l.i]
}

func (l *lexer) expect(c byte) error {
	l.skipSpace()
	if l.i >= len(l.s) || l.s[l.i] != c {
		return errorf("expected '%c' at position %d", c, l.i)
	}
	l.i++
	return nil
}

// literal reads 'quoted text' (” is a quote) or a bare GUID, number,
// true or false.
func (l *lexer) literal() (string, error) {
	l.skipSpace()
	if l.i < len(l.s) && l.s[l.i] == '\'' {
		var b strings.Builder
		for l.i++; l.i < len(l.s); l.i++ {
			if l.s[l.i] != '\'' {
				b.WriteByte(l.s[l.i])
				continue
			}
			if l.i+1 < len(l.s) && l.s[l.i+1] == '\'' {
				b.WriteByte('\'')
				l.i++
				continue
			}
			l.i++
			return b.String(), nil
		}
		return "", errorf("unterminated string literal")
	}
	w := l.word()
	if w == "" {
		return "", errorf("expected a value at position %d", l.i)
	}
	return w, nil
}

func (l *lexer) clause() (clause, error) {
	name := l.word()
	if name == "" {
		return clause{}, errorf("expected a property at position %d", l.i)
	}
	if strings.EqualFold(name, "startswith") {
		if err := l.expect('('); err != nil {
			return clause{}, err
		}
		prop := l.word()
		if err := l.expect(','); err != nil {
			return clause{}, err
		}
		v, err := l.literal()
		if err != nil {
			return clause{}, err
		}
		if err := l.expect(')'); err != nil {
			return clause{}, err
		}
		return clause{property: prop, op: "startswith", value: v}, nil
	}
	l.skipSpace()
	if l.i < len(l.s) && l.s[l.i] == '/' {
		l.i++
		if w := l.word(); !strings.EqualFold(w, "any") {
			return clause{}, errorf("only the any operator is supported on collections, not '%s'", w)
		}
		if err := l.expect('('); err != nil {
			return clause{}, err
		}
		v1 := l.word()
		if err := l.expect(':'); err != nil {
			return clause{}, err
		}
		if v2 := l.word(); v1 == "" || v2 != v1 {
			return clause{}, errorf("the lambda variable must be compared itself: %s:%s", v1, v2)
		}
		if w := l.word(); !strings.EqualFold(w, "eq") {
			return clause{}, errorf("only eq is supported inside any(), not '%s'", w)
		}
		v, err := l.literal()
		if err != nil {
			return clause{}, err
		}
		if err := l.expect(')'); err != nil {
			return clause{}, err
		}
		return clause{property: name, op: "any", value: v}, nil
	}
	if op := l.word(); !strings.EqualFold(op, "eq") {
		return clause{}, errorf("only the eq operator is supported, not '%s'", op)
	}
	v, err := l.literal()
	if err != nil {
		return clause{}, err
	}
	return clause{property: name, op: "eq", value: v}, nil
}

// matches reports whether the object (its Graph JSON as a map) satisfies
// every clause. Directory string comparisons are case-insensitive, as
// Entra's are. A clause on a property the object type lacks is an error,
// except on a member of a directoryObject collection (project says why):
// one without the property does not match.
func matches(obj map[string]any, cs []clause, typeName string) (bool, *apiError) {
	for _, c := range cs {
		v, ok := property(obj, c.property)
		if _, member := obj["@odata.type"]; !ok && member {
			return false, nil
		}
		if !ok {
			return false, badRequest("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", c.property, typeName)
		}
		switch c.op {
		case "any":
			list, ok := v.([]any)
			if !ok {
				return false, badRequest("Property '%s' of resource '%s' is not a collection.", c.property, typeName)
			}
			if !slices.ContainsFunc(list, func(e any) bool { return strings.EqualFold(scalar(e), c.value) }) {
				return false, nil
			}
		case "startswith":
			if !strings.HasPrefix(strings.ToLower(scalar(v)), strings.ToLower(c.value)) {
				return false, nil
			}
		default:
			if !strings.EqualFold(scalar(v), c.value) {
				return false, nil
			}
		}
	}
	return true, nil
}

// property finds a property by name, case-insensitively as OData does.
func property(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	}
	return ""
}

// project keeps the selected properties of obj; an unknown one is
// Graph's 400. A member of a directoryObject collection (members,
// memberOf, owners) carries its @odata.type, which it keeps, as OData's
// minimal metadata does for a derived type: the SDKs pick the class to
// decode by it. Such a collection mixes types, and Graph takes $select of
// any of their properties (members?$select=id,userPrincipalName over users
// and groups): a member without one, of another type or shown with
// limited information, leaves it out.
func project(obj map[string]any, sel []string, typeName string) (map[string]any, *apiError) {
	if len(sel) == 0 {
		return obj, nil
	}
	out := make(map[string]any, len(sel)+1)
	odataType, member := obj["@odata.type"]
	if member {
		out["@odata.type"] = odataType
	}
	for _, p := range sel {
		found := false
		for k, v := range obj {
			if strings.EqualFold(k, p) {
				out[k], found = v, true
			}
		}
		if !found && !member {
			return nil, badRequest("Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, typeName)
		}
	}
	return out, nil
}
