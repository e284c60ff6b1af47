package issuer

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// deviceAuth is a device authorization request (RFC 8628) while it waits
// for the user: stored under the hash of its device code.
type deviceAuth struct {
	clientID string
	tenant   string // the {tenant} segment of the request
	endpoint int
	scopes   []string
	resource string
	userCode string
	// Set by the verification page.
	approved, declined bool
	tenantID, userID   string
	lastPoll           time.Time
}

// Device code grant types: RFC 8628's URN, and the short form v1 and MSAL
// Go send.
const (
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantDeviceCodeV1 = "device_code"
)

// userCodeAlphabet are the characters of user codes: capitals and digits
// without the ones people confuse (0/O, 1/I/L). Entra's user codes are 9
// capital letters and digits.
const userCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

const userCodeLength = 9

// newUserCode returns a user code read from r.
func newUserCode(r io.Reader) (string, error) {
	b := make([]byte, userCodeLength)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b), nil
}

// normalizeUserCode reads a code as typed: case, spaces and dashes do not
// matter.
func normalizeUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-':
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// deviceCodeResponseV2 is the v2 device authorization response (RFC 8628
// §3.2 with Entra's message).
type deviceCodeResponseV2 struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// deviceCodeResponseV1 is the v1 answer: verification_url, and numbers as
// strings, as every v1 answer has them.
type deviceCodeResponseV1 struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURL string `json:"verification_url"`
	ExpiresIn       string `json:"expires_in"`
	Interval        string `json:"interval"`
	Message         string `json:"message"`
}

// verificationURI is the page where the user enters the code: Entra's is
// https://microsoft.com/devicelogin; ours is on the server's own host.
func (s *Server) verificationURI() string { return s.cfg.BaseURL + "/devicelogin" }

// handleDeviceCode serves POST /{tenant}/oauth2/v2.0/devicecode and v1's
// /{tenant}/oauth2/devicecode: client_id, and scope (v2) or resource (v1).
// The client must exist (AADSTS700016); whether it may redeem without a
// secret is the token endpoint's question, asked when it polls.
func (s *Server) handleDeviceCode(endpoint int) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		c := s.begin(r)
		c.tenant, c.flow = ps.ByName("tenant"), "device_code"
		resp, err := s.deviceCode(w, r, c, endpoint)
		if err != nil {
			s.writeError(w, c, tokenSurface, err)
			s.recordSignIn(c, err)
			return
		}
		s.writeToken(w, c, resp)
	}
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request, c *call, endpoint int) (any, error) {
	form, err := readTokenForm(w, r)
	if err != nil {
		return nil, err
	}
	req, err := parseTokenRequest(form, "", "", false, endpoint, c.tenant)
	if err != nil {
		return nil, err
	}
	s.unalias(&req.Resource, req.Scopes)
	c.client = req.ClientID
	a, err := s.resolveAuthority(r.Context(), c.tenant)
	if err != nil {
		return nil, err
	}
	if req.ClientID == "" {
		return nil, errMissing("client_id")
	}
	app, err := s.application(r.Context(), req.ClientID)
	if err != nil {
		return nil, err
	}
	if a.kind == tenantAuthority && app.HomeTenantID != a.tenant.ID && !app.IsMultiTenant() {
		return nil, DenialError(&consent.Denial{Reason: consent.ReasonClientNotFound, Detail: "single-tenant application of another tenant",
			TenantID: a.tenant.ID, TenantName: a.tenant.DisplayName, ClientAppID: app.AppID, ClientName: app.DisplayName})
	}
	if endpoint == 2 && len(req.Scopes) == 0 {
		return nil, errMissing("scope")
	}
	if endpoint == 2 {
		if _, err := parseDelegatedScopes(req.Scopes); err != nil {
			return nil, err
		}
	}
	deviceCode, err := newSecret(s.cfg.Random)
	if err != nil {
		return nil, err
	}
	userCode, err := newUserCode(s.cfg.Random)
	if err != nil {
		return nil, err
	}
	key := secretHash(deviceCode)
	s.interactive.devices.put(key, deviceAuth{clientID: app.AppID, tenant: c.tenant, endpoint: endpoint,
		scopes: req.Scopes, resource: req.Resource, userCode: userCode}, c.now, c.now.Add(deviceCodeLifetime))
	s.interactive.userCodes.put(userCode, key, c.now, c.now.Add(deviceCodeLifetime))
	msg := "To sign in, use a web browser to open the page " + s.verificationURI() + " and enter the code " + userCode + " to authenticate."
	expires, interval := int(deviceCodeLifetime/time.Second), int(deviceCodeInterval/time.Second)
	if endpoint == 1 {
		return deviceCodeResponseV1{UserCode: userCode, DeviceCode: deviceCode, VerificationURL: s.verificationURI(),
			ExpiresIn: strconv.Itoa(expires), Interval: strconv.Itoa(interval), Message: msg}, nil
	}
	return deviceCodeResponseV2{UserCode: userCode, DeviceCode: deviceCode, VerificationURI: s.verificationURI(),
		ExpiresIn: expires, Interval: interval, Message: msg}, nil
}

