package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"switchboard/config"
	"switchboard/redisconn"
	"switchboard/settings"
)

// applyCommand validates a settings file and applies it atomically as the
// next version; workers pick it up within a second, without a restart.
func applyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the settings YAML file to apply (- for standard input)")
	dryRun := fs.Bool("dry-run", false, "validate and show what would change, without applying")
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for the Redis URL (default $"+config.EnvConfigPath+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "apply: -f FILE is required")
		return errUsage
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if _, err := settings.Parse(data); err != nil {
		return fmt.Errorf("%s is not valid:\n%w", *file, err)
	}
	_, conn, err := openRedis(ctx, "apply", *configPath, stderr)
	if err != nil {
		return err
	}
	defer conn.Close()

	var current []byte
	version := int64(0)
	switch st, err := settings.Load(ctx, conn.Client); {
	case errors.Is(err, settings.ErrNone):
	case err != nil:
		return err
	default:
		current, version = st.YAML, st.Version
	}
	diff := settings.Diff(string(current), string(data), 3)
	if diff == "" {
		fmt.Fprintf(stdout, "settings unchanged (version %d)\n", version)
		return nil
	}
	if *dryRun {
		fmt.Fprintf(stdout, "would apply version %d (now %d):\n%s", version+1, version, diff)
		return nil
	}
	v, err := settings.Apply(ctx, conn.Client, data, time.Now(), version)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied settings version %d:\n%s", v, diff)
	return nil
}

// openRedis loads the configuration and connects to its Redis, for the
// commands that change a running installation. The embedded Redis lives
// only inside its serve process, so they need a real one.
func openRedis(ctx context.Context, command, configPath string, stderr io.Writer) (*config.Config, *redisconn.Conn, error) {
	cfg, err := config.Load(configPath, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.Redis.Configured() {
		return nil, nil, fmt.Errorf("%s needs a Redis: set redis.url (or redis.sentinel, redis.cluster) or %s", command, config.EnvRedisURL)
	}
	conn, err := redisconn.Open(ctx, cfg.Redis, newLogger(config.Log{Level: "error", Format: "text"}, stderr))
	if err != nil {
		return nil, nil, err
	}
	return cfg, conn, nil
}
