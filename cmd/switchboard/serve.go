package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/blob"
	"switchboard/channels"
	chansim "switchboard/channels/simulator"
	"switchboard/channels/telegram"
	"switchboard/channels/twilio"
	"switchboard/channels/webchat"
	"switchboard/channels/whatsapp"
	"switchboard/channels/whatsmeow"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/console"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/gateway"
	"switchboard/lease"
	"switchboard/metrics"
	"switchboard/presence"
	"switchboard/queue"
	"switchboard/ratelimit"
	"switchboard/redisconn"
	"switchboard/repository"
	"switchboard/settings"
	"switchboard/simulator"
	"switchboard/webhook"
	"switchboard/worker"
)

// Roles a serve process can take.
const (
	roleAll     = "all"
	roleGateway = "gateway"
	roleWorker  = "worker"
)

func serveCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "path to the YAML configuration (default $"+config.EnvConfigPath+"; none: built-in defaults)")
	role := fs.String("role", roleAll, "what this process runs: all, gateway (HTTP only) or worker (queue only)")
	noMigrate := fs.Bool("no-migrate", false, "do not apply pending database migrations at start (overrides database.migrate_on_start); refuse to start if the schema is behind")
	demoMode := fs.Bool("demo", false, "run the demo: made-up accounts and settings, a customer simulator, login codes printed here; in-memory, deleted at exit (refused with a configured Redis or database)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	switch *role {
	case roleAll, roleGateway, roleWorker:
	default:
		fmt.Fprintf(stderr, "serve: --role must be all, gateway or worker, not %q\n", *role)
		return errUsage
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	if *demoMode && *configPath == "" {
		// The demo's terminal is for the newcomer: the accounts, the login
		// codes and what goes wrong, not a request log line every second
		// from the simulator page.
		cfg.Log = config.Log{Level: "warn", Format: "text"}
	}
	logger := newLogger(cfg.Log, stderr)
	if *demoMode {
		return serveDemo(ctx, cfg, *role, logger, stderr)
	}
	// run closes it once it has stopped HTTP and drained the workers,
	// the last to use it.
	db, err := openDatabase(ctx, cfg.Database, cfg.Database.AutoMigrate() && !*noMigrate, logger, stderr)
	if err != nil {
		return err
	}
	srv, err := newServer(ctx, cfg, db, *role, logger, prometheus.NewRegistry())
	if err != nil {
		db.Close()
		return err
	}
	srv.notice = stderr
	return srv.run(ctx)
}