// handleDeviceLogin serves GET /devicelogin: the page where the user
// types the code. It starts a flow (for the CSRF token and the browser
// binding) that the code then attaches to a device request.
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	c := s.begin(r)
	c.flow = "device_code"
	id, f, err := s.newFlow(w, r, c.now, flow{kind: flowDevice})
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	s.renderPage(w, c, http.StatusOK, "device", pageData{Title: "Enter code", Action: "/devicelogin", Flow: id, CSRF: f.csrf,
		UserCode: normalizeUserCode(clip(r.URL.Query().Get("otc"), userCodeLength+8))})
}

// handlePostDeviceLogin answers the code typed on the verification page:
// an unknown or expired code shows the page again (AADSTS70018 /
// 70019); a known one continues to sign-in and consent for the device's
// client and scopes.
func (s *Server) handlePostDeviceLogin(w http.ResponseWriter, r *http.Request) {
	c := s.begin(r)
	c.flow = "device_code"
	form, err := readPageForm(w, r)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	id := form.Get("flow")
	f, err := s.loadFlow(r, c.now, id, form.Get("csrf"))
	if err != nil || f.kind != flowDevice {
		s.errorPage(w, c, errFlowLost())
		return
	}
	code := normalizeUserCode(form.Get("otc"))
	key, ok, expired := s.interactive.userCodes.get(code, c.now)
	var dev deviceAuth
	if ok {
		dev, ok, expired = s.interactive.devices.get(key, c.now)
	}
	if !ok || dev.approved || dev.declined {
		msg := "AADSTS70018: That code didn't work. Check the code and try again."
		if expired {
			msg = "AADSTS70019: That code has expired. Start again on your device."
		}
		s.renderPage(w, c, http.StatusOK, "device", pageData{Title: "Enter code", Action: "/devicelogin", Flow: id, CSRF: f.csrf, Message: msg})
		return
	}
	ctx := r.Context()
	c.tenant, c.client = dev.tenant, dev.clientID
	a, err := s.resolveAuthority(ctx, dev.tenant)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	app, err := s.application(ctx, dev.clientID)
	if err != nil {
		s.errorPage(w, c, err)
		return
	}
	f.client, f.deviceKey = app, key
	f.req = authorizeRequest{Endpoint: dev.endpoint, Tenant: dev.tenant, ClientID: app.AppID, Scopes: dev.scopes, Resource: dev.resource}
	if err := s.checkFlowRequest(a, &f); err != nil {
		s.errorPage(w, c, err)
		return
	}
	s.saveFlow(id, f)
	s.chooseAccount(w, r, c, id, f, a)
}

