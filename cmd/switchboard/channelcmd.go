package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"switchboard/channels"
	"switchboard/channels/telegram"
	"switchboard/channels/whatsmeow"
	"switchboard/config"
	"switchboard/lease"
	"switchboard/redisconn"
)

// whatsappCommand manages linked WhatsApp numbers (whatsmeow channels):
// pair links one, status shows them, unlink removes one.
func whatsappCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard whatsapp pair|status|unlink [flags]")
		return errUsage
	}
	fs := flag.NewFlagSet("whatsapp "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration (default $"+config.EnvConfigPath+")")
	id := fs.String("channel", "", "the whatsmeow channel's id")
	phone := fs.String("phone", "", "pair: link with a code typed on this phone (international format) instead of a QR code")
	timeout := fs.Duration("timeout", 5*time.Minute, "pair: how long to wait for the phone")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := newLogger(config.Log{Level: "error", Format: "text"}, stderr)
	chans, err := buildChannels(cfg, logger)
	if err != nil {
		return err
	}
	switch args[0] {
	case "pair", "unlink":
		ch, err := linkedChannel(chans, *id)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return errUsage
		}
		defer ch.Close()
		held, release, err := holdForCommand(ctx, cfg, ch.ID(), args[0] == "pair", leaseTTL, stderr, logger)
		if err != nil {
			return err
		}
		defer release()
		if args[0] == "unlink" {
			if err := underLease(held, ch.ID(), ch.Unlink); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Channel %s unlinked.\n", ch.ID())
			return nil
		}
		var link *whatsmeow.Link
		err = underLease(held, ch.ID(), func(ctx context.Context) error {
			pctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			var err error
			link, err = ch.Pair(pctx, stdout, *phone)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Linked %s (%s) to channel %s. Running `switchboard serve` workers connect it within a minute.\n", link.JID, link.PushName, ch.ID())
		return nil
	case "status":
		return whatsappStatus(ctx, cfg, chans, stdout, logger)
	}
	fmt.Fprintf(stderr, "whatsapp: unknown command %q (pair, status, unlink)\n", args[0])
	return errUsage
}

func linkedChannel(chans channels.Set, id string) (*whatsmeow.Channel, error) {
	if id == "" {
		return nil, errors.New("--channel is required")
	}
	ch, ok := chans[id].(*whatsmeow.Channel)
	if !ok {
		return nil, fmt.Errorf("no whatsmeow channel has id %q", id)
	}
	return ch, nil
}

// whatsappStatus lists every whatsmeow channel: the linked number, and
// which process holds it when a Redis is configured.
func whatsappStatus(ctx context.Context, cfg *config.Config, chans channels.Set, stdout io.Writer, logger *slog.Logger) error {
	var conn *redisconn.Conn
	if cfg.Redis.Configured() {
		c, err := redisconn.Open(ctx, cfg.Redis, logger)
		if err != nil {
			return err
		}
		defer c.Close()
		conn = c
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tLINKED NUMBER\tNAME\tHELD BY")
	found := false
	for _, id := range slices.Sorted(maps.Keys(chans)) {
		ch, ok := chans[id].(*whatsmeow.Channel)
		if !ok {
			continue
		}
		found = true
		number, name := "-", "-"
		link, err := ch.Linked(ctx)
		switch {
		case errors.Is(err, whatsmeow.ErrNotLinked):
			number = "not linked"
		case err != nil:
			number = "store error: " + err.Error()
		default:
			number, name = link.JID, link.PushName
		}
		_ = ch.Close()
		holder := "unknown (no Redis configured)"
		if conn != nil {
			h, err := lease.Holder(ctx, conn.Client, "channel:"+id)
			switch {
			case err != nil:
				holder = "unknown: " + err.Error()
			case h == "":
				holder = "nobody"
			default:
				holder = h
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, number, name, holder)
	}
	if !found {
		fmt.Fprintln(stdout, "No whatsmeow channels are configured.")
		return nil
	}
	return tw.Flush()
}

// telegramCommand manages Telegram bots: set-webhook points a bot at
// Switchboard, with the channel's secret token.
func telegramCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "set-webhook" {
		fmt.Fprintln(stderr, "usage: switchboard telegram set-webhook --channel ID --url URL")
		return errUsage
	}
	fs := flag.NewFlagSet("telegram set-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration (default $"+config.EnvConfigPath+")")
	id := fs.String("channel", "", "the telegram channel's id")
	url := fs.String("url", "", "the public URL Telegram posts to, e.g. https://cs.example.com/webhooks/tg-support")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *id == "" || *url == "" {
		fmt.Fprintln(stderr, "telegram set-webhook: --channel and --url are required")
		return errUsage
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	chans, err := buildChannels(cfg, newLogger(config.Log{Level: "error", Format: "text"}, stderr))
	if err != nil {
		return err
	}
	ch, ok := chans[*id].(*telegram.Channel)
	if !ok {
		fmt.Fprintf(stderr, "telegram set-webhook: no telegram channel has id %q\n", *id)
		return errUsage
	}
	if err := ch.SetWebhook(ctx, *url); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Telegram now posts channel %s's updates to %s, signed with its secret token.\n", *id, *url)
	return nil
}

// errLeaseLost stops a pair or unlink whose channel lease was lost.
var errLeaseLost = errors.New("stopped: this command lost the channel's lease (a serve process may be connecting with the device); try again")

// underLease runs fn with held, the context holdForCommand returned, and
// reports a lost lease as such rather than as whatever fn made of its
// context ending.
func underLease(held context.Context, id string, fn func(context.Context) error) error {
	err := fn(held)
	if cause := context.Cause(held); errors.Is(cause, lease.ErrLost) {
		return fmt.Errorf("channel %s: %w: %w", id, errLeaseLost, cause)
	}
	return err
}

// holdForCommand takes the channel's lease for pair and unlink, so they
// never connect with the device's keys while a serve process does: two
// connections with one device's keys take the session from each other. A
// pair waits a while for a holder retrying an unlinked device to let go;
// an unlink refuses while a process holds the device.
//
// The lease is kept as the workers keep it (lease.Keep): held ends, with
// cause lease.ErrLost, as soon as it is lost, so the command stops.
func holdForCommand(ctx context.Context, cfg *config.Config, id string, wait bool, ttl time.Duration, stderr io.Writer, logger *slog.Logger) (held context.Context, release func(), err error) {
	if !cfg.Redis.Configured() {
		return ctx, func() {}, nil // embedded Redis: no serve process can share the device
	}
	conn, err := redisconn.Open(ctx, cfg.Redis, logger)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	l, err := lease.New(conn.Client, "channel:"+id, host+"/cli", ttl)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, err := l.Acquire(ctx)
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		if ok {
			break
		}
		holder, _ := lease.Holder(ctx, conn.Client, "channel:"+id)
		if !wait || time.Now().After(deadline) {
			conn.Close()
			return nil, nil, fmt.Errorf("channel %s is held by %s; stop the workers holding it (or unlink the device on the phone: WhatsApp > Linked devices) and try again", id, holder)
		}
		fmt.Fprintf(stderr, "waiting for %s to let go of channel %s...\n", holder, id)
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	held, stop := lease.Keep(ctx, l, logger)
	return held, func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.Release(rctx) // only ours: a lease lost meanwhile is left alone
		conn.Close()
	}, nil
}
