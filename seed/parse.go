package seed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBytes bounds a seed document; real ones are kilobytes.
const maxBytes = 16 << 20

// Error is a fault in a seed document, located as precisely as the
// document allows: the file, the line, and the JSON path of the value at
// fault, e.g. "testdata/seed/example.json:14: tenants[0].applications[1]:
// unknown field "displayname2"".
type Error struct {
	File string // the name the seed was parsed under; empty for a Seed built in Go
	Line int    // 1-based; 0 when unknown
	Path string // e.g. tenants[0].applications[1].secrets[0]; empty for the document
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(cmpOr(e.File, "seed"))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Load reads and parses the seed file at path.
func Load(path string) (Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return Document{}, fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return Document{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses a seed document; name (usually the file path) appears in
// errors. Syntax errors, unknown fields, values of the wrong type and values
// that break the document's rules are *Error values naming the line.
// Rules that depend on the directory (does this appId exist?) are checked
// when the seed is applied.
func Parse(name string, data []byte) (Document, error) {
	fail := func(line int, path string, err error) (Document, error) {
		return Document{}, &Error{File: name, Line: line, Path: path, Err: err}
	}
	if len(data) > maxBytes {
		return fail(0, "", fmt.Errorf("larger than %d bytes", maxBytes))
	}
	if !utf8.Valid(data) {
		return fail(0, "", errors.New("not UTF-8 text"))
	}
	var s Document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&s)
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		return fail(0, "", errors.New("empty document; want a JSON object with \"tenants\""))
	case errors.As(err, &syntax):
		return fail(lineOf(data, syntax.Offset), "", fmt.Errorf("invalid JSON: %s", syntax))
	case errors.As(err, &typ):
		path, line := valueAt(data, typ.Offset)
		return fail(line, path, fmt.Errorf("want %s, got a JSON %s", jsonKind(typ.Type), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json names the field but not where it is.
		if u, ok := findUnknownField(data, reflect.TypeFor[Document]()); ok {
			return fail(u.line, u.path, fmt.Errorf("unknown field %q", u.key))
		}
		return fail(0, "", errors.New(strings.TrimPrefix(err.Error(), "json: ")))
	default:
		return fail(lineAt(data, dec.InputOffset()), "", fmt.Errorf("invalid JSON: %w", err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(lineAt(data, dec.InputOffset()), "", errors.New("unexpected data after the document"))
	}
	s.source, s.data = name, data
	if err := s.validate(); err != nil {
		return Document{}, err
	}
	return s, nil
}

// errorAt wraps err as a *Error at path, with the line when the seed
// was parsed from text.
func (s Document) errorAt(path string, err error) error {
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	line := 0
	// A missing field has no line: take its object's.
	for p := path; s.data != nil && line == 0; p = parentPath(p) {
		line = lineOfPath(s.data, p)
		if p == "" {
			break
		}
	}
	return &Error{File: s.source, Line: line, Path: path, Err: err}
}

// parentPath drops the last element of a path: "a[0].b" → "a[0]" → "a".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// jsonKind names what a Go type reads from JSON, for type errors.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// ---- locating values in the text ----

// lineAt returns the 1-based line of the first significant byte at or after
// offset (JSON separators and white space skipped): where a value begins
// when offset is the end of the token before it.
func lineAt(data []byte, offset int64) int {
	off := int(min(max(offset, 0), int64(len(data))))
	for i := off; i < len(data); i++ {
		if strings.IndexByte(" \t\r\n,:", data[i]) < 0 {
			off = i
			break
		}
	}
	return lineOf(data, int64(off))
}

// lineOf returns the 1-based line of the byte at offset.
func lineOf(data []byte, offset int64) int {
	off := int(min(max(offset, 0), int64(len(data))))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// jsonValue is a value met while walking a document: its path and where it
// starts.
type jsonValue struct {
	path  string
	start int64
	line  int
}

// unknownField is an object key the target type has no field for.
type unknownField struct {
	path, key string
	line      int
}

// walker reads a document token by token, keeping the path of each value,
// and, given a Go type, reports the first key that type does not have.
type walker struct {
	data    []byte
	dec     *json.Decoder
	visit   func(jsonValue) bool // false stops the walk
	unknown *unknownField
}

var errStop = errors.New("stop")

// walk visits every value of data in document order; with t, it stops at
// the first object key t has no field for.
func walk(data []byte, t reflect.Type, visit func(jsonValue) bool) (*unknownField, error) {
	w := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), visit: visit}
	w.dec.UseNumber()
	err := w.value("", t)
	if errors.Is(err, errStop) {
		err = nil
	}
	return w.unknown, err
}

func (w *walker) value(path string, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if w.visit != nil && !w.visit(jsonValue{path: path, start: start, line: lineAt(w.data, start)}) {
		return errStop
	}
	switch tok {
	case json.Delim('{'):
		for w.dec.More() {
			keyStart := w.dec.InputOffset()
			k, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			var ft reflect.Type
			if t != nil {
				switch t.Kind() {
				case reflect.Struct:
					if ft = fieldType(t, key); ft == nil {
						w.unknown = &unknownField{path: path, key: key, line: lineAt(w.data, keyStart)}
						return errStop
					}
				case reflect.Map:
					ft = t.Elem()
				}
			}
			if err := w.value(joinPath(path, key), ft); err != nil {
				return err
			}
		}
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(path+"["+strconv.Itoa(i)+"]", et); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldType returns the type of t's field that encoding/json would fill
// from key (exact name first, then case-insensitively), or nil.
func fieldType(t reflect.Type, key string) reflect.Type {
	var fold reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = f.Type
		}
	}
	return fold
}

// findUnknownField finds the first key of data that t has no field for.
func findUnknownField(data []byte, t reflect.Type) (unknownField, bool) {
	u, _ := walk(data, t, nil)
	if u == nil {
		return unknownField{}, false
	}
	return *u, true
}

// valueAt returns the path and line of the innermost value starting before
// offset: where encoding/json found a value of the wrong type.
func valueAt(data []byte, offset int64) (string, int) {
	var last jsonValue
	walk(data, nil, func(v jsonValue) bool {
		if v.start >= offset {
			return false
		}
		last = v
		return true
	})
	return last.path, last.line
}

// lineOfPath returns the line where the value at path starts, 0 if absent.
func lineOfPath(data []byte, path string) int {
	line := 0
	walk(data, nil, func(v jsonValue) bool {
		if v.path == path {
			line = v.line
			return false
		}
		return true
	})
	return line
}
