package graph

import (
	"net/http"
	"strings"
	"unicode"
)

// $search on directory objects.
//
// Graph serves $search on directory objects as an advanced query: only
// with the ConsistencyLevel: eventual header ($count is not needed), and
// each term names its property: $search="displayName:web" AND
// "description:prod", terms joined by AND and OR (AND first). On
// displayName and description the search is tokenized: the value is split
// at spaces and symbols, between letters and digits and where a lowercase
// letter meets an uppercase one, and each word of the term must begin one
// of those tokens ("displayName:web app" finds "MyWebApplication"). On
// other string properties it is startswith, as $filter's. Both ignore case.
// Graph's documentation ("Use the $search query parameter") describes the
// tokens by example only; the splitting above is our reading of it.

// searchTerm is one "property:value" of $search.
type searchTerm struct {
	property string
	value    string
}

// searchable lists the types whose lists take $search here: Graph's
// directory objects of this subset. Grants and role assignments are not
// directory objects, and Graph refuses $search on them.
var searchable = map[string]bool{"application": true, "servicePrincipal": true, "user": true, "group": true}

// tokenized are the properties Graph searches by token.
var tokenized = map[string]bool{"displayname": true, "description": true}

// errSearchNeedsEventual is Graph's answer to $search without the
// advanced-query header, word for word.
var errSearchNeedsEventual = &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
	message: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"}

// parseSearch reads $search: quoted terms joined by AND and OR, as a
// disjunction of conjunctions.
func parseSearch(s string) ([][]searchTerm, error) {
	var out [][]searchTerm
	var group []searchTerm
	rest := strings.TrimSpace(s)
	for {
		t, after, err := searchTermOf(rest)
		if err != nil {
			return nil, err
		}
		group = append(group, t)
		rest = strings.TrimSpace(after)
		if rest == "" {
			return append(out, group), nil
		}
		end := strings.IndexFunc(rest, unicode.IsSpace)
		if end < 0 {
			end = len(rest)
		}
		op, after := rest[:end], rest[end:]
		switch op {
		case "AND":
		case "OR":
			out, group = append(out, group), nil
		default:
			return nil, errorf("expected AND, OR or the end of $search, found '%s'", op)
		}
		rest = strings.TrimSpace(after)
	}
}

// searchTermOf reads the quoted term s begins with and returns the rest.
func searchTermOf(s string) (searchTerm, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return searchTerm{}, "", errorf(`a $search term is a quoted "property:value", found '%s'`, s)
	}
	body, rest, ok := strings.Cut(s[1:], `"`)
	if !ok {
		return searchTerm{}, "", errorf("unterminated quote in $search: '%s'", s)
	}
	prop, value, ok := strings.Cut(body, ":")
	prop, value = strings.TrimSpace(prop), strings.TrimSpace(value)
	if !ok || prop == "" || value == "" {
		return searchTerm{}, "", errorf(`a $search term is "property:value", found "%s"`, body)
	}
	return searchTerm{property: prop, value: value}, rest, nil
}

// checkSearchable refuses $search on a list of typeName, unless Graph
// searches that type.
func checkSearchable(search [][]searchTerm, typeName string) *apiError {
	if len(search) == 0 || searchable[typeName] {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
		message: "$search is not supported on resource '" + typeName + "'."}
}

// searchMatches reports whether the object (its Graph JSON) satisfies the
// search: every term of one of its groups, or an empty search. A term on
// a property the type lacks, or that is not a string, is refused.
func searchMatches(obj map[string]any, search [][]searchTerm, typeName string) (bool, *apiError) {
	found := len(search) == 0
	for _, group := range search {
		all := true
		for _, t := range group {
			v, ok := property(obj, t.property)
			s, isString := v.(string)
			if !ok || (!isString && v != nil) {
				return false, &apiError{status: http.StatusBadRequest, code: codeUnsupportedQuery,
					message: "Unsupported or invalid query search clause specified for property '" + t.property + "' of resource '" + typeName + "'."}
			}
			all = all && termMatches(s, t)
		}
		found = found || all
	}
	return found, nil
}

// termMatches applies one term to a property's value.
func termMatches(value string, t searchTerm) bool {
	words := searchTokens(t.value)
	if !tokenized[strings.ToLower(t.property)] || len(words) == 0 {
		// A term of symbols alone ("displayName:-") has no word to find:
		// it is a prefix, as on other properties, rather than a term
		// every name satisfies.
		return strings.HasPrefix(strings.ToLower(value), strings.ToLower(t.value))
	}
	tokens := searchTokens(value)
	for _, w := range words {
		begins := false
		for _, tok := range tokens {
			if strings.HasPrefix(tok, w) {
				begins = true
				break
			}
		}
		if !begins {
			return false
		}
	}
	return true
}

// searchTokens splits s into lowercase tokens: runs of letters or of
// digits, a lowercase-to-uppercase change starting a new one ("HelloWorld42"
// is hello, world, 42); anything else separates them.
func searchTokens(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range s {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case len(cur) > 0 && (unicode.IsDigit(r) != unicode.IsDigit(prev) || unicode.IsLower(prev) && unicode.IsUpper(r)):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}
