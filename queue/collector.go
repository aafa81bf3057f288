package queue

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports asynq's queue sizes and latencies at scrape time, read
// from Redis through an Inspector. Every replica reports the same shared
// queues, so dashboards should aggregate with max(), not sum().
type Collector struct {
	inspector *asynq.Inspector
	logger    *slog.Logger

	tasks     *prometheus.Desc
	latency   *prometheus.Desc
	processed *prometheus.Desc
	failed    *prometheus.Desc
	up        *prometheus.Desc
}

// NewCollector returns a collector reading through inspector.
func NewCollector(inspector *asynq.Inspector, logger *slog.Logger) *Collector {
	return &Collector{
		inspector: inspector,
		logger:    logger,
		tasks: prometheus.NewDesc("switchboard_queue_tasks",
			"Tasks in each queue by state (pending, active, scheduled, retry, archived, completed).",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("switchboard_queue_latency_seconds",
			"How long the oldest pending task of each queue has been waiting.",
			[]string{"queue"}, nil),
		processed: prometheus.NewDesc("switchboard_queue_processed_today",
			"Tasks processed today (UTC) per queue, as asynq counts them.",
			[]string{"queue"}, nil),
		failed: prometheus.NewDesc("switchboard_queue_failed_today",
			"Task attempts that failed today (UTC) per queue, as asynq counts them.",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc("switchboard_queue_scrape_ok",
			"1 when the queue statistics could be read from Redis at this scrape.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.latency
	ch <- c.processed
	ch <- c.failed
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ok := 1.0
	defer func() { ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, ok) }()
	existing, err := c.inspector.Queues()
	if err != nil {
		ok = 0
		c.logger.Debug("queue stats unavailable", "err", err)
		return
	}
	queues := []string{QueueOTP, QueueInbound, QueueRouting, QueueOutbound, QueueStatus}
	// Linked devices' own send queues (ChannelQueue) once they exist:
	// their latency and archived sends matter as much as the shared ones.
	for _, q := range existing {
		if strings.HasPrefix(q, ChannelQueue("")) {
			queues = append(queues, q)
		}
	}
	for _, q := range queues {
		// A queue that never had a task does not exist yet; report zeros
		// so alerts on absent series do not misfire on a fresh install.
		info := &asynq.QueueInfo{Queue: q}
		if slices.Contains(existing, q) {
			if info, err = c.inspector.GetQueueInfo(q); err != nil {
				ok = 0
				c.logger.Debug("queue stats unavailable", "queue", q, "err", err)
				continue
			}
		}
		for state, n := range map[string]int{
			"pending":   info.Pending,
			"active":    info.Active,
			"scheduled": info.Scheduled,
			"retry":     info.Retry,
			"archived":  info.Archived,
			"completed": info.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.GaugeValue, float64(info.Processed), q)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(info.Failed), q)
	}
}
