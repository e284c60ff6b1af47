package issuer

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestSignInRingKeepsEveryField: what the ring keeps (interned kinds,
// copied ids) reads back as the SignIn that was recorded.
func TestSignInRingKeepsEveryField(t *testing.T) {
	at := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   SignIn
	}{
		{"success", SignIn{Time: at, TraceID: "t-1", Tenant: "contoso.onmicrosoft.com", TenantID: "tid", ClientID: "cid",
			Resource: "api://orders", Flow: "client_credentials", Result: SignInSuccess, Status: 200}},
		{"policy refusal", SignIn{Time: at, TraceID: "t-2", CorrelationID: "corr", Tenant: "tid", TenantID: "tid", ClientID: "cid",
			Resource: "api://orders", User: "alice@contoso.com", Flow: "password", Result: SignInFailure, Status: 400,
			ErrorCode: 65001, Error: "invalid_grant", Reason: "consent_required", Detail: "no grant for scope x"}},
		{"trace id a GUID of the server's", SignIn{Time: at, TraceID: "0f8fad5b-d9cb-469f-a165-70867728950e", Result: SignInSuccess, Status: 200}},
		{"GUID trace id with a correlation id", SignIn{Time: at, TraceID: "0f8fad5b-d9cb-469f-a165-70867728950e",
			CorrelationID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Result: SignInSuccess, Status: 200}},
		{"upper-case GUID trace id", SignIn{Time: at, TraceID: "0F8FAD5B-D9CB-469F-A165-70867728950E", Result: SignInSuccess, Status: 200}},
		{"zero GUID trace id", SignIn{Time: at, TraceID: "00000000-0000-0000-0000-000000000000", Result: SignInSuccess, Status: 200}},
		{"no trace id", SignIn{Time: at, Result: SignInSuccess, Status: 200}},
		{"replica", SignIn{Time: at.Add(time.Second), TraceID: "t-3", Replica: "r2", Tenant: "organizations", Result: SignInFailure,
			Status: 400, ErrorCode: 9002327, Error: "invalid_request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newSignInLog(2)
			l.add(SignIn{Time: at, TraceID: "other", Result: SignInSuccess, Status: 200})
			l.add(tc.in)
			got, seq := l.read(SignInFilter{})
			want := tc.in
			want.Seq = 2
			if seq != 2 || len(got) != 2 || got[1] != want {
				t.Errorf("read %+v (seq %d); want last %+v", got, seq, want)
			}
		})
	}
}

// TestSignInRingHoldsNoRequestMemory: an entry's strings are not slices of
// the request's (its body, its request line), which the ring would keep
// alive as long as it remembers the entry.
func TestSignInRingHoldsNoRequestMemory(t *testing.T) {
	body := strings.Repeat("x", 4096) + "&client_id=11111111-2222-3333-4444-555555555555&trace=t-123&tenant=contoso"
	field := func(name string) string {
		v, _, _ := strings.Cut(body[strings.Index(body, name+"=")+len(name)+1:], "&")
		return v
	}
	l := newSignInLog(10)
	l.add(SignIn{TraceID: field("trace"), CorrelationID: field("trace"), ClientID: field("client_id"), Tenant: field("tenant"), Result: SignInSuccess})
	got, _ := l.read(SignInFilter{})
	start := uintptr(unsafe.Pointer(unsafe.StringData(body)))
	for name, s := range map[string]string{"TraceID": got[0].TraceID, "CorrelationID": got[0].CorrelationID, "ClientID": got[0].ClientID, "Tenant": got[0].Tenant} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= start && p < start+uintptr(len(body)) {
			t.Errorf("%s %q points into the request body", name, s)
		}
	}
}

// TestSignInRingGrowsToItsSize: the ring grows as entries come, and never
// holds room for more than its size.
func TestSignInRingGrowsToItsSize(t *testing.T) {
	for _, size := range []int{1, 3, 64, 100, 10000} {
		l := newSignInLog(size)
		for i := range size + 5 {
			l.add(SignIn{TraceID: "t", Result: SignInSuccess, Status: 200 + i%2})
		}
		if len(l.entries) != size || cap(l.entries) != size {
			t.Errorf("size %d: %d entries with room for %d; want %d and %d", size, len(l.entries), cap(l.entries), size, size)
		}
	}
}

// TestSignInRingReadAfter: a cursor skips what it has read, whether it
// falls inside the ring, before its oldest entry or past its newest.
func TestSignInRingReadAfter(t *testing.T) {
	l := newSignInLog(3)
	for range 5 {
		l.add(SignIn{TraceID: "t", Result: SignInSuccess, Status: 200})
	}
	for _, tc := range []struct {
		name  string
		after uint64
		want  []uint64
	}{
		{"before the oldest", 1, []uint64{3, 4, 5}},
		{"inside", 3, []uint64{4, 5}},
		{"at the newest", 5, nil},
		{"past the newest", 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, seq := l.read(SignInFilter{After: tc.after})
			var seqs []uint64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if seq != 5 || !slices.Equal(seqs, tc.want) {
				t.Errorf("read after %d: %v (cursor %d); want %v (cursor 5)", tc.after, seqs, seq, tc.want)
			}
		})
	}
}
