package webchat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"switchboard/channels"
)

// reply is the body POSTed to the site's callback URL.
type reply struct {
	ID        string `json:"id"`
	SessionID string `json:"session_id"`
	Text      string `json:"text"`
	Timestamp int64  `json:"timestamp"`
	// Media is the file an operator sent, with Text as its caption.
	Media *replyMedia `json:"media,omitempty"`
}

// replyAnswer is what a site may answer to a reply: its own id for the
// message, when it would rather report statuses under that.
type replyAnswer struct {
	ID string `json:"id"`
}

// maxResponseBytes bounds what is read of a site's answer.
const maxResponseBytes = 64 << 10

// SendText POSTs text to the site for the visitor session `to` and returns
// the message's id: one Switchboard makes up, since the site has no id
// scheme of its own to offer before it has the message, unless the site's
// 2xx answer names another (one too long for a status report to carry is
// ignored). Failures are *channels.SendError: network
// errors, 408, 429 and 5xx are retryable; other answers are not.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	// The stored message's id when the worker gives it: a retry after a
	// lost answer then carries the same id, and the site can drop it.
	return c.deliver(ctx, reply{SessionID: to, Text: text})
}

// deliver POSTs r, signed, to the site's callback URL and classifies the
// answer as SendText documents.
func (c *Channel) deliver(ctx context.Context, r reply) (string, error) {
	id := channels.OutboundID(ctx)
	if id == "" || len(id) > maxIDBytes {
		id = newID()
	}
	ts := c.now().Unix()
	r.ID, r.Timestamp = id, ts
	body, err := json.Marshal(r)
	if err != nil {
		return "", &channels.SendError{Message: "encode reply", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return "", &channels.SendError{Message: "build request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(c.secret, ts, body))
	resp, err := c.http.Do(req)
	if err != nil {
		// The callback URL may carry the site's token.
		cause := channels.NetworkCause(err)
		return "", &channels.SendError{Retryable: true, Message: "site unreachable: " + cause.Error(), Err: cause}
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The site took the message even if its answer could not be read:
		// sending again would show the visitor the reply twice.
		var ans replyAnswer
		if readErr == nil && json.Unmarshal(raw, &ans) == nil && ans.ID != "" && len(ans.ID) <= maxIDBytes {
			return ans.ID, nil
		}
		return id, nil
	}

	// The answer body is not quoted: a site may echo the request, text
	// and all, in its error page.
	se := &channels.SendError{
		HTTPStatus: resp.StatusCode,
		Message:    "site answered " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode),
		Retryable: resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode >= 500,
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		se.RetryAfter = time.Duration(secs) * time.Second
	}
	se.Err = fmt.Errorf("site answered %d", resp.StatusCode)
	return "", se
}

// newID makes a reply's id. Random rather than sequential, so ids stay
// unique across replicas and restarts without coordination.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return "sb-" + hex.EncodeToString(b[:])
}
