package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// address names a message's recipient: To for a phone number, Recipient
// for a business-scoped user id (BSUID), the only id Meta gives of a user
// who hides their number behind a username. Meta takes To over Recipient
// when both are set, so exactly one is.
type address struct {
	To        string `json:"to,omitempty"`
	Recipient string `json:"recipient,omitempty"`
}

// addressTo addresses id, which is a phone number (digits) or a BSUID (a
// country code, a dot and an alphanumeric id: "US.13491208655302741918").
func addressTo(id string) address {
	if strings.Contains(id, ".") {
		return address{Recipient: id}
	}
	return address{To: id}
}

// sendRequest is the Graph API's text message request.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	address
	Type string   `json:"type"`
	Text sendText `json:"text"`
}

type sendText struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

// templateRequest is the Graph API's template message request.
type templateRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	address
	Type     string       `json:"type"`
	Template templateBody `json:"template"`
}

type templateBody struct {
	Name     string           `json:"name"`
	Language templateLanguage `json:"language"`
	// Components are templateComponent values, and a media header's
	// mediaHeaderComponent before them.
	Components []any `json:"components"`
}

type templateLanguage struct {
	Code string `json:"code"`
}

type templateComponent struct {
	Type       string              `json:"type"`
	SubType    string              `json:"sub_type,omitempty"`
	Index      string              `json:"index,omitempty"`
	Parameters []templateParameter `json:"parameters"`
}

type templateParameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

type errorResponse struct {
	Error struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		FBTraceID    string `json:"fbtrace_id"`
		ErrorData    struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// throttlingCodes are Meta error codes that mean "slow down", which Meta
// may send with HTTP 400: retrying later succeeds. (Graph API error codes:
// 4 app rate limit, 80007 WABA rate limit, 130429 throughput, 131048 spam
// rate limit, 131056 pair rate limit.)
var throttlingCodes = map[int]bool{4: true, 80007: true, 130429: true, 131048: true, 131056: true}

// reEngagementCode is Meta's refusal of a free-form message more than 24
// hours after the customer's last one.
const reEngagementCode = 131047

// maxResponseBytes bounds what is read of a Graph API answer.
const maxResponseBytes = 1 << 20

// SendAuthCode sends a login code with an authentication template: the
// code is the body parameter and the copy-code button's parameter, as
// Meta's authentication templates require.
func (c *Channel) SendAuthCode(ctx context.Context, to, code, template, language string) (string, error) {
	return c.send(ctx, templateRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		address:          addressTo(to),
		Type:             "template",
		Template: templateBody{
			Name:     template,
			Language: templateLanguage{Code: language},
			Components: []any{
				templateComponent{Type: "body", Parameters: []templateParameter{{Type: "text", Text: code}}},
				templateComponent{Type: "button", SubType: "url", Index: "0", Parameters: []templateParameter{{Type: "text", Text: code}}},
			},
		},
	})
}

// SendTemplate sends an approved template with its body parameters.
func (c *Channel) SendTemplate(ctx context.Context, to, template, language string, params []string) (string, error) {
	return c.sendTemplate(ctx, to, template, language, bodyComponent(params))
}

// bodyComponent is a template's body with its text parameters, in order.
func bodyComponent(params []string) templateComponent {
	body := templateComponent{Type: "body", Parameters: []templateParameter{}}
	for _, p := range params {
		body.Parameters = append(body.Parameters, templateParameter{Type: "text", Text: p})
	}
	return body
}

// sendTemplate sends an approved template with its components.
func (c *Channel) sendTemplate(ctx context.Context, to, template, language string, components ...any) (string, error) {
	return c.send(ctx, templateRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		address:          addressTo(to),
		Type:             "template",
		Template:         templateBody{Name: template, Language: templateLanguage{Code: language}, Components: components},
	})
}

// SendText sends a text message to `to` (a phone number, or a BSUID for a
// customer whose number Meta withholds) and returns its wamid. Failures are *channels.SendError: network errors, 429, 5xx and
// Meta's throttling codes are retryable; other 4xx are not.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	return c.send(ctx, sendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		address:          addressTo(to),
		Type:             "text",
		Text:             sendText{Body: text},
	})
}

// send posts a message request to the Graph API and classifies failures.
func (c *Channel) send(ctx context.Context, request any) (string, error) {
	body, err := json.Marshal(request)
	if err != nil {
		return "", &channels.SendError{Message: "encode request", Err: err}
	}
	status, raw, err := c.post(ctx, c.sendTo, "application/json", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return "", err
	}
	var ok sendResponse
	if err := json.Unmarshal(raw, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		// Meta took the message but did not say its id; sending again
		// would duplicate it, so this is not retryable.
		return "", &channels.SendError{HTTPStatus: status, Message: "graph api accepted the message without a message id"}
	}
	return ok.Messages[0].ID, nil
}

// post sends body (length bytes, -1 when unknown) to a Graph API endpoint
// and answers a 2xx's status and body, or a failure classified for
// retrying as a *channels.SendError.
func (c *Channel) post(ctx context.Context, endpoint, contentType string, body io.Reader, length int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return 0, nil, &channels.SendError{Message: "build request", Err: err}
	}
	if length >= 0 {
		req.ContentLength = length
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := c.http.Do(req)
	if err != nil {
		cause := channels.NetworkCause(err)
		return 0, nil, &channels.SendError{Retryable: true, Message: "graph api unreachable: " + cause.Error(), Err: cause}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, &channels.SendError{Retryable: true, HTTPStatus: resp.StatusCode, Message: "read graph api response: " + err.Error(), Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, raw, nil
	}

	se := &channels.SendError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	var eb errorResponse
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != 0 {
		se.Code = eb.Error.Code
		se.Message = eb.Error.Message
		if d := eb.Error.ErrorData.Details; d != "" {
			se.Message += ": " + d
		}
	}
	se.Retryable = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || throttlingCodes[se.Code]
	se.WindowClosed = se.Code == reEngagementCode
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		se.RetryAfter = time.Duration(secs) * time.Second
	}
	se.Err = fmt.Errorf("graph api answered %d", resp.StatusCode)
	return 0, nil, se
}
