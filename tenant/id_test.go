package tenant

import (
	"bytes"
	"fmt"
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
			if got := formatGUID(b); got != want {
				t.Fatalf("formatGUID = %s, want %s", got, want)
			}
		})
	}
	id := NewGUID()
	if !IsGUID(id) || id[14] != '4' || !bytes.ContainsAny([]byte{id[19]}, "89ab") {
		t.Fatalf("NewGUID = %s, not a version 4 GUID", id)
	}
}
