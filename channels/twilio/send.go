package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// sendResponse is the part of a created Message resource Switchboard keeps.
type sendResponse struct {
	SID string `json:"sid"`
}

// errorResponse is Twilio's REST error body.
type errorResponse struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// outsideWindowCode is Twilio's refusal of a free-form WhatsApp message
// more than 24 hours after the customer's last one.
const outsideWindowCode = 63016

// maxResponseBytes bounds what is read of a REST API answer; a Message
// resource is a few kilobytes.
const maxResponseBytes = 64 << 10

// minRedactBytes is the shortest sent content scrubbed from error
// messages: shorter strings occur in ordinary words, and scrubbing them
// would garble the message without hiding anything.
const minRedactBytes = 4

// authCodeText is the login code message when no template is configured.
const authCodeText = "Your Switchboard login code is "

// SendText sends text to `to` (a phone number without "+"; a leading "+"
// is tolerated) and returns the Message SID. From a WhatsApp sender the
// message goes to "whatsapp:+<to>", otherwise, and from a Messaging
// Service, to "+<to>" by SMS. Failures are *channels.SendError: network
// errors, 429 and 5xx are retryable; other answers are not, and Twilio's
// 63016 (outside the 24-hour window) sets WindowClosed.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	form := c.message(to)
	form.Set("Body", text)
	return c.send(ctx, form, text)
}

// SendTemplate sends a Content API template: template is its Content SID
// ("HX..."), and params fill its variables {{1}}, {{2}}, ... in order.
// language is unused: a Content SID names one approved translation, so
// the language was chosen with the SID.
func (c *Channel) SendTemplate(ctx context.Context, to, template, language string, params []string) (string, error) {
	if !strings.HasPrefix(template, "HX") {
		return "", &channels.SendError{Message: fmt.Sprintf("template %q is not a Twilio Content SID (HX...)", template)}
	}
	form := c.message(to)
	form.Set("ContentSid", template)
	sensitive := params
	if len(params) > 0 {
		vars := make(map[string]string, len(params))
		for i, p := range params {
			vars[strconv.Itoa(i+1)] = p
		}
		b, err := json.Marshal(vars)
		if err != nil {
			return "", &channels.SendError{Message: "encode content variables", Err: err}
		}
		form.Set("ContentVariables", string(b))
		sensitive = append(slices.Clone(params), string(b))
	}
	return c.send(ctx, form, sensitive...)
}

// SendAuthCode sends a login code: through template, a Content SID whose
// only variable is the code, when one is configured (WhatsApp requires
// an approved authentication template outside the 24-hour window), or
// else as a plain text, which SMS allows.
func (c *Channel) SendAuthCode(ctx context.Context, to, code, template, language string) (string, error) {
	if template != "" {
		return c.SendTemplate(ctx, to, template, language, []string{code})
	}
	form := c.message(to)
	form.Set("Body", authCodeText+code)
	return c.send(ctx, form, form.Get("Body"), code)
}

// message starts a Messages API request to `to` from the configured sender.
func (c *Channel) message(to string) url.Values {
	return url.Values{
		"To":      {c.toPrefix + strings.TrimPrefix(to, "+")},
		c.fromKey: {c.cfg.From},
	}
}

// send posts a Messages API request and classifies failures. sensitive
// is the content sent, scrubbed with the auth token from every error
// message: errors are logged, message content and credentials must not be.
func (c *Channel) send(ctx context.Context, form url.Values, sensitive ...string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.sendTo, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &channels.SendError{Message: "build request", Err: err}
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		cause := channels.NetworkCause(err)
		return "", &channels.SendError{Retryable: true, Message: "twilio api unreachable: " + c.redact(cause.Error(), sensitive), Err: cause}
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		// After a 2xx Twilio has the message: sending again would
		// duplicate it.
		return "", &channels.SendError{Retryable: !ok, HTTPStatus: resp.StatusCode,
			Message: "read twilio api response: " + c.redact(err.Error(), sensitive), Err: err}
	}

	if ok {
		var created sendResponse
		if err := json.Unmarshal(raw, &created); err != nil || created.SID == "" {
			// Twilio took the message but did not say its SID; sending
			// again would duplicate it, so this is not retryable.
			return "", &channels.SendError{HTTPStatus: resp.StatusCode, Message: "twilio api accepted the message without a sid"}
		}
		return created.SID, nil
	}

	se := &channels.SendError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	var eb errorResponse
	if json.Unmarshal(raw, &eb) == nil && (eb.Code != 0 || eb.Message != "") {
		se.Code = eb.Code
		if eb.Message != "" {
			se.Message = c.redact(eb.Message, sensitive)
		}
	}
	se.Retryable = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	if se.Code == outsideWindowCode {
		// Only a template can reach the customer now; retrying the text
		// fails the same way however long the queue waits.
		se.WindowClosed, se.Retryable = true, false
	}
	se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	se.Err = fmt.Errorf("twilio api answered %d", resp.StatusCode)
	return "", se
}

// redact removes the auth token, the sent content and phone numbers
// (Twilio's errors repeat the To number) from s.
func (c *Channel) redact(s string, sensitive []string) string {
	if c.cfg.AuthToken != "" {
		s = strings.ReplaceAll(s, c.cfg.AuthToken, "[redacted]")
	}
	for _, x := range sensitive {
		if len(x) >= minRedactBytes {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return channels.MaskDigits(s)
}

// maxRetryAfter caps a provider's requested wait: a longer one comes from
// a misbehaving proxy, and would otherwise overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil {
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
