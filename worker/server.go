package worker

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/queue"
)

// ServerOptions configure the asynq worker pool.
type ServerOptions struct {
	Concurrency int
	// ShutdownTimeout is how long Shutdown waits for running tasks before
	// handing them back to the queue for another worker.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Queues overrides the queues served and their priorities; nil means
	// Switchboard's shared queues (queue.Priorities).
	Queues map[string]int
}

// Server is an asynq server on the Redis wrapper it needs
// (queue.ServerRedis).
type Server struct {
	*asynq.Server
	redis *queue.ServerClient
}

// Shutdown stops the Redis wrapper's extensions, so asynq's last tries at
// writing outcomes fail at once if Redis is away instead of adding up
// past the shutdown grace, then shuts the asynq server down.
func (s *Server) Shutdown() {
	s.redis.Stop()
	s.Server.Shutdown()
}

// NewServer returns an asynq server on the shared Redis client, processing
// Switchboard's queues by priority. Start it with Start and stop it with
// Shutdown, so the caller decides the shutdown order.
func NewServer(rdb redis.UniversalClient, o ServerOptions) *Server {
	if o.Queues == nil {
		o.Queues = queue.Priorities
	}
	// queue.ServerRedis: a task finished during a Redis restart is
	// recorded when Redis returns, not by asynq's recoverer minutes later.
	sr := queue.ServerRedis(rdb)
	srv := asynq.NewServerFromRedisClient(sr, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          o.Queues,
		RetryDelayFunc:  RetryDelay,
		IsFailure:       IsFailure,
		ShutdownTimeout: o.ShutdownTimeout,
		// Retries are moved back to pending this often; the default 5s
		// would dominate the latency of a quick status retry.
		DelayedTaskCheckInterval: time.Second,
		// Poll empty queues often: an idle worker picks up the next
		// message within this interval.
		TaskCheckInterval: 100 * time.Millisecond,
		Logger:            slogAdapter{o.Logger.With("component", "asynq")},
		LogLevel:          asynq.WarnLevel,
	})
	return &Server{Server: srv, redis: sr}
}

// slogAdapter lets asynq log through the process's slog logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal is called by asynq only when it cannot go on.
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...))
	os.Exit(1)
}
