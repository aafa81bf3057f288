package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"switchboard/channels"
)

func TestSendTextThroughTheHeldConnection(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	start(t, c, f, &fakeSink{})
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	id, err := c.SendText(context.Background(), "5511900000001", "Su pago fue recibido")
	if err != nil || id != "3EB0SENT" {
		t.Fatalf("SendText = %q, %v", id, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sentTo[0] != types.NewJID("5511900000001", types.DefaultUserServer) || f.sent[0].GetConversation() != "Su pago fue recibido" {
		t.Fatalf("sent %v to %v", f.sent[0], f.sentTo[0])
	}
}

func TestSendAuthCodeIsPlainText(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	start(t, c, f, &fakeSink{})
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	if _, err := c.SendAuthCode(context.Background(), "5511900000002", "482913", "auth_code", "es"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.Contains(f.sent[0].GetConversation(), "482913") {
		t.Fatalf("sent %q", f.sent[0].GetConversation())
	}
}

func TestSendWithoutTheConnectionIsRetryable(t *testing.T) {
	c := newTestChannel(t)
	_, err := c.SendText(context.Background(), "5511900000001", "hola")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("send on a process not holding the channel = %v, want a retryable SendError", err)
	}
}

func TestSendErrorsAreClassifiedAndScrubbed(t *testing.T) {
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{wm.ErrNotConnected, true},
		{fmt.Errorf("failed to get device list: %w", wm.ErrIQTimedOut), true},
		{wm.ErrMessageTimedOut, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("%w %s", wm.ErrUnknownServer, "example.net"), false},
		{wm.ErrRecipientADJID, false},
		{fmt.Errorf("%w: 5511900000001@s.whatsapp.net: 500", wm.ErrServerReturnedError), true},
	} {
		c := newTestChannel(t)
		f := &fakeSession{sendErr: tc.err}
		start(t, c, f, &fakeSink{})
		eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
		_, err := c.SendText(context.Background(), "5511900000001", "texto privado")
		var se *channels.SendError
		if !errors.As(err, &se) || se.Retryable != tc.retryable {
			t.Errorf("%v: got %v, want retryable=%v", tc.err, err, tc.retryable)
			continue
		}
		if strings.Contains(err.Error(), "5511900000001") || strings.Contains(err.Error(), "texto privado") {
			t.Errorf("%v: the error names the phone number or the text: %v", tc.err, err)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: cause lost: %v", tc.err, err)
		}
	}
}

func TestRetriesOfOneStoredMessageCarryOneWhatsAppID(t *testing.T) {
	c := newTestChannel(t)
	if c.Ready() {
		t.Fatal("ready before any connection")
	}
	f := &fakeSession{}
	start(t, c, f, &fakeSink{})
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected && c.Ready() })
	ctx := channels.WithOutboundID(context.Background(), "sb-00112233")
	first, err := c.SendText(ctx, "5511900000001", "hola")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.SendText(ctx, "5511900000001", "hola")
	other, _ := c.SendText(channels.WithOutboundID(context.Background(), "sb-44556677"), "5511900000001", "hola")
	if first != again || first == other || !strings.HasPrefix(first, "3EB0") || len(first) != 4+18 {
		t.Fatalf("ids %q, %q, %q: want one stable whatsmeow-style id per stored message", first, again, other)
	}
}

func TestNotConnectedIsChannelsErrNotConnected(t *testing.T) {
	_, err := newTestChannel(t).SendText(context.Background(), "5511900000001", "hola")
	if !errors.Is(err, channels.ErrNotConnected) {
		t.Fatalf("err = %v, want channels.ErrNotConnected so the send waits without spending retries", err)
	}
}
