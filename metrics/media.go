package metrics

import "github.com/prometheus/client_golang/prometheus"

// Media fetch outcomes, the values of the outcome label of MediaFetches.
const (
	MediaStored   = "stored"
	MediaRetry    = "retry"
	MediaTooLarge = "too_large"
	MediaFailed   = "failed"
)

// MediaMetrics count media files: inbound ones fetched from providers,
// the bytes kept, and files served to the console.
type MediaMetrics struct {
	// Fetches counts inbound file fetch attempts by channel and outcome
	// (stored, retry, too_large, failed).
	Fetches *prometheus.CounterVec
	// BytesStored counts the bytes of media files kept, by channel.
	BytesStored *prometheus.CounterVec
	// Served counts files answered by GET /api/v1/media/{id}.
	Served prometheus.Counter
}

func newMediaMetrics(reg prometheus.Registerer) MediaMetrics {
	m := MediaMetrics{
		Fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_media_fetches_total",
			Help: "Inbound media file fetches from providers by channel and outcome (stored, retry, too_large, failed).",
		}, []string{"channel", "outcome"}),
		BytesStored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_media_stored_bytes_total",
			Help: "Bytes of media files kept in the blob store, by channel.",
		}, []string{"channel"}),
		Served: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_media_served_total",
			Help: "Media files served to the console (GET /api/v1/media/{id}).",
		}),
	}
	reg.MustRegister(m.Fetches, m.BytesStored, m.Served)
	return m
}
