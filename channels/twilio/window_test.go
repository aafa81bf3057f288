package twilio_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/internal/convtest"
)

// Twilio's 63016 status callback (a reply sent outside the 24-hour
// window) lands in the reply's history as window_closed, the title the
// API turns into error_code window_closed, as for Meta's 131047.
func TestWindowClosedStatusReachesHistory(t *testing.T) {
	ctx := context.Background()
	t0 := received.UTC()
	e := convtest.New(t, convtest.Options{Clock: clock.NewFake(t0)})
	in := &channels.Inbound{Channel: "tw-main", Kind: "twilio", ID: "SMin", From: "5511900000001",
		Timestamp: t0, Arrival: t0.UnixNano(), Type: channels.TypeText, Text: "hola"}
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Service.ApplyInbound(ctx, in, body)
	if err != nil {
		t.Fatal(err)
	}
	msgID, err := e.Service.Reply(ctx, res.QueryID, "ana", "¿Seguimos?")
	if err != nil {
		t.Fatal(err)
	}
	// Twilio accepted the reply under this SID (the worker's send).
	if err := e.Service.MarkSent(ctx, res.QueryID, msgID, "SM0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}

	ch := newChannel(t, "")
	b, err := ch.Parse(load(t, "status_undelivered.form"), t0.Add(time.Minute))
	if err != nil || len(b.Statuses) != 1 {
		t.Fatalf("Parse: %+v, %v", b, err)
	}
	st := b.Statuses[0]
	if r, err := e.Service.ApplyStatus(ctx, &st); err != nil || !r.Found || !r.Changed || r.MessageID != msgID {
		t.Fatalf("ApplyStatus: %+v, %v", r, err)
	}
	m, err := e.Service.Message(ctx, res.QueryID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != channels.StatusFailed || m.Error == nil || m.Error.Title != channels.WindowClosedTitle || m.Error.Code != 63016 {
		t.Fatalf("stored reply = status %q, error %+v; want failed, window_closed, 63016", m.Status, m.Error)
	}
}
