package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

func httpClient(idle, perHost int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        idle,
			MaxIdleConnsPerHost: perHost,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// poster posts signed WhatsApp Cloud API text webhooks, each a new message.
type poster struct {
	url, runID, phoneNumberID string
	secret                    []byte
	contacts                  int
	client                    *http.Client
	accepted                  atomic.Int64
}

func newPoster(url string, o options, runID string, concurrency, maxInFlight int) *poster {
	conns := max(concurrency, maxInFlight)
	return &poster{url: url, runID: runID, phoneNumberID: o.phoneNumberID, secret: []byte(o.secret),
		contacts: o.contacts, client: httpClient(conns, conns)}
}

// body builds the webhook for message seq: a new wamid, from one of the
// configured number of customers.
func (p *poster) body(seq uint64) []byte {
	from := strconv.FormatUint(5511900000000+seq%uint64(p.contacts), 10)
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"%s"},"contacts":[{"profile":{"name":"Load %s"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"wamid.LG%s.%d","timestamp":"%d","text":{"body":"load test message %d"},"type":"text"}]},"field":"messages"}]}]}`,
		p.phoneNumberID, from, from, from, p.runID, seq, time.Now().Unix(), seq)
}

func (p *poster) post(ctx context.Context, seq uint64) error {
	body := p.body(seq)
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	p.accepted.Add(1)
	return nil
}

// bareEcho is the HTTP baseline: Echo reading the body and answering 200,
// with nothing else.
type bareEcho struct {
	url   string
	close func()
}

func startBareEcho() (*bareEcho, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the HTTP baseline: %w", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhooks/:channel", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &bareEcho{
		url:   "http://" + ln.Addr().String() + "/webhooks/wa-main",
		close: func() { _ = srv.Shutdown(context.Background()) },
	}, nil
}
