package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestRevocationToRefusal: the timing ends at the first refusal of the
// request once the revocation ran, not at a busy or failing server's
// answer; a revocation that fails is the error.
func TestRevocationToRefusal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answers   []error // the requests' answers in turn, then the last one forever
		revokeErr error
		wantErr   bool
		minPolls  int
	}{
		{"refused at once", []error{&StatusError{Status: 400}}, nil, false, 1},
		{"busy, failing, then refused", []error{nil, &StatusError{Status: 429}, &StatusError{Status: 503}, &StatusError{Status: 401}}, nil, false, 4},
		{"the revocation fails", []error{nil}, errors.New("etcd is down"), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var i atomic.Int64
			req := func(context.Context) error {
				n := int(i.Add(1)) - 1
				return tc.answers[min(n, len(tc.answers)-1)]
			}
			_, _, polls, err := revocationToRefusal(context.Background(), req, func() error { return tc.revokeErr })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want an error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && polls < tc.minPolls {
				t.Errorf("%d polls; want at least %d (the 429 and 503 must not end it)", polls, tc.minPolls)
			}
		})
	}
}
