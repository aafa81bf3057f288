// Package config loads Switchboard's YAML configuration: it expands ${VAR}
// references from the environment, applies the documented environment
// overrides, fills defaults and validates every key before anything starts,
// so a mistake is reported once, at startup, with the key that caused it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/internal/strictyaml"
)

// Environment variables that override the file, as documented in README.md.
const (
	EnvConfigPath = "SWITCHBOARD_CONFIG"
	EnvRedisURL   = "SWITCHBOARD_REDIS_URL"
	EnvHTTPAddr   = "SWITCHBOARD_HTTP_ADDR"
	EnvAuthSecret = "SWITCHBOARD_AUTH_SECRET"
	// EnvDatabaseURL replaces database.url: the PostgreSQL URL carries a
	// password, so deployments keep it in a secret, not in the file.
	EnvDatabaseURL = "SWITCHBOARD_DATABASE_URL"
)

// Defaults applied when the file leaves a key out.
const (
	DefaultHTTPAddr      = "127.0.0.1:8080"
	DefaultMaxBodyBytes  = 3 << 20 // Meta's maximum webhook payload.
	DefaultShutdownGrace = 25 * time.Second
	DefaultDedupeWindow  = 24 * time.Hour
	// DefaultDatabasePath is the SQLite file used without database.url,
	// relative to the working directory.
	DefaultDatabasePath = "switchboard.db"
)

// DefaultMaxEventStreams is http.max_event_streams_per_user's default: a
// console open in a few tabs, far from enough to exhaust a server.
const DefaultMaxEventStreams = 5

// Config is the whole configuration of one Switchboard process.
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Redis     Redis     `yaml:"redis"`
	Database  Database  `yaml:"database"`
	Worker    Worker    `yaml:"worker"`
	Queue     Queue     `yaml:"queue"`
	Retention Retention `yaml:"retention"`
	Presence  Presence  `yaml:"presence"`
	Media     Media     `yaml:"media"`
	Log       Log       `yaml:"log"`
	Auth      Auth      `yaml:"auth"`
	Channels  []Channel `yaml:"channels"`
	// ShutdownGrace bounds a graceful stop: HTTP draining and then the
	// worker pool's draining share it.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// HTTP configures the gateway's listener.
type HTTP struct {
	Addr string `yaml:"addr"`
	// MaxBodyBytes is the largest webhook body accepted; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TrustedProxies lists the CIDRs of reverse proxies whose
	// X-Forwarded-For header is believed. Empty means the TCP peer address
	// is the client address, so a caller cannot forge its IP.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxEventStreamsPerUser bounds one user's open GET /api/v1/events
	// streams on each server; more are refused with 429.
	MaxEventStreamsPerUser int `yaml:"max_event_streams_per_user"`
	// InsecureCookies leaves the Secure flag off the console's session
	// cookie, for a console reached over plain HTTP on a host other than
	// localhost (a LAN trial). Browsers keep Secure cookies on
	// http://localhost and http://127.0.0.1 already; in production the
	// console is behind TLS and this stays false.
	InsecureCookies bool `yaml:"insecure_cookies"`
}

// Redis says where the durable state and the queue live: one URL, a
// Sentinel-watched primary, or a Cluster. None of them means an embedded,
// in-memory Redis that keeps nothing across restarts.
type Redis struct {
	// URL is a redis:// or rediss:// URL of a single primary.
	URL      string        `yaml:"url"`
	Sentinel RedisSentinel `yaml:"sentinel"`
	Cluster  RedisCluster  `yaml:"cluster"`
	// WaitReplicas makes the gateway answer a provider only once this many
	// replicas have the queued message (Redis WAIT), so a failover cannot
	// lose what was acknowledged. 0 trusts the primary alone.
	WaitReplicas int `yaml:"wait_replicas"`
	// WaitTimeout bounds that wait; a message not replicated in time gets
	// a 503 and the provider retries it (a duplicate is then dropped).
	WaitTimeout time.Duration `yaml:"wait_timeout"`
}

// RedisSentinel names a primary watched by Redis Sentinel: clients ask the
// sentinels where the primary is, and follow it across failovers.
type RedisSentinel struct {
	MasterName       string   `yaml:"master_name"`
	Addrs            []string `yaml:"addrs"`
	Username         string   `yaml:"username"`
	Password         string   `yaml:"password"`
	SentinelPassword string   `yaml:"sentinel_password"`
	DB               int      `yaml:"db"`
}

