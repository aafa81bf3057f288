package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/channels"
	chansim "switchboard/channels/simulator"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/repository"
	"switchboard/settings"
	"switchboard/simulator"
)

// demoChannelID is the id of the demo's simulator channel: its webhook is
// /webhooks/simulator.
const demoChannelID = "simulator"

// demoAccounts are the accounts `serve --demo` creates. The numbers are
// in the range reserved for fiction (+1 555 01xx), so no real phone is
// ever shown a demo code.
var demoAccounts = []accounts.User{
	{Name: "Ana Admin", Phone: "+15550100001", Role: "admin", QueryTypes: []string{"sales", "support", "billing"}},
	{Name: "Bruno Operator", Phone: "+15550100002", Role: "operator", QueryTypes: []string{"sales", "support", "billing"}},
	{Name: "Carla Operator", Phone: "+15550100003", Role: "operator", QueryTypes: []string{"sales", "support", "billing"}},
}

// demoSettings are the demo's routing settings. Service is open around
// the clock, so a newcomer sees routing act whatever the time of day;
// Billing alone is always closed, so choosing it shows the out-of-hours
// reply.
const demoSettings = `# The demo's routing settings (switchboard serve --demo).
timezone: UTC
default_language: en
menu:
  enabled: true
  prompt: menu
  max_attempts: 2
default_query_type: support
query_types:
  - id: sales
    name: Sales
    menu_key: "1"
    strategy: round_robin      # assigned in turn to the operators online (console open)
  - id: support
    name: Support
    menu_key: "2"
    strategy: claim            # a pool: the first operator to reply takes it
  - id: billing
    name: Billing
    menu_key: "3"
    strategy: claim
    opening_hours:             # always closed in the demo, to show the out-of-hours reply
      weekly: {mon: []}
      out_of_hours: {reply: billing_closed, queue_until_open: true}
templates:
  - {id: menu, language: en, text: "Hi! How can we help? Reply 1 for Sales, 2 for Support or 3 for Billing."}
  - {id: billing_closed, language: en, text: "Billing is closed right now (in this demo it always is: this is the out-of-hours reply). Your message is kept for when it opens."}
resolution_reasons:
  - {id: solved, name: Solved}
  - {id: no_answer, name: Customer stopped answering}
  - {id: duplicate, name: Duplicate}
tags:
  - {id: urgent, name: Urgent, color: "#d93025"}
  - {id: billing, name: Billing, color: "#1a73e8"}
  - {id: vip, name: VIP, color: "#188038"}
canned_responses:
  - {shortcut: /hello, text: "Hello! Thanks for writing to us. How can I help?"}
  - {shortcut: /prices, text: "Our plans start at 10 USD a month; I can send you the full price list.", query_types: [sales]}
  - {shortcut: /restart, text: "Could you try turning it off and on again, and tell me what you see?", query_types: [support]}
hsm_templates:
  - name: follow_up
    language: en
    category: utility
    body: "Hello {{1}}, we are following up on your request {{2}}. Reply to this message to continue."
`

// demo is what `serve --demo` adds to a process: the simulator's outbox
// and the terminal login codes are printed on. A server has one only when
// checkDemo allowed it.
type demo struct {
	box      *simulator.Box
	terminal io.Writer
	dir      string
	accounts []*accounts.User
}

