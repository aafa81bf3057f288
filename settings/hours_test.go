package settings_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/settings"
)

// typeHoursDoc is a valid document whose second query type, claims, has
// opening hours of its own.
const typeHoursDoc = `
timezone: America/Sao_Paulo
opening_hours:
  weekly:
    mon: ["09:00-18:00"]
  out_of_hours:
    reply: out_of_hours
default_query_type: general
query_types:
  - id: general
  - id: claims
    opening_hours:
      weekly:
        mon: ["08:00-16:00"]
        sat: ["10:00-12:00"]
      special:
        - {date: "2026-12-25", hours: ["10:00-12:00"]}
      out_of_hours:
        reply: claims_closed
        queue_until_open: false
templates:
  - {id: out_of_hours, language: pt, text: "Fechado. Abrimos {{next_open}}."}
  - {id: claims_closed, language: pt, text: "Reclamações: abrimos {{next_open}}."}
`

func TestTypeOpeningHoursCompile(t *testing.T) {
	c, err := settings.Parse([]byte(typeHoursDoc))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Routing
	claims, general := s.ScheduleFor("claims"), s.ScheduleFor("general")
	if claims.Hours == s.Hours || claims.Hours.Location().String() != "America/Sao_Paulo" ||
		claims.OutOfHoursReply != "claims_closed" || claims.QueueUntilOpen {
		t.Fatalf("claims' schedule = %+v, want its own hours in the document's timezone, its reply, not queued", claims)
	}
	if general.Hours != s.Hours || general.OutOfHoursReply != "out_of_hours" || !general.QueueUntilOpen {
		t.Fatalf("general's schedule = %+v, want the document's", general)
	}
}

func TestTypeOpeningHoursErrorsNameKeys(t *testing.T) {
	for _, tc := range []struct {
		name, edit, with, want string
	}{
		{"bad interval", `mon: ["08:00-16:00"]`, `mon: ["08:00-1600"]`,
			`query_types[1].opening_hours.weekly.mon[0]: "08:00-1600" is not HH:MM-HH:MM`},
		{"not a weekday", `mon: ["08:00-16:00"]`, `monday: ["08:00-16:00"]`,
			`query_types[1].opening_hours.weekly.monday: not a weekday`},
		{"empty interval", `sat: ["10:00-12:00"]`, `sat: ["10:00-10:00"]`,
			`query_types[1].opening_hours.weekly.sat[0]: "10:00-10:00" is empty`},
		{"special date", `{date: "2026-12-25", hours: ["10:00-12:00"]}`, `{date: "2026-12-25"}`,
			`query_types[1].opening_hours.special[0]: needs closed: true or hours`},
		{"special date format", `{date: "2026-12-25", hours`, `{date: "25/12/2026", hours`,
			`query_types[1].opening_hours.special[0].date: want YYYY-MM-DD, got "25/12/2026"`},
		{"unknown reply template", "reply: claims_closed", "reply: claims_shut",
			`query_types[1].opening_hours.out_of_hours.reply: no template has id "claims_shut"`},
		{"a type has no timezone of its own", "      weekly:\n        mon: [\"08:00-16:00\"]", "      timezone: Europe/Lisbon\n      weekly:\n        mon: [\"08:00-16:00\"]",
			`query_types[1].opening_hours.timezone: unknown key (line 13)`},
		{"unknown key", "queue_until_open: false", "queue_untl_open: false",
			`query_types[1].opening_hours.out_of_hours.queue_untl_open: unknown key (line 20)`},
		{"no timezone", "timezone: America/Sao_Paulo\nopening_hours:\n  weekly:\n    mon: [\"09:00-18:00\"]\n", "opening_hours:\n",
			`timezone: required with query_types[1].opening_hours`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(typeHoursDoc, tc.edit, tc.with, 1)
			if doc == typeHoursDoc {
				t.Fatalf("edit %q did not apply", tc.edit)
			}
			_, err := settings.Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// A bad timezone is the document's mistake, reported once, not again for
// every type with hours of its own.
func TestBadTimezoneReportedOnce(t *testing.T) {
	doc := strings.Replace(typeHoursDoc, "timezone: America/Sao_Paulo", "timezone: America/Sao_Paolo", 1)
	_, err := settings.Parse([]byte(doc))
	if err == nil || strings.Count(err.Error(), "unknown time zone") != 1 {
		t.Fatalf("error = %v, want one unknown time zone", err)
	}
}

// The shipped example shows per-type hours: payments open at 03:00 on a
// Sunday, when the global plan is closed; claims open at 08:30 on a
// Tuesday (before the global 09:00) and closed at 19:00, with its own
// reply.
func TestShippedExampleHasPerTypeHours(t *testing.T) {
	b, err := os.ReadFile("../deploy/settings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := settings.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Routing
	sunday := time.Date(2026, 11, 29, 3, 0, 0, 0, sp)
	if !s.ScheduleFor("payments").Hours.IsOpen(sunday) || s.Hours.IsOpen(sunday) {
		t.Error("payments should be open on Sunday 03:00, when the global plan is closed")
	}
	morning, evening := time.Date(2026, 11, 24, 8, 30, 0, 0, sp), time.Date(2026, 11, 24, 19, 0, 0, 0, sp)
	claims := s.ScheduleFor("claims")
	if !claims.Hours.IsOpen(morning) || s.Hours.IsOpen(morning) || claims.Hours.IsOpen(evening) ||
		claims.OutOfHoursReply != "claims_closed" || !claims.QueueUntilOpen {
		t.Errorf("claims: open Tue 08:30 %v (global %v), Tue 19:00 %v, reply %q, queued %v; want true (false), false, claims_closed, true",
			claims.Hours.IsOpen(morning), s.Hours.IsOpen(morning), claims.Hours.IsOpen(evening), claims.OutOfHoursReply, claims.QueueUntilOpen)
	}
}
