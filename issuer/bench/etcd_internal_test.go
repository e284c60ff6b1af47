package bench

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRevocationToRefusal: the timing ends at the first refusal of the
// request once the revocation ran, not at a busy or failing server's
// answer; a revocation that fails is the error, and so is a replica that
// never refuses within the timeout.
func TestRevocationToRefusal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answers   []error // the requests' answers in turn, then the last one forever
		revokeErr error
		timeout   time.Duration
		wantErr   string // in the error; "" for none
		minPolls  int
	}{
		{"refused at once", []error{&StatusError{Status: 400}}, nil, revocationTimeout, "", 1},
		{"busy, failing, then refused", []error{nil, &StatusError{Status: 429}, &StatusError{Status: 503}, &StatusError{Status: 401}}, nil, revocationTimeout, "", 4},
		{"the revocation fails", []error{nil}, errors.New("etcd is down"), revocationTimeout, "etcd is down", 0},
		// The request always gets a token (or a 503): only the timeout
		// ends the wait, which a short one makes immediate.
		{"never refused", []error{nil, &StatusError{Status: 503}}, nil, time.Millisecond, "kept issuing tokens", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var i atomic.Int64
			req := func(context.Context) error {
				n := int(i.Add(1)) - 1
				return tc.answers[min(n, len(tc.answers)-1)]
			}
			_, _, polls, err := revocationToRefusal(context.Background(), req, tc.timeout, func() error { return tc.revokeErr })
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v; want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" && polls < tc.minPolls {
				t.Errorf("%d polls; want at least %d (the 429 and 503 must not end it)", polls, tc.minPolls)
			}
		})
	}
}