// serveDemo is `serve --demo`: a process on its own in-memory Redis and
// a SQLite in a temporary directory, removed when it stops, seeded with
// the demo's accounts and settings, with the customer simulator.
func serveDemo(ctx context.Context, cfg *config.Config, role string, logger *slog.Logger, stderr io.Writer) error {
	if err := checkDemo(cfg, role); err != nil {
		return err
	}
	dir, err := prepareDemo(cfg)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := openDatabase(ctx, cfg.Database, true, logger, nil)
	if err != nil {
		return err
	}
	users, err := seedDemo(ctx, db, logger)
	if err != nil {
		db.Close()
		return err
	}
	d := &demo{box: simulator.NewBox(nil), terminal: stderr, dir: dir, accounts: users}
	srv, err := newServerWith(ctx, cfg, db, role, logger, prometheus.NewRegistry(), d)
	if err != nil {
		db.Close()
		return err
	}
	srv.notice = stderr
	return srv.run(ctx)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated at load
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// kinds is every provider kind Switchboard knows.
func kinds() channels.Registry {
	r := channels.Registry{}
	r.Register(whatsapp.Kind)
	r.Register(whatsmeow.Kind)
	r.Register(telegram.Kind)
	r.Register(twilio.Kind)
	r.Register(webchat.Kind)
	return r
}

// server is one running Switchboard process: everything is built here and
// stopped here, in order.
type server struct {
	cfg    *config.Config
	role   string
	logger *slog.Logger

	conn      *redisconn.Conn
	db        *repository.DB // the system of record, closed last
	http      *http.Server
	asynq     *worker.Server
	mux       *asynq.ServeMux
	client    *asynq.Client
	queue     *queue.Client
	inspector *asynq.Inspector
	// api is the /api/v1 API, nil in a worker-only process; its
	// background work is flushed once HTTP has stopped.
	api *api.API

	// holds keep this process's share of the linked devices connected;
	// empty in a gateway-only process.
	holds []*worker.Hold
	// linked are the linked-device channels, whose stores close last.
	linked []*whatsmeow.Channel

	// addr is the address actually listened on, known once run has bound it.
	addr chan string
	// notice is the terminal of whoever started the process: on the
	// embedded Redis it is told, in plain words, where that Redis is and
	// how to create the first account there. nil in tests that don't look.
	notice io.Writer
	// demo is set in `serve --demo` only.
	demo *demo
	// blobs keeps media files' bytes (media.dir or media.s3).
	blobs blob.Store
}

// leaseTTL is how long a crashed holder keeps a linked device: the longest
// a standby waits before taking over.
const leaseTTL = 20 * time.Second

// newServer builds a process of role on cfg, keeping its records in db.
func newServer(ctx context.Context, cfg *config.Config, db *repository.DB, role string, logger *slog.Logger, reg *prometheus.Registry) (*server, error) {
	return newServerWith(ctx, cfg, db, role, logger, reg, nil)
}

// newServerWith is newServer, and the demo's additions when d is not nil:
// the simulator channel and page, and login codes printed to the
// terminal. A demo on a configured Redis or database is refused here too,
// whoever asks for it, so codes of real accounts are never printed.
func newServerWith(ctx context.Context, cfg *config.Config, db *repository.DB, role string, logger *slog.Logger, reg *prometheus.Registry, d *demo) (*server, error) {
	registry := kinds()
	if d != nil {
		if err := checkDemo(cfg, role); err != nil {
			return nil, err
		}
		registry = d.registry()
	}
	chans, err := buildChannelsWith(cfg, registry, logger)
	if err != nil {
		return nil, err
	}

	conn, err := redisconn.Open(ctx, cfg.Redis, logger)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, role: role, logger: logger, conn: conn, db: db, addr: make(chan string, 1), demo: d}
	var listeners []channels.Listener
	for _, id := range slices.Sorted(maps.Keys(chans)) {
		if l, ok := chans[id].(channels.Listener); ok {
			listeners = append(listeners, l)
		}
		if w, ok := chans[id].(*whatsmeow.Channel); ok {
			s.linked = append(s.linked, w)
		}
	}

	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := metrics.New(reg)
	metrics.InitChannels(m, chans)
	s.inspector = asynq.NewInspectorFromRedisClient(conn.Client)
	reg.MustRegister(queue.NewCollector(s.inspector, logger))

	// Every role serves /healthz, /readyz (Redis and the database) and
	// /metrics, so probes and scrapes work the same for gateways and
	// workers; only gateways take webhooks.
	opts := gateway.Options{Redis: conn, Database: db, Gatherer: reg, Logger: logger}
	for _, p := range cfg.HTTP.TrustedProxies {
		_, n, _ := net.ParseCIDR(p) // validated at load
		opts.TrustedProxies = append(opts.TrustedProxies, n)
	}
	if len(s.linked) > 0 {
		reg.MustRegister(metrics.NewLinkedCollector(s.linkedHealth, time.Now))
		opts.Channels = s.linkedStates
	}
	// Enqueues go through the acknowledging client: with
	// redis.wait_replicas, a webhook is answered only once replicas hold it.
	s.client = asynq.NewClientFromRedisClient(conn.Acked)
	qc := queue.NewClient(s.client, cfg.Queue.DedupeWindow)
	s.queue = qc
	for _, l := range listeners {
		qc.HoldChannels(l.ID())
	}
	blobs, err := openBlobStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.blobs = blobs
	links, err := newMediaSigner(cfg)
	if err != nil {
		return nil, err
	}
	conv := conversations.New(conversations.Options{
		Repository: db.Conversations(),
		Blobs:      blobs,
		Events:     events.NewPublisher(conn.Client),
		Tasks:      queue.Tasks{Client: qc, Inspector: s.inspector},
		Presence:   presence.New(conn.Client),
		Settings:   settings.NewWatcher(db.Settings(), time.Second),
		Staff:      auth.NewRoster(db.Accounts(), auth.NewRoles(db.Roles())),
		Metrics:    m,
		Logger:     logger,
		AwayAfter:  cfg.Presence.AwayAfter,
	})
	if role != roleWorker {
		a, err := newAPI(cfg, conn, db, qc, conv, m, reg, logger, d)
		if err != nil {
			return nil, err
		}
		opts.API = a
		s.api = a
		var co console.Options
		if d != nil {
			co.SimulatorURL = simulator.Path // the login page links it
		}
		if opts.Console, err = console.New(co); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		opts.Webhooks = webhook.New(webhook.Options{
			Channels:     chans,
			Queue:        qc,
			Metrics:      m,
			Logger:       logger,
			MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		})
	}
	handler := gateway.New(opts)
	if role != roleWorker {
		registerSignedMedia(handler, links, conv, blobs, logger)
	}
	if d != nil && opts.Webhooks != nil {
		ch, ok := chans[demoChannelID].(*chansim.Channel)
		if !ok {
			return nil, fmt.Errorf("demo: channel %q is not the simulator", demoChannelID)
		}
		simulator.New(simulator.Options{Box: d.box, Channel: ch, Webhooks: handler, Logger: logger}).Register(handler)
	}
	httpServer := &http.Server{
		Addr:              cfg.HTTP.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if a, ok := opts.API.(*api.API); ok {
		httpServer.RegisterOnShutdown(a.Close)
	}
	s.http = httpServer

	if role != roleGateway {
		s.asynq = worker.NewServer(conn.Client, worker.ServerOptions{
			Concurrency:     cfg.Worker.Concurrency,
			ShutdownTimeout: workerGrace(cfg.ShutdownGrace),
			Logger:          logger,
		})
		s.mux = worker.New(worker.Options{
			Conversations:  conv,
			Channels:       chans,
			Metrics:        m,
			Logger:         logger,
			OTP:            worker.OTPTemplate{Name: cfg.Auth.OTP.Template, Language: cfg.Auth.OTP.Language},
			Limiter:        ratelimit.New(conn.Client),
			RetainMessages: cfg.Retention.MessagesFor(),
			MediaLimits:    cfg.Media.MaxBytes.For,
			Audit:          auth.NewAudit(db.Audit(), clock.System{}, logger),
			Blobs:          blobs,
			MediaLinks:     links.URL,
		}).Mux()
		reg.MustRegister(worker.NewRoutingCollector(conv, logger))
		if err := s.newHolds(listeners, qc, m); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// buildChannels builds every configured channel through the kind registry.
func buildChannels(cfg *config.Config, logger *slog.Logger) (channels.Set, error) {
	return buildChannelsWith(cfg, kinds(), logger)
}

// buildChannelsWith builds every configured channel through registry.
func buildChannelsWith(cfg *config.Config, registry channels.Registry, logger *slog.Logger) (channels.Set, error) {
	chans := channels.Set{}
	deps := channels.Deps{HTTPClient: &http.Client{Timeout: 30 * time.Second}, Now: time.Now, Logger: logger}
	// Every channel's mistakes at once, not one channel per run.
	var errs []error
	for _, c := range cfg.Channels {
		ch, err := registry.Build(c.ID, c.Kind, c.Decode, deps)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
			continue
		}
		chans[c.ID] = ch
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var linked []*whatsmeow.Channel
	for _, id := range slices.Sorted(maps.Keys(chans)) {
		if w, ok := chans[id].(*whatsmeow.Channel); ok {
			for _, o := range linked {
				if w.SameStore(o) {
					return nil, fmt.Errorf("config: channels %q and %q have the same store: each linked number needs a store of its own", o.ID(), w.ID())
				}
			}
			linked = append(linked, w)
		}
	}
	if err := checkOTPChannel(cfg.Auth.OTP, chans); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return chans, nil
}

// checkOTPChannel refuses a login-code channel that cannot send codes, or
// one that needs a template without one: otherwise nobody could log in,
// and it would show only when the first code failed.
func checkOTPChannel(otp config.OTP, chans channels.Set) error {
	if otp.Channel == "" {
		return nil
	}
	ch, ok := chans[otp.Channel].(channels.AuthCodeSender)
	if !ok {
		return fmt.Errorf("auth.otp.channel: channel %q cannot send login codes (use a whatsapp_cloud, whatsmeow or twilio channel)", otp.Channel)
	}
	if n, ok := ch.(channels.AuthTemplateNeeder); ok && n.NeedsAuthTemplate() && otp.Template == "" {
		return fmt.Errorf("auth.otp.template: required for channel %q (%s): the provider's approved authentication template", otp.Channel, ch.Kind())
	}
	return nil
}

// newHolds prepares, for each listener channel, the lease loop that
// connects it in one worker process at a time, and the pool that sends on
// it there. Worker processes hold them: they have the device store's
// volume and no public traffic.
func (s *server) newHolds(listeners []channels.Listener, qc *queue.Client, m *metrics.Metrics) error {
	host, _ := os.Hostname()
	for _, l := range listeners {
		ls, err := lease.New(s.conn.Client, "channel:"+l.ID(), host, leaseTTL)
		if err != nil {
			return err
		}
		s.holds = append(s.holds, &worker.Hold{
			Channel: l, Lease: ls, Sink: worker.QueueSink{Queue: qc, Metrics: m}, Logger: s.logger,
			RetryAfter: 30 * time.Second,
			Serve: func() (func(), error) {
				srv := worker.NewServer(s.conn.Client, worker.ServerOptions{
					Concurrency:     4,
					ShutdownTimeout: workerGrace(s.cfg.ShutdownGrace),
					Logger:          s.logger,
					Queues:          map[string]int{queue.ChannelQueue(l.ID()): 1},
				})
				if err := srv.Start(s.mux); err != nil {
					return nil, fmt.Errorf("start the send pool of channel %s: %w", l.ID(), err)
				}
				return srv.Shutdown, nil
			},
		})
	}
	return nil
}

// linkedHealth reads the linked devices' health for the metrics.
func (s *server) linkedHealth() []metrics.LinkedHealth {
	out := make([]metrics.LinkedHealth, 0, len(s.linked))
	for _, w := range s.linked {
		h := w.Health()
		out = append(out, metrics.LinkedHealth{Channel: w.ID(), Held: h.Held, Connected: h.Connected(), LastEvent: h.LastEvent, Reconnects: h.Reconnects})
	}
	return out
}

// linkedStates reads the linked devices' states for /readyz.
func (s *server) linkedStates() map[string]gateway.ChannelState {
	out := make(map[string]gateway.ChannelState, len(s.linked))
	for _, w := range s.linked {
		h := w.Health()
		out[w.ID()] = gateway.ChannelState{State: h.State, Blocking: w.RequiredForReadiness() && h.Held && !h.Connected()}
	}
	return out
}

// The shutdown grace is shared: HTTP draining gets a third of it (webhook
// requests take milliseconds), the worker pool the rest (a send to a slow
// provider can take seconds). Tasks still running then go back to the queue.
func httpGrace(total time.Duration) time.Duration   { return total / 3 }
func workerGrace(total time.Duration) time.Duration { return total - httpGrace(total) }

// run serves until ctx is cancelled, then stops in order: stop accepting
// HTTP and finish in-flight requests, then drain the worker pool, then close
// Redis and, last, the database.
func (s *server) run(ctx context.Context) error {
	defer s.closeDB()
	defer s.conn.Close()
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTP.Addr, err)
	}
	s.addr <- ln.Addr().String()
	httpErr := make(chan error, 1)
	go func() { httpErr <- s.http.Serve(ln) }()

	if s.asynq != nil {
		if err := s.asynq.Start(s.mux); err != nil {
			_ = s.http.Close()
			return fmt.Errorf("start worker pool: %w", err)
		}
	}
	holdCtx, stopHolds := context.WithCancel(context.WithoutCancel(ctx))
	var holds sync.WaitGroup
	for _, h := range s.holds {
		holds.Go(func() { h.Run(holdCtx) })
	}
	// Retention runs even with retention.messages off: its run also
	// deletes erased contacts' files a failed deletion left queued.
	if s.asynq != nil {
		holds.Go(func() { worker.RunRetention(holdCtx, s.queue, s.logger) })
		holds.Go(func() { worker.RunOutbox(holdCtx, s.queue, s.logger) })
	}
	s.logger.Info("switchboard started", "role", s.role, "addr", ln.Addr().String(),
		"embedded_redis", s.conn.Embedded, "worker_concurrency", s.cfg.Worker.Concurrency, "version", version)
	switch {
	case s.demo != nil && s.notice != nil:
		writeDemoNotice(s.notice, ln.Addr().String(), s.demo)
	case s.conn.Embedded && s.notice != nil:
		writeEmbeddedNotice(s.notice, ln.Addr().String(), s.conn.EmbeddedURL, s.db.Where(), s.cfg.Auth.Secret == "")
	}

	var runErr error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down", "grace", s.cfg.ShutdownGrace.String())
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	}

	httpCtx, cancel := context.WithTimeout(context.Background(), httpGrace(s.cfg.ShutdownGrace))
	defer cancel()
	if err := s.http.Shutdown(httpCtx); err != nil {
		s.logger.Warn("http shutdown did not finish in time; closing connections", "err", err)
		_ = s.http.Close()
	}
	if s.api != nil {
		s.api.Flush()
	}
	// Linked devices disconnect, drain their send pools and hand their
	// leases over while the shared pool drains: both within workerGrace,
	// side by side, so the whole stop stays within shutdown_grace.
	var draining sync.WaitGroup
	draining.Go(func() {
		stopHolds()
		holds.Wait()
	})
	if s.asynq != nil {
		s.asynq.Shutdown() // waits up to workerGrace, then requeues what still runs
	}
	draining.Wait()
	for _, w := range s.linked {
		if err := w.Close(); err != nil {
			s.logger.Warn("device store not closed cleanly", "channel", w.ID(), "err", err)
		}
	}
	if s.client != nil {
		_ = s.client.Close()
	}
	_ = s.inspector.Close()
	s.logger.Info("switchboard stopped")
	return runErr
}

