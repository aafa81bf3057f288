// Package simulator is the demo's customer simulator: its page and the
// customer's side of the demo's local channel. A newcomer writes there as
// a customer; each message goes through the ordinary webhook path (the
// channel's own webhook, in channels/simulator's wire format), so routing,
// auto-replies and the operators' console react as they would to a real
// customer, and what the channel delivers back is shown on the page.
//
// Only `switchboard serve --demo` registers it.
package simulator

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	chansim "switchboard/channels/simulator"
	"switchboard/httperror"
)

// Path is where the page is served; the console's login page links to it.
const Path = "/simulator"

// DefaultName is the customer the page starts as.
const DefaultName = "Maria Silva"

// contentSecurityPolicy allows the page its own script and style only:
// nothing inline, nothing from elsewhere, no framing.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// maxRequestBytes bounds a posted message: a name and a text well under
// the channel's limits, JSON-encoded.
const maxRequestBytes = 16 << 10

//go:embed assets
var assets embed.FS

// Options configure the simulator.
type Options struct {
	// Box keeps each customer's view; it is also the channel's outbox.
	Box *Box
	// Channel is the demo's simulator channel, whose webhook the
	// customer's messages are posted to.
	Channel *chansim.Channel
	// Webhooks serves /webhooks/{channel_id}: the gateway itself, so a
	// simulated message takes the path a provider's does.
	Webhooks http.Handler
	Logger   *slog.Logger
	// Now stamps the customer's messages; nil means time.Now.
	Now func() time.Time
}

// Simulator serves the page and its endpoints.
type Simulator struct {
	box      *Box
	channel  *chansim.Channel
	webhooks http.Handler
	logger   *slog.Logger
	now      func() time.Time
}

// New returns the simulator.
func New(o Options) *Simulator {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Simulator{box: o.Box, channel: o.Channel, webhooks: o.Webhooks, logger: o.Logger, now: o.Now}
}

// Register adds the page and its endpoints under Path.
func (s *Simulator) Register(e *echo.Echo) {
	g := e.Group(Path, headers)
	g.GET("", s.asset("assets/index.html", "text/html; charset=utf-8"))
	g.GET("/", s.asset("assets/index.html", "text/html; charset=utf-8"))
	g.GET("/app.js", s.asset("assets/app.js", "text/javascript; charset=utf-8"))
	g.GET("/app.css", s.asset("assets/app.css", "text/css; charset=utf-8"))
	g.GET("/api/messages", s.view)
	g.POST("/api/messages", s.send)
}

// headers sets the page's strict policy on everything under Path; the
// gateway's own headers (nosniff, no framing) are already set.
func headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

func (s *Simulator) asset(name, contentType string) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, err := assets.ReadFile(name)
		if err != nil {
			return fmt.Errorf("simulator asset %s: %w", name, err)
		}
		return c.Blob(http.StatusOK, contentType, b)
	}
}

// viewResponse is a customer's conversation as the page shows it.
type viewResponse struct {
	Customer string  `json:"customer"`
	Name     string  `json:"name"`
	Messages []Entry `json:"messages"`
}

// view answers GET /simulator/api/messages?name=NAME: what the customer
// of that name wrote and was sent, oldest first.
func (s *Simulator) view(c echo.Context) error {
	name := cleanName(c.QueryParam("name"))
	id, err := customerID(name)
	if err != nil {
		return httperror.Write(c, http.StatusBadRequest, "invalid_name", err.Error())
	}
	return c.JSON(http.StatusOK, viewResponse{Customer: id, Name: name, Messages: s.box.View(id)})
}

// sendRequest is what the page posts.
type sendRequest struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// sendResponse names the customer and the message queued.
type sendResponse struct {
	Customer string `json:"customer"`
	ID       string `json:"id"`
}