// RedisCluster lists seed nodes of a Redis Cluster.
type RedisCluster struct {
	Addrs    []string `yaml:"addrs"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
}

// Configured reports whether a real Redis is configured, in any topology.
func (r Redis) Configured() bool {
	return r.URL != "" || r.Sentinel.MasterName != "" || len(r.Sentinel.Addrs) > 0 || len(r.Cluster.Addrs) > 0
}

// Database says where the system of record lives: PostgreSQL at URL, or
// else the SQLite file at Path (the embedded default, for trying
// Switchboard out and for small single-process installations).
type Database struct {
	// URL is a postgres:// or postgresql:// URL; it wins over Path.
	URL string `yaml:"url"`
	// Path is the SQLite file used when URL is empty.
	Path string `yaml:"path"`
	// MaxConns caps the open connections of this process (0: the
	// repository's default, 20 on PostgreSQL and 8 on SQLite). Every
	// replica opens its own pool, so the server's max_connections must
	// cover replicas × max_conns.
	MaxConns int `yaml:"max_conns"`
	// MigrateOnStart makes serve apply pending migrations before it
	// starts (default true); nil means the default. Use AutoMigrate.
	MigrateOnStart *bool `yaml:"migrate_on_start"`
}

// Postgres reports whether the database is PostgreSQL rather than the
// SQLite file.
func (d Database) Postgres() bool { return d.URL != "" }

// AutoMigrate reports whether serve applies pending migrations at start:
// migrate_on_start, true unless it is set to false.
func (d Database) AutoMigrate() bool { return d.MigrateOnStart == nil || *d.MigrateOnStart }

// Worker configures the asynq worker pool.
type Worker struct {
	// Concurrency is how many tasks one process handles at once.
	Concurrency int `yaml:"concurrency"`
}

// Queue configures how webhook deliveries are queued.
type Queue struct {
	// DedupeWindow is how long a provider message id is remembered, so a
	// redelivery inside it is recognised as a duplicate.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
}

// Presence configures how CS staff's presence follows their consoles.
type Presence struct {
	// AwayAfter is how long an online operator may have no event stream
	// open (their console or API client stopped, or the server holding
	// its stream died) before they turn away and their unanswered queries
	// go back to the pool or the next operator.
	AwayAfter time.Duration `yaml:"away_after"`
}

// DefaultAwayAfter is presence.away_after's default.
const DefaultAwayAfter = 2 * time.Minute

// Retention says how long customers' words are kept.
type Retention struct {
	// Messages is how long the message bodies of a closed conversation
	// are kept after its newest message: a number of days ("365d") or a
	// Go duration ("720h"); empty keeps them. Read it with MessagesFor.
	Messages string `yaml:"messages"`
}

// MessagesFor is Messages as a duration; 0 keeps messages. Validation
// has refused a value it cannot read.
func (r Retention) MessagesFor() time.Duration {
	d, _ := parseDays(r.Messages)
	return d
}

// parseDays reads "30d" or a Go duration; "" is 0.
func parseDays(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	if num, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(num)
		if err != nil {
			return 0, fmt.Errorf("want a number of days like 365d or a duration like 720h, got %q", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want a number of days like 365d or a duration like 720h, got %q", v)
	}
	return d, nil
}

// Auth configures CS staff login.
type Auth struct {
	// Secret keys the hashes of login codes. Required with a real Redis;
	// the embedded mode makes a random one per process.
	Secret     string        `yaml:"secret"`
	SessionTTL time.Duration `yaml:"session_ttl"`
	OTP        OTP           `yaml:"otp"`
}

// OTP says how login codes are sent.
type OTP struct {
	// Channel is the channel id codes go out on.
	Channel string `yaml:"channel"`
	// Template and Language name the provider's authentication template.
	Template string `yaml:"template"`
	Language string `yaml:"language"`
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Channel is one configured provider endpoint. Only id and kind are common
// to every kind; the rest of the entry belongs to the kind and is decoded by
// that kind's package through Decode.
type Channel struct {
	ID   string
	Kind string
	// Index is the entry's position in the file, for error messages.
	Index int
	node  *yaml.Node
}

// UnmarshalYAML keeps the entry's node so the kind's package can decode its
// own keys strictly later.
func (c *Channel) UnmarshalYAML(n *yaml.Node) error {
	var common struct {
		ID   string `yaml:"id"`
		Kind string `yaml:"kind"`
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a channel must be a mapping", n.Line)
	}
	// Decode only id and kind here; unknown keys are the kind's business.
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "id":
			if err := n.Content[i+1].Decode(&common.ID); err != nil {
				return err
			}
		case "kind":
			if err := n.Content[i+1].Decode(&common.Kind); err != nil {
				return err
			}
		}
	}
	c.ID, c.Kind = common.ID, common.Kind
	c.node = n
	return nil
}

// Decode decodes the kind-specific keys of the entry into v, rejecting keys
// that v does not declare. id and kind are left out. Every unknown or
// mistyped key is reported at once, by its path and line:
// "channels[0].app_secrit: unknown key (line 7)".
func (c Channel) Decode(v any) error {
	if c.node == nil {
		return nil
	}
	trimmed := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(c.node.Content); i += 2 {
		if k := c.node.Content[i].Value; k == "id" || k == "kind" {
			continue
		}
		trimmed.Content = append(trimmed.Content, c.node.Content[i], c.node.Content[i+1])
	}
	problems, err := strictyaml.Decode(trimmed, v)
	if err != nil {
		return fmt.Errorf("channels[%d] (%s): %w", c.Index, c.ID, err)
	}
	errs := make([]error, 0, len(problems))
	for _, p := range problems {
		errs = append(errs, problemError(c.Key(""), p))
	}
	return errors.Join(errs...)
}

// problemError turns a decoding problem into the FieldError of its key
// under prefix ("channels[0]."), so it reads like every other key error.
func problemError(prefix string, p *strictyaml.Problem) *FieldError {
	msg := p.Msg
	if p.Line > 0 {
		msg = fmt.Sprintf("%s (line %d)", msg, p.Line)
	}
	return &FieldError{Key: prefix + p.Path, Msg: msg}
}

// Key names a key of this channel in error messages, e.g. "channels[0].app_secret".
func (c Channel) Key(name string) string {
	return fmt.Sprintf("channels[%d].%s", c.Index, name)
}

// FieldError is a validation failure of one key.
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// LookupEnv reads an environment variable; os.LookupEnv in production, a
// map in tests.
type LookupEnv func(name string) (value string, ok bool)

// Load reads the file at path (or, if path is empty, starts from defaults),
// applies environment overrides from env, and validates the result.
func Load(path string, env LookupEnv) (*Config, error) {
	var data []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		data = b
	}
	cfg, err := Parse(data, env)
	if err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, err
	}
	return cfg, nil
}

// Parse is Load on bytes already read. Every problem is reported at once:
// each unset environment variable, each unknown or mistyped key (by its
// path and line) and each invalid value, so one run shows everything to
// fix.
func Parse(data []byte, env LookupEnv) (*Config, error) {
	cfg := &Config{}
	var errs []error
	// Keys already reported, so validation does not report them again
	// (an unset ${VAR} also leaves its key empty).
	reported := map[string]bool{}
	if len(bytes.TrimSpace(data)) > 0 {
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
		for _, fe := range expandEnv(&root, "", env) {
			errs = append(errs, fe)
			reported[fe.Key] = true
		}
		problems, err := strictyaml.Decode(&root, cfg)
		if err != nil {
			return nil, err
		}
		for _, p := range problems {
			fe := problemError("", p)
			errs = append(errs, fe)
			reported[fe.Key] = true
		}
		// The channels were decoded from a re-encoding of root: point
		// them at root's own entries, so their kinds' key errors give the
		// file's lines.
		if seq := mappingValue(&root, "channels"); seq != nil && len(seq.Content) == len(cfg.Channels) {
			for i := range cfg.Channels {
				cfg.Channels[i].node = seq.Content[i]
			}
		}
	}
	if v, _ := env(EnvRedisURL); v != "" {
		cfg.Redis.URL = v
	}
	if v, _ := env(EnvDatabaseURL); v != "" {
		cfg.Database.URL = v
	}
	if v, _ := env(EnvHTTPAddr); v != "" {
		cfg.HTTP.Addr = v
	}
	if v, _ := env(EnvAuthSecret); v != "" {
		cfg.Auth.Secret = v
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		for _, e := range unwrapJoined(err) {
			var fe *FieldError
			if errors.As(e, &fe) && reported[fe.Key] {
				continue
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// mappingValue is the value of key in the document or mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// unwrapJoined lists the errors joined in err (errors.Join), or err alone.
func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (c *Config) applyDefaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.HTTP.MaxEventStreamsPerUser == 0 {
		c.HTTP.MaxEventStreamsPerUser = DefaultMaxEventStreams
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Redis.WaitReplicas > 0 && c.Redis.WaitTimeout == 0 {
		c.Redis.WaitTimeout = time.Second
	}
	if c.Database.Path == "" {
		c.Database.Path = DefaultDatabasePath
	}
	if c.Queue.DedupeWindow == 0 {
		c.Queue.DedupeWindow = DefaultDedupeWindow
	}
	if c.Worker.Concurrency == 0 {
		c.Worker.Concurrency = 20
	}
	if c.Presence.AwayAfter == 0 {
		c.Presence.AwayAfter = DefaultAwayAfter
	}
	if c.Auth.SessionTTL == 0 {
		c.Auth.SessionTTL = 12 * time.Hour
	}
	if c.Auth.OTP.Language == "" {
		c.Auth.OTP.Language = "en_US"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	c.Media.applyDefaults()
	for i := range c.Channels {
		c.Channels[i].Index = i
	}
}

var channelIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the keys common to every deployment. Kind-specific channel
// keys are validated by the kind's package when channels are built.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "want host:port, got %q", c.HTTP.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("http.addr", "port must be a number from 0 to 65535, got %q", port)
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20 {
		bad("http.max_body_bytes", "must be between 1024 and %d, got %d", 64<<20, c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.MaxEventStreamsPerUser < 1 || c.HTTP.MaxEventStreamsPerUser > 1000 {
		bad("http.max_event_streams_per_user", "must be between 1 and 1000, got %d", c.HTTP.MaxEventStreamsPerUser)
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "not a CIDR: %q", p)
		}
	}
	c.validateRedis(bad)
	c.validateDatabase(bad)
	if c.Worker.Concurrency < 1 || c.Worker.Concurrency > 1000 {
		bad("worker.concurrency", "must be between 1 and 1000, got %d", c.Worker.Concurrency)
	}
	if c.Queue.DedupeWindow < time.Minute {
		bad("queue.dedupe_window", "must be at least 1m, got %s", c.Queue.DedupeWindow)
	}
	if r, err := parseDays(c.Retention.Messages); err != nil {
		bad("retention.messages", "%v", err)
	} else if r != 0 && r < 24*time.Hour {
		bad("retention.messages", "must be at least 1d (or unset to keep messages), got %s", r)
	}
	if c.Presence.AwayAfter < 10*time.Second || c.Presence.AwayAfter > 24*time.Hour {
		bad("presence.away_after", "must be between 10s and 24h, got %s", c.Presence.AwayAfter)
	}
	c.Media.validate(bad)
	if c.ShutdownGrace < time.Second || c.ShutdownGrace > 10*time.Minute {
		bad("shutdown_grace", "must be between 1s and 10m, got %s", c.ShutdownGrace)
	}
	if c.Redis.Configured() && len(c.Auth.Secret) < 16 {
		bad("auth.secret", "at least 16 characters are required when Redis is configured (set it from an environment variable)")
	}
	if c.Auth.SessionTTL < time.Minute || c.Auth.SessionTTL > 30*24*time.Hour {
		bad("auth.session_ttl", "must be between 1m and 720h, got %s", c.Auth.SessionTTL)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	seen := map[string]int{}

	for i, ch := range c.Channels {
		switch {
		case ch.ID == "":
			bad(fmt.Sprintf("channels[%d].id", i), "required")
		case !channelIDPattern.MatchString(ch.ID):
			bad(fmt.Sprintf("channels[%d].id", i), "must be lower-case letters, digits, '-' or '_' (at most 64), got %q", ch.ID)
		default:
			if j, dup := seen[ch.ID]; dup {
				bad(fmt.Sprintf("channels[%d].id", i), "%q is already used by channels[%d]", ch.ID, j)
			}
			seen[ch.ID] = i
		}
		if ch.Kind == "" {
			bad(fmt.Sprintf("channels[%d].kind", i), "required")
		}
	}
	if c.Auth.OTP.Channel != "" {
		if _, ok := seen[c.Auth.OTP.Channel]; !ok {
			bad("auth.otp.channel", "no channel has id %q", c.Auth.OTP.Channel)
		}
	}
	return errors.Join(errs...)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in scalar values (never in keys) so a secret
// containing YAML syntax cannot change the document's structure. Every
// reference to an unset variable is reported, naming its key and line; a
// set but empty one is left for validation to judge.
func expandEnv(n *yaml.Node, path string, env LookupEnv) []*FieldError {
	var errs []*FieldError
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			errs = append(errs, expandEnv(c, path, env)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if path != "" {
				key = path + "." + key
			}
			errs = append(errs, expandEnv(n.Content[i+1], key, env)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, expandEnv(c, fmt.Sprintf("%s[%d]", path, i), env)...)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := env(name)
			if !ok && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			verb := "is"
			if len(missing) > 1 {
				verb = "are"
			}
			return []*FieldError{{Key: path, Msg: fmt.Sprintf("environment variable %s %s not set (line %d)", strings.Join(missing, ", "), verb, n.Line)}}
		}
		// An expanded value is always a string: a secret such as "0123" or
		// "true" must not turn into a number or a boolean.
		n.Tag = "!!str"
		n.Style = yaml.DoubleQuotedStyle
	}
	return errs
}

// validateRedis checks that one topology is chosen and complete.
func (c *Config) validateRedis(bad func(key, format string, args ...any)) {
	r := c.Redis
	chosen := 0
	for _, set := range []bool{r.URL != "", r.Sentinel.MasterName != "" || len(r.Sentinel.Addrs) > 0, len(r.Cluster.Addrs) > 0} {
		if set {
			chosen++
		}
	}
	if chosen > 1 {
		bad("redis", "set one of url, sentinel or cluster, not several")
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("redis.url", "want redis://host:port/db or rediss://...")
		}
	}
	if r.Sentinel.MasterName != "" || len(r.Sentinel.Addrs) > 0 {
		if r.Sentinel.MasterName == "" {
			bad("redis.sentinel.master_name", "required with redis.sentinel.addrs")
		}
		if len(r.Sentinel.Addrs) == 0 {
			bad("redis.sentinel.addrs", "required: the sentinels' host:port addresses")
		}
		for i, a := range r.Sentinel.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				bad(fmt.Sprintf("redis.sentinel.addrs[%d]", i), "want host:port, got %q", a)
			}
		}
	}
	for i, a := range r.Cluster.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad(fmt.Sprintf("redis.cluster.addrs[%d]", i), "want host:port, got %q", a)
		}
	}
	if r.WaitReplicas < 0 || r.WaitReplicas > 10 {
		bad("redis.wait_replicas", "must be between 0 and 10, got %d", r.WaitReplicas)
	}
	if r.WaitReplicas > 0 && len(r.Cluster.Addrs) > 0 {
		bad("redis.wait_replicas", "is not supported with redis.cluster")
	}
	if r.WaitTimeout < 0 || r.WaitTimeout > 10*time.Second {
		bad("redis.wait_timeout", "must be between 0 and 10s, got %s", r.WaitTimeout)
	}
}

// validateDatabase checks the URL's form (never quoting it: it carries a
// password) and the pool size.
func (c *Config) validateDatabase(bad func(key, format string, args ...any)) {
	d := c.Database
	if d.URL != "" {
		u, err := url.Parse(d.URL)
		switch {
		case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql"):
			bad("database.url", "want postgres://user:password@host:5432/database (or postgresql://); SQLite is database.path, not a URL")
		case u.Host == "":
			bad("database.url", "names no host: want postgres://user:password@host:5432/database")
		case strings.Trim(u.Path, "/") == "":
			bad("database.url", "names no database: want postgres://user:password@host:5432/database")
		}
	}
	if strings.TrimSpace(d.Path) == "" {
		bad("database.path", "must not be blank")
	} else if strings.HasPrefix(d.Path, "postgres://") || strings.HasPrefix(d.Path, "postgresql://") {
		bad("database.path", "is the SQLite file; put a PostgreSQL URL in database.url")
	}
	// One connection would deadlock a PostgreSQL migration: the advisory
	// lock holds one while the migration runs on another.
	if d.MaxConns != 0 && (d.MaxConns < 2 || d.MaxConns > 1000) {
		bad("database.max_conns", "must be between 2 and 1000, or 0 for the default, got %d", d.MaxConns)
	}
}
