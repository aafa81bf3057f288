package main

import (
	"strings"
	"testing"

	"switchboard/internal/redistest"
)

// Before any traffic, /metrics already shows every per-channel series of a
// configured channel at zero, so rate() and alerts see zeros, not nothing.
func TestMetricsShowZeroSeriesForConfiguredChannelsBeforeTraffic(t *testing.T) {
	rdb := redistest.Client(t)
	base, _, _ := start(t, channelYAML(redistest.URL(rdb), "http://127.0.0.1:1"), secretEnv, roleAll)
	_, body := get(t, base+"/metrics")
	for _, want := range []string{
		`switchboard_outbound_messages_total{channel="wa-main",kind="whatsapp_cloud",outcome="sent"} 0`,
		`switchboard_outbound_messages_total{channel="wa-main",kind="whatsapp_cloud",outcome="retry"} 0`,
		`switchboard_outbound_messages_total{channel="wa-main",kind="whatsapp_cloud",outcome="failed"} 0`,
		`switchboard_webhook_requests_total{channel="wa-main",kind="whatsapp_cloud",outcome="accepted"} 0`,
		`switchboard_webhook_requests_total{channel="wa-main",kind="whatsapp_cloud",outcome="unauthorized"} 0`,
		`switchboard_inbound_messages_total{channel="wa-main",kind="whatsapp_cloud",type="text"} 0`,
		`switchboard_duplicate_messages_total{channel="wa-main",kind="whatsapp_cloud"} 0`,
		`switchboard_outbound_rate_limited_total{channel="wa-main",kind="whatsapp_cloud"} 0`,
		`switchboard_status_updates_total{channel="wa-main",kind="whatsapp_cloud",status="delivered"} 0`,
		`switchboard_status_updates_total{channel="wa-main",kind="whatsapp_cloud",status="unknown_message"} 0`,
		`switchboard_webhook_request_duration_seconds_count{channel="wa-main",kind="whatsapp_cloud"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
