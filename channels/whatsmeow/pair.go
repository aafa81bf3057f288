package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mdp/qrterminal/v3"
	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
)

// ErrAlreadyLinked means Pair found a number already linked to the channel.
var ErrAlreadyLinked = errors.New("a WhatsApp number is already linked to this channel")

// Pair links a WhatsApp number to the channel. Without phone it prints QR
// codes to out for the phone to scan (WhatsApp > Linked devices > Link a
// device); with phone (international format) it prints an eight-character
// code to type on that phone instead, for when the camera is not at hand.
// It returns once the phone has confirmed the link, or ctx ends.
func (c *Channel) Pair(ctx context.Context, out io.Writer, phone string) (*Link, error) {
	dev, err := c.device(ctx)
	if err != nil {
		return nil, err
	}
	if dev.ID != nil {
		return nil, fmt.Errorf("%w (%s); unlink it on the phone first", ErrAlreadyLinked, dev.ID.ToNonAD())
	}
	cli := wm.NewClient(dev, waLogger(c.logger.With("component", "whatsmeow")))
	cli.EnableAutoReconnect = false
	done := make(chan error, 1)
	finish := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	cli.AddEventHandler(func(evt any) {
		switch e := evt.(type) {
		case *events.PairSuccess:
			finish(nil)
		case *events.PairError:
			finish(fmt.Errorf("pairing failed: %w", e.Error))
		case *events.QR:
			if phone == "" {
				return
			}
			// The server is ready to pair once it offers QR codes.
			go func() {
				code, err := cli.PairPhone(ctx, strings.TrimPrefix(phone, "+"), true, wm.PairClientChrome, "Chrome (Linux)")
				if err != nil {
					finish(fmt.Errorf("request a pairing code: %w", err))
					return
				}
				fmt.Fprintf(out, "On the phone: WhatsApp > Linked devices > Link a device > Link with phone number instead, and enter:\n\n    %s\n\n", code)
			}()
		}
	})
	defer cli.Disconnect()

	if phone == "" {
		qr, err := cli.GetQRChannel(ctx)
		if err != nil {
			return nil, fmt.Errorf("start pairing: %w", err)
		}
		go func() {
			for item := range qr {
				switch item.Event {
				case wm.QRChannelEventCode:
					fmt.Fprintln(out, "Scan this code on the phone: WhatsApp > Linked devices > Link a device.")
					qrterminal.GenerateHalfBlock(item.Code, qrterminal.L, out)
					fmt.Fprintf(out, "(a new code follows in %s)\n\n", item.Timeout)
				case "success":
					finish(nil)
				case wm.QRChannelEventError:
					finish(fmt.Errorf("pairing failed: %w", item.Error))
				default:
					finish(fmt.Errorf("pairing stopped: %s", item.Event))
				}
			}
		}()
	}
	if err := cli.ConnectContext(ctx); err != nil {
		return nil, fmt.Errorf("connect to WhatsApp: %w", err)
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case err := <-done:
		if err != nil {
			return nil, err
		}
	}
	return c.Linked(ctx)
}

// Unlink logs the device out of WhatsApp and deletes its keys from the
// store, for retiring a number or starting over after a logout.
func (c *Channel) Unlink(ctx context.Context) error {
	dev, err := c.device(ctx)
	if err != nil {
		return err
	}
	if dev.ID == nil {
		return ErrNotLinked
	}
	cli := wm.NewClient(dev, waLogger(c.logger.With("component", "whatsmeow")))
	cli.EnableAutoReconnect = false
	if err := cli.ConnectContext(ctx); err == nil {
		if err := cli.Logout(ctx); err == nil {
			return nil // Logout deletes the device from the store too.
		}
	}
	cli.Disconnect()
	// WhatsApp is unreachable or already forgot the device: forget it here.
	if err := dev.Delete(ctx); err != nil {
		return fmt.Errorf("delete device keys: %w", err)
	}
	return nil
}