// newAPI builds the /api/v1 API: accounts, agent groups, roles, audit and
// settings in db; login codes and sessions in Redis; conversations through
// conv. In a demo (d not nil) login codes are printed on its terminal.
func newAPI(cfg *config.Config, conn *redisconn.Conn, db *repository.DB, qc *queue.Client, conv *conversations.Service, m *metrics.Metrics, reg prometheus.Registerer, logger *slog.Logger, d *demo) (*api.API, error) {
	secret := []byte(cfg.Auth.Secret)
	if len(secret) == 0 {
		// Only reachable with the embedded Redis (validation requires a
		// secret otherwise): codes and sessions die with the process anyway.
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("auth secret: %w", err)
		}
		logger.Warn("auth.secret is not set: login codes and tokens are keyed by a random secret made for this process, so none survives a restart. Set " + config.EnvAuthSecret + " to keep them.")
	}
	if cfg.Auth.OTP.Channel == "" && d == nil {
		logger.Warn("auth.otp.channel is not set: login codes cannot be sent, so nobody can log in to the API")
	}
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(db.Accounts(), clock.System{}, roles.Exists)
	audit := auth.NewAudit(db.Audit(), clock.System{}, logger)
	var sender auth.CodeSender = codeSender{queue: qc, channel: cfg.Auth.OTP.Channel}
	if d != nil {
		sender = &demoCodeSender{terminal: d.terminal, users: users}
	}
	login, err := auth.NewLogin(conn.Client, auth.LoginOptions{
		Users: users, Clock: clock.System{}, Secret: secret, SessionTTL: cfg.Auth.SessionTTL,
		Sender: sender, Audit: audit, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	login.Observe = func(kind, outcome string) {
		if kind == "request" {
			m.OTPRequests.WithLabelValues(outcome).Inc()
		} else {
			m.OTPVerifications.WithLabelValues(outcome).Inc()
		}
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_sessions_active",
		Help: "Unexpired CS staff sessions (bearer tokens).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := login.ActiveSessions(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
	if cfg.HTTP.InsecureCookies {
		logger.Warn("http.insecure_cookies is set: the console's session cookie is sent over plain HTTP too, where anyone on the network can read it")
	}
	chans := make([]api.Channel, 0, len(cfg.Channels))
	for _, ch := range cfg.Channels {
		chans = append(chans, api.Channel{ID: ch.ID, Kind: ch.Kind})
	}
	return api.New(api.Options{
		// The demo is plain HTTP by nature and its sessions are of made-up
		// accounts, while Safari drops a Secure cookie even on
		// http://localhost: there the demo's login would seem to fail.
		InsecureCookies: cfg.HTTP.InsecureCookies || d != nil, Channels: chans,
		Users: users, Roles: roles, Login: login, Audit: audit, Logger: logger,
		Conversations: conv, Redis: conn.Client, SettingsVersions: db.Settings(),
		Metrics: m, MaxStreamsPerUser: cfg.HTTP.MaxEventStreamsPerUser,
		Groups: accounts.NewGroups(db.Groups(), clock.System{}), StaffChanged: conv.StaffChanged,
		Reports: db.Reports(), Media: cfg.Media,
	}), nil
}

// codeSender queues login codes on the configured channel.
type codeSender struct {
	queue   *queue.Client
	channel string
}

func (s codeSender) SendCode(ctx context.Context, phone, code string, expires time.Time) error {
	if s.channel == "" {
		return fmt.Errorf("auth.otp.channel is not configured: %w", auth.ErrCannotSend)
	}
	return s.queue.EnqueueOTP(ctx, queue.OTP{Channel: s.channel, Phone: phone, Code: code}, expires)
}