// approveDevice marks the device request approved for the signed-in user
// and tells the user to return to the device.
func (s *Server) approveDevice(w http.ResponseWriter, c *call, f flow, t tenant.Tenant, u tenant.User) {
	ok := s.interactive.devices.update(f.deviceKey, c.now, func(d *deviceAuth) {
		d.approved, d.tenantID, d.userID = true, t.ID, u.ID
	})
	if !ok {
		s.errorPage(w, c, errorf(CodeDeviceExpired, "The device code has expired. Start again on your device."))
		return
	}
	s.recordSignIn(c, nil)
	s.renderPage(w, c, http.StatusOK, "message", pageData{Title: "You're signed in",
		Message: "You have signed in to " + f.client.DisplayName + " on your device. You may now close this window."})
}

// declineDevice marks the request declined: the device's next poll gets
// authorization_declined.
func (s *Server) declineDevice(w http.ResponseWriter, c *call, f flow, e *Error) {
	s.interactive.devices.update(f.deviceKey, c.now, func(d *deviceAuth) { d.declined = true })
	s.log(c, e)
	s.recordSignIn(c, e)
	s.renderPage(w, c, http.StatusOK, "message", pageData{Title: "Sign-in cancelled",
		Message: "You declined to sign in to " + f.client.DisplayName + " on your device. You may now close this window."})
}

// deviceCodeGrant redeems a device code (RFC 8628 §3.4, Entra's device
// code article): authorization_pending (AADSTS70016) until the user is
// done, slow_down when polled faster than the interval, expired_token
// (70019) after 15 minutes, authorization_declined (65004) when the user
// cancelled, bad_verification_code (70018) for a code we never issued or
// issued to another client; then the tokens of a user sign-in, once.
//
// Entra documents authorization_declined for a declined request where
// RFC 8628 says access_denied; MSAL reads either as final, so we follow
// Entra.
func (s *Server) deviceCodeGrant(ctx context.Context, c *call, a authority, req *tokenRequest, code string) (issued, error) {
	switch {
	case code == "":
		return issued{}, errMissing("device_code")
	case req.ClientID == "":
		return issued{}, errMissing("client_id")
	}
	bad := errorf(CodeBadVerificationCode, "The provided value for the input parameter 'device_code' is not valid.")
	if !validSecret(code) {
		return issued{}, bad
	}
	key := secretHash(code)
	dev, ok, expired := s.interactive.devices.get(key, c.now)
	switch {
	case expired:
		return issued{}, errorf(CodeDeviceExpired, "Verification code expired.")
	case !ok || !strings.EqualFold(dev.clientID, req.ClientID):
		return issued{}, bad
	case dev.declined:
		e := errorf(CodeUserDeclinedConsent, "The end user declined the authorization request.")
		e.oauth = "authorization_declined"
		return issued{}, e
	case !dev.approved:
		fast := false
		s.interactive.devices.update(key, c.now, func(d *deviceAuth) {
			fast = !d.lastPoll.IsZero() && c.now.Sub(d.lastPoll) < deviceCodeInterval
			d.lastPoll = c.now
		})
		e := errorf(CodeDevicePending, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		if fast {
			e.Message = "OAuth 2.0 device flow error. Polling too fast: wait the interval between requests."
			e.oauth = "slow_down"
		}
		return issued{}, e
	}
	if _, ok, _ := s.interactive.devices.take(key, c.now); !ok {
		return issued{}, bad // redeemed by a concurrent poll
	}
	s.interactive.userCodes.remove(dev.userCode)
	scope, err := grantScope(req, dev.scopes, dev.resource)
	if err != nil {
		return issued{}, err
	}
	creq, f, acr, err := s.client(ctx, c, a, delegatedConsent(consent.FlowInteractive, dev.tenantID, dev.userID, scope), req, false)
	if err != nil {
		return issued{}, err
	}
	if _, err := userOf(f, dev.userID); err != nil {
		return issued{}, err
	}
	return s.issueDelegated(ctx, c, delegatedRequest{
		creq: creq, facts: f, endpoint: req.Endpoint, scope: scope, acr: acr, clientInfo: req.ClientInfo,
		wantsRenew: req.Endpoint == 1 || scope.has("offline_access"),
	})
}
