package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/conversations"
	"switchboard/routing"
)

// RoutingCollector exports the routing gauges at scrape time: queries by
// state and, per query type, how long the longest-waiting pooled query has
// waited (as Twilio TaskRouter reports it). They are read from the
// database, so every worker reports the same values: aggregate with max().
type RoutingCollector struct {
	conv    *conversations.Service
	logger  *slog.Logger
	queries *prometheus.Desc
	oldest  *prometheus.Desc
}

// NewRoutingCollector returns the collector.
func NewRoutingCollector(conv *conversations.Service, logger *slog.Logger) *RoutingCollector {
	return &RoutingCollector{
		conv: conv, logger: logger,
		queries: prometheus.NewDesc("switchboard_queries", "Open routed queries by state (pending, assigned, inactive).", []string{"state"}, nil),
		oldest: prometheus.NewDesc("switchboard_pool_oldest_wait_seconds",
			"How long the longest-waiting query in each query type's pool has waited; 0 when the pool is empty.", []string{"query_type"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *RoutingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queries
	ch <- c.oldest
}

// Collect implements prometheus.Collector.
func (c *RoutingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.conv.QueryCounts(ctx)
	if err != nil {
		c.logger.Debug("query counts unavailable", "err", err)
		return
	}
	for _, state := range []string{routing.StatePending, routing.StateAssigned, routing.StateInactive} {
		ch <- prometheus.MustNewConstMetric(c.queries, prometheus.GaugeValue, float64(counts[state]), state)
	}
	comp, err := c.conv.Current(ctx)
	if err != nil || comp == nil {
		return
	}
	now := time.Now()
	for _, t := range comp.Routing.Types {
		wait := 0.0
		if since, ok, err := c.conv.PoolOldest(ctx, t.ID); err == nil && ok {
			wait = max(0, now.Sub(since).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, wait, t.ID)
	}
}