// send answers POST /simulator/api/messages: the customer's message is
// posted to the channel's webhook, and kept for the page once queued.
func (s *Simulator) send(c echo.Context) error {
	r := c.Request()
	if err := sameOrigin(r); err != nil {
		return httperror.Write(c, http.StatusForbidden, "forbidden", err.Error())
	}
	var req sendRequest
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxRequestBytes))
	if err != nil {
		return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "message too large")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return httperror.Write(c, http.StatusBadRequest, "bad_request", "want JSON {\"name\": ..., \"text\": ...}")
	}
	// Each refusal has a code of its own: the page says why in the
	// customer's language, not in this English message.
	name := cleanName(req.Name)
	id, err := customerID(name)
	if err != nil {
		return httperror.Write(c, http.StatusBadRequest, "invalid_name", err.Error())
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		return httperror.Write(c, http.StatusBadRequest, "text_required", "text: required")
	case len(text) > chansim.MaxTextBytes:
		return httperror.Write(c, http.StatusBadRequest, "text_too_long", fmt.Sprintf("text: at most %d bytes", chansim.MaxTextBytes))
	}
	msgID, err := newID()
	if err != nil {
		return err
	}
	at := s.now().UTC()
	wire, err := json.Marshal(chansim.Message{ID: msgID, From: id, Name: name, Text: text, Timestamp: at.UnixMilli()})
	if err != nil {
		return fmt.Errorf("encode simulated message: %w", err)
	}
	status, err := s.post(r, wire)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		// The webhook said why in its own log line; the page gets the
		// provider's view of it: try again.
		s.logger.Warn("simulated message not queued", "channel", s.channel.ID(), "status", status)
		return httperror.Write(c, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("the channel's webhook answered %d; try again", status))
	}
	s.box.Wrote(id, Entry{ID: msgID, Text: text, At: at})
	return c.JSON(http.StatusAccepted, sendResponse{Customer: id, ID: msgID})
}

// post hands wire to the channel's webhook as the provider would, in this
// process, and returns the webhook's status.
func (s *Simulator) post(orig *http.Request, wire []byte) (int, error) {
	req, err := http.NewRequestWithContext(orig.Context(), http.MethodPost, "/webhooks/"+url.PathEscape(s.channel.ID()), bytes.NewReader(wire))
	if err != nil {
		return 0, fmt.Errorf("build simulated webhook request: %w", err)
	}
	req.RemoteAddr = orig.RemoteAddr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(chansim.TokenHeader, s.channel.Token())
	rec := &recorder{header: http.Header{}}
	s.webhooks.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, nil
}

// sameOrigin refuses what another site's page could make a browser post:
// it must be JSON (a cross-site form cannot send that without the
// browser asking first, and nothing here answers that ask), and an Origin
// given must be this host's.
func sameOrigin(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errors.New("want Content-Type: application/json")
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errors.New("cross-origin request refused")
		}
	}
	return nil
}

// cleanName is name trimmed, spaces collapsed, cut to the channel's limit;
// empty means DefaultName.
func cleanName(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return DefaultName
	}
	// Cut once at the last whole character that fits: a name comes from
	// a query string as long as the server's header limit (1 MB), and
	// dropping one rune at a time, re-decoding the rest each time, took
	// minutes of CPU on one such request.
	if len(name) > chansim.MaxNameBytes {
		cut := chansim.MaxNameBytes
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = strings.TrimSpace(name[:cut])
	}
	return name
}

// customerID is the customer's id on the channel, made from the name so
// the same name is the same customer: "Maria Silva" is "maria-silva".
// Another name on the page is another customer.
func customerID(name string) (string, error) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	id := strings.TrimSuffix(b.String(), "-")
	if id == "" {
		return "", errors.New("name: needs a letter or a digit")
	}
	return id, nil
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("simulated message id: %w", err)
	}
	return "sim-in-" + hex.EncodeToString(b[:]), nil
}

// recorder keeps the status of an in-process webhook answer; its body
// (a status word) is not needed.
type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
