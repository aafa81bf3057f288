package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// sendMessageRequest is sendMessage's parameters.
type sendMessageRequest struct {
	// ChatID is an integer chat id, or a string for anything else (a
	// channel's "@username"), as the Bot API documents it.
	ChatID any    `json:"chat_id"`
	Text   string `json:"text"`
}

// setWebhookRequest is setWebhook's parameters.
type setWebhookRequest struct {
	URL            string   `json:"url"`
	SecretToken    string   `json:"secret_token"`
	AllowedUpdates []string `json:"allowed_updates"`
}

// response is every Bot API answer: ok and a result, or an error.
type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"` // seconds, on 429
	} `json:"parameters"`
}

// sentMessage is the part of sendMessage's result that identifies it.
type sentMessage struct {
	MessageID int64 `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}

// allowedUpdates are the update kinds Parse turns into messages; setWebhook
// subscribes to these only, so Telegram does not post the rest at all.
var allowedUpdates = []string{"message", "edited_message", "callback_query"}

// maxResponseBytes bounds what is read of a Bot API answer.
const maxResponseBytes = 1 << 20

// apiError is a failed Bot API call. Nothing in it holds the call's URL,
// because the URL holds the bot token.
type apiError struct {
	method string
	// status is the HTTP status, 0 when Telegram was not reached.
	status      int
	code        int // Telegram's error_code
	description string
	retryable   bool
	retryAfter  time.Duration
	err         error
}

func (e *apiError) Error() string {
	if e.status == 0 {
		return fmt.Sprintf("bot api %s: %s", e.method, e.description)
	}
	return fmt.Sprintf("bot api %s: HTTP %d, error_code %d: %s", e.method, e.status, e.code, e.description)
}

func (e *apiError) Unwrap() error { return e.err }

// SendText sends a text message to the chat `to` (a chat id, as Parse puts
// in Inbound.From) and returns "<chat_id>:<message_id>", since message ids
// are only unique within a chat. Failures are *channels.SendError: network
// errors, 429 and 5xx are retryable; 400 (chat not found, text too long)
// and 403 (the user blocked the bot) are not.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	return c.sendMessage(ctx, c.textRequest(to, text))
}

// textRequest is sendMessage's parameters for text to the chat `to`.
func (c *Channel) textRequest(to, text string) sendMessageRequest {
	req := sendMessageRequest{ChatID: to, Text: text}
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		req.ChatID = n
	}
	return req
}

// sendMessage calls sendMessage with req (a sendMessageRequest, or one
// with a keyboard) and returns the message's provider id.
func (c *Channel) sendMessage(ctx context.Context, req any) (string, error) {
	var sent sentMessage
	if e := c.call(ctx, "sendMessage", req, &sent); e != nil {
		return "", e.sendError()
	}
	return sent.id()
}

// sendError is e as the queue reads a failed send.
func (e *apiError) sendError() *channels.SendError {
	return &channels.SendError{
		Retryable:  e.retryable,
		HTTPStatus: e.status,
		Code:       e.code,
		Message:    e.description,
		RetryAfter: e.retryAfter,
		Err:        e,
	}
}

// id is the provider id of a sent message, "<chat_id>:<message_id>".
func (sent sentMessage) id() (string, error) {
	if sent.MessageID == 0 || sent.Chat.ID == 0 {
		// Telegram took the message but did not say its id; sending again
		// would duplicate it, so this is not retryable.
		return "", &channels.SendError{HTTPStatus: http.StatusOK, Message: "bot api accepted the message without a message id"}
	}
	return providerID(sent.Chat.ID, sent.MessageID), nil
}

// SetWebhook points the bot's webhook at webhookURL with the channel's
// secret token, subscribed to the update kinds Parse models. Telegram then
// posts every update there, and getUpdates stops working for the bot.
func (c *Channel) SetWebhook(ctx context.Context, webhookURL string) error {
	if e := c.call(ctx, "setWebhook", setWebhookRequest{
		URL:            webhookURL,
		SecretToken:    c.cfg.SecretToken,
		AllowedUpdates: allowedUpdates,
	}, nil); e != nil {
		return e
	}
	return nil
}

// call posts params as JSON to a Bot API method and decodes its result
// into result, unless result is nil. Failures are classified for retrying
// and scrubbed of the bot token.
func (c *Channel) call(ctx context.Context, method string, params, result any) *apiError {
	body, err := json.Marshal(params)
	if err != nil {
		return &apiError{method: method, description: "encode request: " + err.Error(), err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.methodBase+method, bytes.NewReader(body))
	if err != nil {
		// url.Parse's errors quote the URL, so keep only that it failed.
		return &apiError{method: method, description: "build request: invalid URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(method, req, result)
}

// do sends a built Bot API request and decodes its result as call does.
func (c *Channel) do(method string, req *http.Request, result any) *apiError {
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, and with it the token: keep only
		// its cause, and scrub that too in case a transport quotes it.
		cause := c.redact(channels.NetworkCause(err))
		return &apiError{method: method, description: "bot api unreachable: " + cause.Error(), retryable: true, err: cause}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		err = c.redact(err)
		return &apiError{method: method, status: resp.StatusCode, description: "read response: " + err.Error(), retryable: true, err: err}
	}

	var r response
	decodeErr := json.Unmarshal(raw, &r)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && decodeErr == nil && r.OK {
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(r.Result, result); err != nil {
			// Telegram did what was asked; only its answer is unreadable.
			return &apiError{method: method, status: resp.StatusCode, description: "unreadable result: " + err.Error(), err: err}
		}
		return nil
	}

	e := &apiError{method: method, status: resp.StatusCode, description: http.StatusText(resp.StatusCode)}
	if decodeErr == nil {
		e.code = r.ErrorCode
		if r.Description != "" {
			e.description = c.redactString(r.Description)
		}
		if r.Parameters.RetryAfter > 0 {
			e.retryAfter = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
	}
	if e.retryAfter == 0 {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		}
	}
	// error_code mirrors the HTTP status, except when a proxy answered or
	// Telegram said ok:false with a 200; either one saying "later" counts.
	e.retryable = e.status == http.StatusTooManyRequests || e.status >= 500 ||
		e.code == http.StatusTooManyRequests || e.code >= 500
	e.err = fmt.Errorf("bot api answered %d", resp.StatusCode)
	return e
}

// redact returns err, or a copy of its message without the bot token if
// it holds it.
func (c *Channel) redact(err error) error {
	if s := c.redactString(err.Error()); s != err.Error() {
		return errors.New(s)
	}
	return err
}

func (c *Channel) redactString(s string) string {
	for _, tok := range []string{c.cfg.BotToken, url.PathEscape(c.cfg.BotToken)} {
		if tok != "" {
			s = strings.ReplaceAll(s, tok, "<bot_token>")
		}
	}
	return s
}
