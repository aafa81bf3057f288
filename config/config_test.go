package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/config"
)

func env(vars map[string]string) config.LookupEnv {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var secrets = map[string]string{
	"WA_APP_SECRET":           "s3cret: {not yaml}",
	"WA_VERIFY_TOKEN":         "0123",
	"WA_ACCESS_TOKEN":         "true",
	"SWITCHBOARD_AUTH_SECRET": "0123456789abcdef0123",
}

func TestLoadGood(t *testing.T) {
	cfg, err := config.Load("testdata/good.yaml", env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:8080" || cfg.Redis.URL != "redis://127.0.0.1:6379/0" || cfg.Worker.Concurrency != 8 ||
		cfg.Queue.DedupeWindow != 48*time.Hour || cfg.Presence.AwayAfter != 3*time.Minute || cfg.ShutdownGrace != 30*time.Second || cfg.Log.Format != "text" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if cfg.HTTP.MaxBodyBytes != config.DefaultMaxBodyBytes {
		t.Fatalf("default body limit = %d", cfg.HTTP.MaxBodyBytes)
	}
	if cfg.Auth.SessionTTL != 8*time.Hour || cfg.Auth.OTP.Channel != "wa-main" || cfg.Auth.OTP.Template != "login_code" || cfg.Auth.OTP.Language != "pt_BR" || cfg.Auth.Secret != "0123456789abcdef0123" {
		t.Fatalf("auth = %+v", cfg.Auth)
	}
	if len(cfg.Channels) != 1 || cfg.Channels[0].ID != "wa-main" || cfg.Channels[0].Kind != "whatsapp_cloud" {
		t.Fatalf("channels = %+v", cfg.Channels)
	}
	var kind struct {
		PhoneNumberID string `yaml:"phone_number_id"`
		AppSecret     string `yaml:"app_secret"`
		VerifyToken   string `yaml:"verify_token"`
		AccessToken   string `yaml:"access_token"`
		APIBaseURL    string `yaml:"api_base_url"`
	}
	if err := cfg.Channels[0].Decode(&kind); err != nil {
		t.Fatal(err)
	}
	// Expanded values stay strings, verbatim, whatever YAML would make of them.
	if kind.AppSecret != "s3cret: {not yaml}" || kind.VerifyToken != "0123" || kind.AccessToken != "true" || kind.PhoneNumberID != "100000000000001" {
		t.Fatalf("channel settings = %+v", kind)
	}
}

func TestChannelDecodeRejectsUnknownKeys(t *testing.T) {
	cfg, err := config.Parse([]byte("channels:\n  - id: wa\n    kind: whatsapp_cloud\n    app_secrit: x\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var kind struct {
		AppSecret string `yaml:"app_secret"`
	}
	err = cfg.Channels[0].Decode(&kind)
	if err == nil || err.Error() != "channels[0].app_secrit: unknown key (line 4)" {
		t.Fatalf("Decode = %v, want channels[0].app_secrit: unknown key (line 4)", err)
	}
}

// A kind's keys are reported with the file's lines even after ${VAR}
// expansion re-encoded the document, and every one of them at once.
func TestChannelDecodeReportsTheFilesLines(t *testing.T) {
	cfg, err := config.Parse([]byte("# comment\n\nchannels:\n\n  - id: wa\n    kind: whatsapp_cloud\n    token: ${T}\n\n    app_secrit: x\n    verify_tokn: y\n"), env(map[string]string{"T": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	var kind struct {
		Token string `yaml:"token"`
	}
	err = cfg.Channels[0].Decode(&kind)
	want := "channels[0].app_secrit: unknown key (line 9)\nchannels[0].verify_tokn: unknown key (line 10)"
	if err == nil || err.Error() != want || kind.Token != "t" {
		t.Fatalf("Decode = %v (token %q), want\n%s", err, kind.Token, want)
	}
}

func TestEmptyConfigUsesDefaults(t *testing.T) {
	cfg, err := config.Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != config.DefaultHTTPAddr || cfg.Redis.URL != "" || cfg.ShutdownGrace != config.DefaultShutdownGrace || len(cfg.Channels) != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	vars := map[string]string{config.EnvRedisURL: "redis://10.1.2.3:6380/2", config.EnvHTTPAddr: "0.0.0.0:9090"}
	for k, v := range secrets {
		vars[k] = v
	}
	cfg, err := config.Load("testdata/good.yaml", env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.URL != "redis://10.1.2.3:6380/2" || cfg.HTTP.Addr != "0.0.0.0:9090" {
		t.Fatalf("overrides not applied: %+v / %+v", cfg.Redis, cfg.HTTP)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string
	}{
		{"unset variable", "testdata/good.yaml", map[string]string{"WA_APP_SECRET": "x", "WA_VERIFY_TOKEN": "y", "SWITCHBOARD_AUTH_SECRET": "0123456789abcdef"}, []string{"channels[0].access_token", "WA_ACCESS_TOKEN"}},
		{"short auth secret", "testdata/good.yaml", map[string]string{"WA_APP_SECRET": "x", "WA_VERIFY_TOKEN": "y", "WA_ACCESS_TOKEN": "z", "SWITCHBOARD_AUTH_SECRET": "short"}, []string{"auth.secret: at least 16"}},
		{"unknown key", "testdata/bad-unknown-key.yaml", nil, []string{"http.adr: unknown key (line 2)"}},
		// Every mistake of the file at once, by key path and line, never
		// by a Go type.
		{"unknown and mistyped keys", "testdata/bad-unknown-keys.yaml", nil, []string{
			"http.max_body_byte: unknown key (line 4)",
			"redis.sentinel.master: unknown key (line 7)",
			"worker.concurrency: cannot unmarshal !!str `lots` into int (line 9)",
		}},
		// Every unset variable at once, not one per run.
		{"every unset variable", "testdata/good.yaml", nil, []string{
			"auth.secret: environment variable SWITCHBOARD_AUTH_SECRET is not set (line 12)",
			"channels[0].app_secret: environment variable WA_APP_SECRET is not set (line 25)",
			"channels[0].verify_token: environment variable WA_VERIFY_TOKEN is not set (line 26)",
			"channels[0].access_token: environment variable WA_ACCESS_TOKEN is not set (line 27)",
		}},
		{"bad values", "testdata/bad-values.yaml", nil, []string{
			"http.addr", "http.max_body_bytes", "redis.url", "log.level",
			"channels[0].id: required", "channels[1].kind: required", `channels[2].id: "wa-main" is already used by channels[1]`,
			"auth.secret: at least 16", `auth.otp.channel: no channel has id "wa-nope"`,
			"database.url: want postgres://", "database.max_conns: must be between 2 and 1000",
		}},
		{"missing file", "testdata/nope.yaml", nil, []string{"nope.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(tc.file, env(tc.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// A key already reported is not reported again by validation
			// (an unset ${VAR} also leaves its key empty).
			if strings.Count(err.Error(), "auth.secret:") > 1 {
				t.Errorf("error %q reports auth.secret twice", err)
			}
			if strings.Contains(err.Error(), "not found in type") || strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q names a Go type, not a key", err)
			}
		})
	}
}

func TestWorkerConcurrencyZeroIsDefaulted(t *testing.T) {
	// bad-values.yaml sets concurrency 0: that means "default", not an error.
	_, err := config.Load("testdata/bad-values.yaml", env(nil))
	var fe *config.FieldError
	for _, e := range unwrapAll(err) {
		if errors.As(e, &fe) && fe.Key == "worker.concurrency" {
			t.Fatalf("worker.concurrency: 0 reported as %v", fe)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestExampleConfigIsValid(t *testing.T) {
	vars := map[string]string{"WA_APP_SECRET": "a", "WA_VERIFY_TOKEN": "b", "WA_ACCESS_TOKEN": "c", "SWITCHBOARD_AUTH_SECRET": "0123456789abcdef"}
	if _, err := config.Load("../deploy/switchboard.example.yaml", env(vars)); err != nil {
		t.Fatalf("the shipped example does not load: %v", err)
	}
}

func TestRedisTopologies(t *testing.T) {
	const secret = "auth:\n  secret: 0123456789abcdef\n"
	for _, tc := range []struct{ yaml, want string }{
		{"redis:\n  url: redis://r:6379/0\n  cluster: {addrs: [\"a:1\"]}\n", "redis: set one of url, sentinel or cluster"},
		{"redis:\n  sentinel: {addrs: [\"s:26379\"]}\n", "redis.sentinel.master_name: required"},
		{"redis:\n  sentinel: {master_name: sb}\n", "redis.sentinel.addrs: required"},
		{"redis:\n  sentinel: {master_name: sb, addrs: [\"nope\"]}\n", "redis.sentinel.addrs[0]: want host:port"},
		{"redis:\n  cluster: {addrs: [\"a:1\", \"b\"]}\n", "redis.cluster.addrs[1]: want host:port"},
		{"redis:\n  cluster: {addrs: [\"a:1\"]}\n  wait_replicas: 1\n", "redis.wait_replicas: is not supported with redis.cluster"},
	} {
		if _, err := config.Parse([]byte(tc.yaml+secret), env(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	cfg, err := config.Parse([]byte("redis:\n  sentinel: {master_name: sb, addrs: [\"s1:26379\", \"s2:26379\"]}\n  wait_replicas: 1\n"+secret), env(nil))
	if err != nil || !cfg.Redis.Configured() || cfg.Redis.WaitTimeout != time.Second {
		t.Fatalf("sentinel config: %+v, %v", cfg, err)
	}
	// The auth secret is required with any real Redis, not only a URL.
	if _, err := config.Parse([]byte("redis:\n  cluster: {addrs: [\"a:1\"]}\n"), env(nil)); err == nil || !strings.Contains(err.Error(), "auth.secret") {
		t.Fatalf("cluster without an auth secret: %v", err)
	}
}

// http.max_event_streams_per_user defaults to 5 and must be positive.
func TestMaxEventStreamsPerUser(t *testing.T) {
	const secret = "auth:\n  secret: 0123456789abcdef\n"
	cfg, err := config.Parse([]byte(secret), env(nil))
	if err != nil || cfg.HTTP.MaxEventStreamsPerUser != config.DefaultMaxEventStreams {
		t.Fatalf("default: %+v, %v", cfg, err)
	}
	cfg, err = config.Parse([]byte("http:\n  max_event_streams_per_user: 2\n"+secret), env(nil))
	if err != nil || cfg.HTTP.MaxEventStreamsPerUser != 2 {
		t.Fatalf("set to 2: %+v, %v", cfg, err)
	}
	if _, err := config.Parse([]byte("http:\n  max_event_streams_per_user: -1\n"+secret), env(nil)); err == nil ||
		!strings.Contains(err.Error(), "http.max_event_streams_per_user") {
		t.Fatalf("-1: %v, want an error naming the key", err)
	}
}

// Without a database section, Switchboard runs on the SQLite file
// switchboard.db in the working directory and migrates at start.
func TestDatabaseDefaults(t *testing.T) {
	cfg, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Database
	if d.URL != "" || d.Postgres() || d.Path != "switchboard.db" || d.MaxConns != 0 || !d.AutoMigrate() {
		t.Fatalf("database defaults = %+v (migrate %v), want SQLite at switchboard.db, migrating", d, d.AutoMigrate())
	}
}

func TestDatabaseFromFile(t *testing.T) {
	cfg, err := config.Load("testdata/good.yaml", env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Database
	if d.Path != "/var/lib/switchboard/switchboard.db" || d.MaxConns != 30 || d.AutoMigrate() || d.Postgres() {
		t.Fatalf("database = %+v (migrate %v)", d, d.AutoMigrate())
	}
	cfg, err = config.Parse([]byte("database:\n  url: postgresql://sb@db.internal/switchboard\n  migrate_on_start: true\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Database.Postgres() || !cfg.Database.AutoMigrate() || cfg.Database.URL != "postgresql://sb@db.internal/switchboard" {
		t.Fatalf("database = %+v", cfg.Database)
	}
}

// SWITCHBOARD_DATABASE_URL replaces database.url, so the password stays in
// a secret; it also turns a file's SQLite setup into PostgreSQL.
func TestDatabaseURLFromEnvironment(t *testing.T) {
	const u = "postgres://switchboard:s3cret@db.internal:5432/switchboard?sslmode=require"
	cfg, err := config.Parse([]byte("database:\n  url: postgres://other@elsewhere/other\n"), env(map[string]string{config.EnvDatabaseURL: u}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.URL != u {
		t.Fatalf("database.url = %q, want the environment's", cfg.Database.URL)
	}
	cfg, err = config.Parse([]byte("database:\n  path: /data/sb.db\n"), env(map[string]string{config.EnvDatabaseURL: u}))
	if err != nil || !cfg.Database.Postgres() {
		t.Fatalf("env over a SQLite file: %+v, %v", cfg, err)
	}
	// A mistake in the variable is reported by the key it sets.
	_, err = config.Parse(nil, env(map[string]string{config.EnvDatabaseURL: "db.internal:5432"}))
	if err == nil || !strings.Contains(err.Error(), "database.url: want postgres://") {
		t.Fatalf("a URL without a scheme: %v, want database.url: want postgres://...", err)
	}
}

func TestDatabaseMistakesNameTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"database:\n  url: mysql://sb:hunter2@db:3306/sb\n", "database.url: want postgres://user:password@host:5432/database"},
		{"database:\n  url: sqlite:///var/lib/sb.db\n", "SQLite is database.path"},
		{"database:\n  url: postgres:///switchboard\n", "database.url: names no host"},
		{"database:\n  url: postgres://sb:hunter2@db:5432\n", "database.url: names no database"},
		{"database:\n  path: \"  \"\n", "database.path: must not be blank"},
		{"database:\n  path: postgres://sb@db/sb\n", "database.path: is the SQLite file; put a PostgreSQL URL in database.url"},
		{"database:\n  max_conns: 5000\n", "database.max_conns: must be between 2 and 1000, or 0 for the default, got 5000"},
		{"database:\n  max_conns: 1\n", "database.max_conns: must be between 2 and 1000, or 0 for the default, got 1"},
		{"database:\n  migrate_on_start: sometimes\n", "database.migrate_on_start: cannot unmarshal"},
		{"database:\n  uri: postgres://sb@db/sb\n", "database.uri: unknown key (line 2)"},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
			continue
		}
		// The URL carries a password: an error never repeats it.
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error %q shows the password", tc.yaml, err)
		}
	}
}

// Retention is written in days or as a duration; unset keeps messages.
func TestRetentionMessages(t *testing.T) {
	cfg, err := config.Parse(nil, env(nil))
	if err != nil || cfg.Retention.MessagesFor() != 0 {
		t.Fatalf("default: %v, %v; want 0 (keep)", cfg.Retention.MessagesFor(), err)
	}
	for doc, want := range map[string]time.Duration{
		"retention:\n  messages: 365d\n": 365 * 24 * time.Hour,
		"retention:\n  messages: 720h\n": 720 * time.Hour,
	} {
		cfg, err := config.Parse([]byte(doc), env(nil))
		if err != nil || cfg.Retention.MessagesFor() != want {
			t.Fatalf("%q: %v, %v; want %v", doc, cfg.Retention.MessagesFor(), err, want)
		}
	}
	for _, doc := range []string{"retention:\n  messages: 10x\n", "retention:\n  messages: 1h\n"} {
		if _, err := config.Parse([]byte(doc), env(nil)); err == nil || !strings.Contains(err.Error(), "retention.messages") {
			t.Fatalf("%q: %v, want an error naming retention.messages", doc, err)
		}
	}
}

// presence.away_after defaults to 2m and is refused outside 10s..24h,
// naming the key.
func TestPresenceAwayAfter(t *testing.T) {
	cfg, err := config.Parse(nil, env(nil))
	if err != nil || cfg.Presence.AwayAfter != 2*time.Minute {
		t.Fatalf("default: %v, %v; want 2m", cfg.Presence.AwayAfter, err)
	}
	cfg, err = config.Parse([]byte("presence:\n  away_after: 5m\n"), env(nil))
	if err != nil || cfg.Presence.AwayAfter != 5*time.Minute {
		t.Fatalf("5m: %v, %v", cfg.Presence.AwayAfter, err)
	}
	for _, doc := range []string{"presence:\n  away_after: 1s\n", "presence:\n  away_after: 48h\n", "presence:\n  away_after: soon\n", "presence:\n  away_afer: 2m\n"} {
		if _, err := config.Parse([]byte(doc), env(nil)); err == nil || !strings.Contains(err.Error(), "presence.away") {
			t.Fatalf("%q: %v, want an error naming presence.away_after", doc, err)
		}
	}
}
