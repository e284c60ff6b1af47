package tenant

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// NewGUID returns a random (version 4) GUID in the lowercase canonical form
// Entra uses for tenant, application and object ids. crypto/rand.Read
// fills b without moving it to the heap (and ends the program rather than
// return an error); a token and its request make two GUIDs each.
func NewGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return FormatGUID(b)
}

// FormatGUID writes the 16 bytes of b as a lowercase 8-4-4-4-12 GUID. It
// builds the text in place: a GUID is made for every token and request
// (token ids, trace ids), and fmt costs several allocations each time.
func FormatGUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// GUIDBytes returns the 16 bytes of s when s is a GUID in the lowercase
// form FormatGUID writes (so that FormatGUID gives s back exactly), and
// false for anything else, upper-case GUIDs included.
func GUIDBytes(s string) ([16]byte, bool) {
	var b [16]byte
	if !IsGUID(s) || strings.ToLower(s) != s {
		return b, false
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(b[:], []byte(digits)); err != nil {
		return [16]byte{}, false
	}
	return b, true
}

// IsGUID reports whether s has the 8-4-4-4-12 hexadecimal form, in any case.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// CanonicalGUID lowercases a GUID, or returns an ErrInvalid error.
func CanonicalGUID(s string) (string, error) {
	if !IsGUID(s) {
		return "", fmt.Errorf("%w: %q is not a GUID", ErrInvalid, s)
	}
	return strings.ToLower(s), nil
}

// NormalizeName is the one normalisation for names used as lookup keys:
// domains, user principal names and identifier URIs compare
// case-insensitively in Entra. Only ASCII letters fold and only ASCII white
// space is trimmed: Unicode case folding would let the Kelvin sign (U+212A)
// stand for "k" and the long s (U+017F) for "s", so that
// "fabri\u212Aam.com" reached tenant fabrikam.com; Entra's domains and user
// principal names are ASCII (DNS names, and the characters Graph allows in
// userPrincipalName), and a name with other characters names nothing.
func NormalizeName(s string) string { return FoldASCII(strings.Trim(s, asciiSpace)) }

// asciiSpace is the white space NormalizeName trims.
const asciiSpace = " \t\n\v\f\r"

// FoldASCII lowercases the ASCII letters of s and leaves every other rune
// as it is.
func FoldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// EqualFoldASCII reports whether a and b are equal when ASCII letters are
// folded, and only those (see NormalizeName).
func EqualFoldASCII(a, b string) bool {
	return len(a) == len(b) && FoldASCII(a) == FoldASCII(b)
}

// IdentifierKey is the lookup key of an identifier URI: NormalizeName with
// one trailing slash dropped, so that "https://api.contoso.com/" and
// "https://API.contoso.com" name the same resource (Entra derives the resource
// of "https://management.azure.com//.default" as "https://management.azure.com/").
func IdentifierKey(uri string) string {
	return strings.TrimSuffix(NormalizeName(uri), "/")
}
