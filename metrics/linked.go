package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LinkedHealth is a linked WhatsApp device's health in this process.
type LinkedHealth struct {
	Channel string
	// Held is true in the one process holding the device; the other
	// series are only exported there, so standbys do not look like outages.
	Held       bool
	Connected  bool
	LastEvent  time.Time
	Reconnects uint64
}

// LinkedCollector exports the health of linked WhatsApp devices
// (switchboard_whatsmeow_*), read when Prometheus scrapes.
type LinkedCollector struct {
	health func() []LinkedHealth
	now    func() time.Time

	held, connected, age, reconnects *prometheus.Desc
}

// NewLinkedCollector returns a collector reading health on every scrape.
func NewLinkedCollector(health func() []LinkedHealth, now func() time.Time) *LinkedCollector {
	return &LinkedCollector{
		health: health,
		now:    now,
		held: prometheus.NewDesc("switchboard_whatsmeow_held",
			"1 in the process that holds the linked device's lease (and connection), 0 in standbys.", []string{"channel"}, nil),
		connected: prometheus.NewDesc("switchboard_whatsmeow_connected",
			"1 while the holding process is connected and logged in to WhatsApp.", []string{"channel"}, nil),
		age: prometheus.NewDesc("switchboard_whatsmeow_last_event_age_seconds",
			"Seconds since anything last arrived from WhatsApp on the held connection; growing while connected is a silent disconnect.", []string{"channel"}, nil),
		reconnects: prometheus.NewDesc("switchboard_whatsmeow_reconnects_total",
			"Connections to WhatsApp lost or dropped and made again by this process.", []string{"channel"}, nil),
	}
}

// Describe sends the metric descriptions.
func (c *LinkedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.held
	ch <- c.connected
	ch <- c.age
	ch <- c.reconnects
}

// Collect reads every device's health.
func (c *LinkedCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, h := range c.health() {
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, boolFloat(h.Held), h.Channel)
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(h.Reconnects), h.Channel)
		if !h.Held {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, boolFloat(h.Connected), h.Channel)
		if !h.LastEvent.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(h.LastEvent).Seconds(), h.Channel)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
