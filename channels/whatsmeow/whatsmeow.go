// Package whatsmeow is the linked-device WhatsApp channel (kind
// "whatsmeow"): a WhatsApp number linked to Switchboard as a companion
// device, as WhatsApp Web is, through go.mau.fi/whatsmeow. Unlike the
// webhook channels it holds a connection: messages arrive as events, and
// only the one process holding the connection can send.
//
// The device's keys live in a SQL store (SQLite through the pure-Go
// modernc.org/sqlite, or PostgreSQL through pgx), never in Redis: losing
// them means linking the number again.
package whatsmeow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	wmstore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, without cgo

	"switchboard/channels"
)

// KindName is the configuration's `kind:` for this channel.
const KindName = "whatsmeow"

// ErrNotLinked means the channel's device store holds no linked number:
// run `switchboard whatsapp pair`.
var ErrNotLinked = errors.New("no WhatsApp number is linked to this channel")

// ErrLoggedOut means WhatsApp ended the link (the phone removed the device,
// or the number was banned): the number must be linked again.
var ErrLoggedOut = errors.New("WhatsApp logged this device out")

// Config is a whatsmeow channel's configuration entry.
type Config struct {
	// Store is where the device's keys live: "file:/path/wa.db" (SQLite)
	// or a "postgres://" URL. One store holds one channel's device.
	Store string `yaml:"store"`
	// SendRate bounds every send. A linked number is a person's account
	// to WhatsApp; the default, 20 a minute, is far below what gets one
	// flagged.
	SendRate *channels.Rate `yaml:"send_rate"`
	// NewContactRate bounds, in addition, sends to people who have never
	// written to the number, what WhatsApp's spam detection weighs most.
	NewContactRate *channels.Rate `yaml:"new_contact_rate"`
	// SilenceTimeout is how long a connection may go without any event
	// before it is assumed dead and reconnected (0 disables the check).
	SilenceTimeout *time.Duration `yaml:"silence_timeout"`
	// RequiredForReadiness makes /readyz fail while this process holds the
	// channel but is not connected. Off by default: one number down should
	// not take the gateway out of its load balancer.
	RequiredForReadiness bool `yaml:"required_for_readiness"`
}

var (
	defaultSendRate       = channels.Rate{Count: 20, Per: time.Minute, Burst: 5}
	defaultNewContactRate = channels.Rate{Count: 30, Per: time.Hour, Burst: 5}
	defaultSilence        = 30 * time.Minute
)

func (c *Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.Store) == "" {
		errs = append(errs, errors.New(`store: required, e.g. "file:/var/lib/switchboard/wa.db" or a postgres:// URL`))
	} else if _, _, err := dialect(c.Store); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	var err error
	if c.SendRate, err = channels.SendRate("send_rate", c.SendRate, defaultSendRate); err != nil {
		errs = append(errs, err)
	}
	if c.NewContactRate, err = channels.SendRate("new_contact_rate", c.NewContactRate, defaultNewContactRate); err != nil {
		errs = append(errs, err)
	}
	if c.SilenceTimeout == nil {
		c.SilenceTimeout = &defaultSilence
	} else if *c.SilenceTimeout < 0 || (*c.SilenceTimeout > 0 && *c.SilenceTimeout < time.Minute) {
		errs = append(errs, errors.New("silence_timeout: 0 (off) or at least 1m"))
	}
	return errors.Join(errs...)
}

// dialect maps a store DSN to a database/sql driver and whatsmeow dialect.
// SQLite gets foreign keys (whatsmeow requires them), WAL and a busy
// timeout unless the DSN sets its own pragmas.
func dialect(dsn string) (driver, dsnOut string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "pgx", dsn, nil
	case strings.HasPrefix(dsn, "file:"):
		if !strings.Contains(dsn, "_pragma=") {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"
		}
		return "sqlite", dsn, nil
	}
	// Not quoted: a DSN of another form may carry a password anywhere.
	return "", "", errors.New("want file:<path> (SQLite) or a postgres:// URL")
}

// redactDSN drops a URL DSN's credentials before it goes into an error.
// Only URLs reach it: dialect refuses every other form first.
func redactDSN(dsn string) string {
	if at := strings.LastIndexByte(dsn, '@'); at >= 0 {
		if i := strings.Index(dsn, "://"); i >= 0 && i < at {
			return dsn[:i+3] + "…" + dsn[at:]
		}
	}
	return dsn
}

// Kind registers whatsmeow channels in a channels.Registry.
var Kind = channels.Kind{
	Name: KindName,
	New: func(id string, decode func(any) error, deps channels.Deps) (channels.Channel, error) {
		var cfg Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return New(id, cfg, deps.Logger)
	},
}

