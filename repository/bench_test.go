package repository_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/internal/dbtest"
)

// BenchmarkApplyInbound applies distinct messages, one after another,
// spread over many contacts: the inbound path's cost per message on each
// engine (PostgreSQL when SWITCHBOARD_TEST_POSTGRES is set). Most
// messages join an open conversation; each contact's first opens one.
func BenchmarkApplyInbound(b *testing.B) {
	const contacts = 1000
	for _, e := range dbtest.Engines {
		b.Run(string(e), func(b *testing.B) {
			r := dbtest.OpenEngine(b, e).Conversations()
			ctx := context.Background()
			msgs := make([]*channels.Inbound, b.N)
			bodies := make([][]byte, b.N)
			for i := range b.N {
				m := &channels.Inbound{
					Channel: channel, Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.bench.%d", i),
					From: fmt.Sprintf("5511900%06d", i%contacts), ProfileName: fmt.Sprintf("Cliente %d", i%contacts),
					Timestamp: t0.Add(time.Duration(i) * time.Second), Arrival: int64(i), Type: channels.TypeText, Text: "quiero saber de mi pedido",
				}
				body, err := json.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				msgs[i], bodies[i] = m, body
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := r.ApplyInbound(ctx, msgs[i], bodies[i], t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