// checkDemo refuses a demo beside anything real: demo mode prints login
// codes to the terminal, so it must never run on a configured Redis or
// database, where real accounts live; and its accounts are anyone's who
// can read that terminal, so it must not run a configured channel either,
// where real customers would write to them and be answered by them (a
// linked WhatsApp device would be taken from the installation it serves).
func checkDemo(cfg *config.Config, role string) error {
	var errs []error
	if role != roleAll {
		errs = append(errs, errors.New("serve --demo runs the gateway and the workers in one process: leave out --role"))
	}
	if cfg.Redis.Configured() {
		errs = append(errs, fmt.Errorf("serve --demo refuses a configured Redis (redis.url, redis.sentinel, redis.cluster or %s): the demo keeps its own in-memory Redis and prints login codes to the terminal, so it never runs beside real accounts; unset it", config.EnvRedisURL))
	}
	if cfg.Database.Postgres() {
		errs = append(errs, fmt.Errorf("serve --demo refuses a configured database (database.url or %s): the demo keeps its own SQLite in a temporary directory and prints login codes to the terminal, so it never runs beside real accounts; unset it", config.EnvDatabaseURL))
	}
	// The simulator is the demo's own (prepareDemo adds it; no real
	// installation can build one): every other kind reaches real people.
	var ids []string
	for _, c := range cfg.Channels {
		if c.Kind != chansim.KindName {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) > 0 {
		errs = append(errs, fmt.Errorf("serve --demo refuses configured channels (%s): the demo's made-up operators would receive real customers' messages and answer them, and its accounts' codes are printed to the terminal; the demo brings its own customer simulator, so leave channels out", strings.Join(ids, ", ")))
	}
	return errors.Join(errs...)
}

// prepareDemo turns cfg into the demo's: its SQLite in a new temporary
// directory, whatever the working directory, and the simulator channel.
// The caller removes the directory at exit.
func prepareDemo(cfg *config.Config) (dir string, err error) {
	if slices.ContainsFunc(cfg.Channels, func(c config.Channel) bool { return c.ID == demoChannelID }) {
		return "", fmt.Errorf("serve --demo adds a channel %q of its own: rename the configured one", demoChannelID)
	}
	dir, err = os.MkdirTemp("", "switchboard-demo-")
	if err != nil {
		return "", fmt.Errorf("serve --demo: temporary directory: %w", err)
	}
	cfg.Database.Path = filepath.Join(dir, "demo.db")
	// Customers' files stay in the demo's directory too, gone at exit.
	cfg.Media.Dir = filepath.Join(dir, "media")
	cfg.Media.S3 = config.MediaS3{}
	cfg.Channels = append(cfg.Channels, config.Channel{ID: demoChannelID, Kind: chansim.KindName, Index: len(cfg.Channels)})
	return dir, nil
}

// seedDemo writes the demo's settings and accounts through the code paths
// `switchboard apply` and `switchboard users create` use, so the demo is
// validated as anything an operator writes is.
func seedDemo(ctx context.Context, db *repository.DB, logger *slog.Logger) ([]*accounts.User, error) {
	data := []byte(demoSettings)
	if _, err := settings.Validate(ctx, db.Settings(), data); err != nil {
		return nil, fmt.Errorf("demo settings: %w", err)
	}
	if _, err := settings.Apply(ctx, db.Settings(), data, time.Now(), 0, "demo"); err != nil {
		return nil, fmt.Errorf("demo settings: %w", err)
	}
	roles := auth.NewRoles(db.Roles())
	store := accounts.NewStore(db.Accounts(), clock.System{}, roles.Exists)
	audit := auth.NewAudit(db.Audit(), clock.System{}, logger)
	var created []*accounts.User
	for _, u := range demoAccounts {
		c, err := createAccount(ctx, store, audit, u, "demo")
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", u.Name, err)
		}
		created = append(created, c)
	}
	return created, nil
}

// registry is every kind Switchboard knows plus the simulator, which
// only the demo has.
func (d *demo) registry() channels.Registry {
	r := kinds()
	r.Register(chansim.NewKind(d.box))
	return r
}

// demoCodeSender prints login codes to the terminal instead of sending
// them: the demo's accounts have no phones. It is built only for a demo
// server, which checkDemo keeps away from real accounts.
type demoCodeSender struct {
	mu       sync.Mutex
	terminal io.Writer
	users    *accounts.Store
}

// SendCode prints the code, with the account's name so the newcomer
// knows whose it is.
func (s *demoCodeSender) SendCode(ctx context.Context, phone, code string, expires time.Time) error {
	name := phone
	if u, err := s.users.ByPhone(ctx, phone); err == nil {
		name = u.Name + " (" + phone + ")"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.terminal, "switchboard: DEMO login code for %s: %s (valid until %s)\n",
		name, code, expires.Local().Format("15:04:05")); err != nil {
		return fmt.Errorf("print the demo login code: %w", err)
	}
	return nil
}

// writeDemoNotice tells the newcomer, on the terminal, where to go and
// whom to log in as.
func writeDemoNotice(w io.Writer, httpAddr string, d *demo) {
	base := "http://" + httpAddr
	fmt.Fprintf(w, "\nswitchboard: DEMO MODE: everything here is made up and is deleted when this process stops (%s, an in-memory Redis).\n", d.dir)
	fmt.Fprintf(w, "  Console:            %s/\n", base)
	fmt.Fprintf(w, "  Customer simulator: %s%s\n", base, simulator.Path)
	fmt.Fprintf(w, "  Log in with one of these phone numbers; the login code is printed here, on a line with \"login code\":\n\n")
	for _, u := range d.accounts {
		fmt.Fprintf(w, "    %-16s %-9s %s\n", u.Name, u.Role, u.Phone)
	}
	fmt.Fprintf(w, "\n  In the simulator, write as a customer: the menu answers; 1 Sales (round robin among operators online),\n")
	fmt.Fprintf(w, "  2 Support (a pool operators claim by replying), 3 Billing (always closed here: the out-of-hours reply).\n\n")
}
