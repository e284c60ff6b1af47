package issuer_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// TestNoUserSecretsInLogs checks that passwords, access tokens, id_tokens,
// assertions and refresh tokens never reach the log, on success or refusal,
// in the user flows; and that the sign-in log names every refusal's reason.
func TestNoUserSecretsInLogs(t *testing.T) {
	var logs syncBuffer
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.RefreshTokenReuse = issuer.RefreshTokenReuseRevokeFamily // so that the replay below is refused
	}))
	w.seedDelegated()
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	pw := w.tokenOK(t, v2, pwForm())
	const wrongPassword = "not-the-password-0001"
	w.post(t, v2, pwForm("password", wrongPassword))
	ada := pw["access_token"].(string)
	obo := w.tokenOK(t, v2, oboForm(ada))
	w.post(t, v2, oboForm(tamper(t, ada)))
	rt := pw["refresh_token"].(string)
	refreshed := w.tokenOK(t, v2, rtForm(rt))
	w.post(t, v2, rtForm(rt)) // a replay
	out := logs.String()
	for _, code := range []string{"50126", "50013", "70008"} {
		if !strings.Contains(out, code) {
			t.Fatalf("log lacks AADSTS%s:\n%s", code, out)
		}
	}
	// Every refusal names its reason in the sign-in log, the replay too.
	reasons := map[int]string{}
	for _, e := range w.Logs() {
		if e.Failed() {
			reasons[e.ErrorCode] = e.Reason
		}
	}
	for code, want := range map[int]string{50126: "user_credentials_invalid", 50013: "user_assertion_invalid", 70008: "refresh_token_revoked"} {
		if reasons[code] != want {
			t.Errorf("sign-in reason of AADSTS%d = %q; want %q", code, reasons[code], want)
		}
	}
	secrets := []string{adaPassword, wrongPassword, middleSecret}
	for _, m := range []map[string]any{pw, obo, refreshed} {
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if s, ok := m[k].(string); ok {
				secrets = append(secrets, s, s[len(s)-20:])
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log contains %.20q…", s)
		}
	}
}
