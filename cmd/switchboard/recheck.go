package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hibiken/asynq"

	"switchboard/config"
	"switchboard/queue"
	"switchboard/redisconn"
	"switchboard/repository"
)

// queueRecheck asks the workers to re-check routing's assignments after
// a command changed the staff or the settings, so a deleted group's
// queries go back to the pool at once, as after the same change through
// the API. Without a Redis configured (the embedded one lives inside its
// serve process) the first routing decision that sees the change queues
// it; the command says so.
func queueRecheck(ctx context.Context, cfg *config.Config, db *repository.DB, conn *redisconn.Conn, stdout, stderr io.Writer) error {
	if conn == nil {
		if !cfg.Redis.Configured() {
			fmt.Fprintln(stdout, "routing re-checks its assignments at its next decision (no Redis configured to tell it now)")
			return nil
		}
		var err error
		if conn, err = redisconn.Open(ctx, cfg.Redis, cliLogger(stderr)); err != nil {
			return fmt.Errorf("tell routing to re-check its assignments: %w", err)
		}
		defer conn.Close()
	}
	settingsVersion, err := db.Settings().LatestVersion(ctx)
	if err != nil {
		return err
	}
	staffVersion, err := db.Accounts().StaffVersion(ctx)
	if err != nil {
		return err
	}
	client := asynq.NewClientFromRedisClient(conn.Client)
	if err := queue.NewClient(client, cfg.Queue.DedupeWindow).EnqueueRecheck(ctx, settingsVersion, staffVersion); err != nil {
		return fmt.Errorf("tell routing to re-check its assignments: %w", err)
	}
	return nil
}