// sender is what the channel needs of a connected whatsmeow client to
// send; *whatsmeow.Client has it, and tests fake it.
type sender interface {
	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...wm.SendRequestExtra) (wm.SendResponse, error)
	IsConnected() bool
}

// Channel is one linked WhatsApp number.
type Channel struct {
	id     string
	cfg    Config
	logger *slog.Logger

	mu        sync.Mutex
	container *sqlstore.Container

	client atomic.Pointer[senderBox]
	health health
	// tempDir holds files being downloaded ("" is os.TempDir()).
	tempDir string
	// mediaHost says which hosts a message's file URL may name;
	// whatsAppMediaHost but in tests.
	mediaHost func(host string) bool
}

// senderBox lets an interface value sit in an atomic.Pointer.
type senderBox struct{ s sender }

var (
	_ channels.Listener       = (*Channel)(nil)
	_ channels.TextSender     = (*Channel)(nil)
	_ channels.AuthCodeSender = (*Channel)(nil)
	_ channels.Limited        = (*Channel)(nil)
	_ channels.Readier        = (*Channel)(nil)
)

// New validates cfg and returns the channel. The device store is opened on
// first use, so a process that never holds the channel never touches it.
func New(id string, cfg Config, logger *slog.Logger) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Channel{id: id, cfg: cfg, logger: logger.With("channel", id), mediaHost: whatsAppMediaHost}
	c.health.set(StateStandby)
	return c, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "whatsmeow".
func (c *Channel) Kind() string { return KindName }

// Limits returns the send and new-contact rates.
func (c *Channel) Limits() channels.Limits {
	return channels.Limits{Send: *c.cfg.SendRate, NewContact: *c.cfg.NewContactRate}
}

// SameStore reports whether o keeps its device in the same store as c: a
// store holds one device, so two channels cannot share one.
func (c *Channel) SameStore(o *Channel) bool { return c.cfg.Store == o.cfg.Store }

// RequiredForReadiness reports whether /readyz should fail while this
// process holds the channel but is not connected.
func (c *Channel) RequiredForReadiness() bool { return c.cfg.RequiredForReadiness }

// OpenStore opens the device store, creating or upgrading its tables. It
// is called by Listen and by the pair and status commands; the store stays
// open until Close.
func (c *Channel) OpenStore(ctx context.Context) (*sqlstore.Container, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.container != nil {
		return c.container, nil
	}
	container, err := OpenStore(ctx, c.cfg.Store, c.logger)
	if err != nil {
		return nil, err
	}
	c.container = container
	return container, nil
}

// OpenStore opens the whatsmeow device store at dsn and upgrades its schema
// to the one this build of whatsmeow needs.
func OpenStore(ctx context.Context, dsn string, logger *slog.Logger) (*sqlstore.Container, error) {
	driver, full, err := dialect(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, full)
	if err != nil {
		return nil, fmt.Errorf("open device store %s: %w", redactDSN(dsn), err)
	}
	name := "postgres"
	if driver == "sqlite" {
		name = "sqlite3" // whatsmeow's name for the SQLite dialect
		// SQLite allows one writer; more connections only queue on its lock.
		db.SetMaxOpenConns(1)
	}
	container := sqlstore.NewWithDB(db, name, waLogger(logger.With("component", "whatsmeow_store")))
	if err := container.Upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("upgrade device store %s: %w", redactDSN(dsn), err)
	}
	return container, nil
}

// Close closes the device store.
func (c *Channel) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.container == nil {
		return nil
	}
	err := c.container.Close()
	c.container = nil
	return err
}

// device returns the store's linked device, or a fresh one to pair.
func (c *Channel) device(ctx context.Context) (*wmstore.Device, error) {
	container, err := c.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	dev, err := container.GetFirstDevice(ctx)
	if err != nil {
		return nil, fmt.Errorf("read device store: %w", err)
	}
	return dev, nil
}

// Link describes the number linked to a channel.
type Link struct {
	JID          string
	PushName     string
	BusinessName string
	Platform     string
}

// Linked returns the linked number, or ErrNotLinked.
func (c *Channel) Linked(ctx context.Context) (*Link, error) {
	dev, err := c.device(ctx)
	if err != nil {
		return nil, err
	}
	if dev.ID == nil {
		return nil, ErrNotLinked
	}
	return &Link{JID: dev.ID.ToNonAD().String(), PushName: dev.PushName, BusinessName: dev.BusinessName, Platform: dev.Platform}, nil
}

func init() {
	// How the device shows in the phone's "Linked devices" list.
	wmstore.DeviceProps.Os = ptr("Switchboard")
}

func ptr[T any](v T) *T { return &v }
