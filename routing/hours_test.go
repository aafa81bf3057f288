package routing_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/routing"
)

func compileHours(t *testing.T, spec routing.HoursSpec) *routing.Hours {
	t.Helper()
	h, err := routing.CompileHours(spec, "opening_hours")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var saoPauloSpec = routing.HoursSpec{
	Timezone: "America/Sao_Paulo",
	Weekly: map[string][]string{
		"mon": {"09:00-13:00", "14:00-18:00"},
		"fri": {"09:00-18:00"},
		"sat": {"22:00-02:00"},
	},
	Special: []routing.SpecialDay{
		{Date: "2026-12-25", Closed: true},                   // a Friday
		{Date: "2026-12-24", Hours: []string{"09:00-12:00"}}, // a Thursday
	},
}

func local(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIsOpenAtEveryEdge(t *testing.T) {
	h := compileHours(t, saoPauloSpec)
	for _, tc := range []struct {
		at   string
		open bool
	}{
		{"2026-11-23 08:59:59", false}, // Monday, before opening
		{"2026-11-23 09:00:00", true},
		{"2026-11-23 12:59:59", true}, // split shift
		{"2026-11-23 13:00:00", false},
		{"2026-11-23 13:59:59", false},
		{"2026-11-23 14:00:00", true},
		{"2026-11-23 17:59:59", true},
		{"2026-11-23 18:00:00", false},
		{"2026-11-24 10:00:00", false}, // Tuesday has no hours
		{"2026-11-28 21:59:59", false}, // Saturday night shift, across midnight
		{"2026-11-28 22:00:00", true},
		{"2026-11-28 23:59:59", true},
		{"2026-11-29 00:00:00", true},
		{"2026-11-29 01:59:59", true},
		{"2026-11-29 02:00:00", false},
		{"2026-12-25 08:59:59", false}, // special: closed all Friday
		{"2026-12-25 09:00:00", false},
		{"2026-12-25 12:00:00", false},
		{"2026-12-24 08:59:59", false}, // special hours on a Thursday
		{"2026-12-24 09:00:00", true},
		{"2026-12-24 11:59:59", true},
		{"2026-12-24 12:00:00", false},
		{"2026-12-18 17:59:59", true}, // an ordinary Friday
		{"2026-12-18 18:00:00", false},
	} {
		ti := local(t, h.Location(), tc.at)
		if got := h.IsOpen(ti); got != tc.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tc.at, got, tc.open)
		}
	}
}

func TestNextOpenAndClosedPeriod(t *testing.T) {
	h := compileHours(t, saoPauloSpec)
	loc := h.Location()
	for _, tc := range []struct {
		at, nextOpen, periodStart string
	}{
		{"2026-11-29 03:00:00", "2026-11-30 09:00:00", "2026-11-29 02:00:00"}, // Sunday after the night shift
		{"2026-11-23 13:30:00", "2026-11-23 14:00:00", "2026-11-23 13:00:00"}, // lunch gap
		{"2026-11-23 18:00:00", "2026-11-27 09:00:00", "2026-11-23 18:00:00"}, // Monday evening to Friday
		{"2026-12-24 12:00:00", "2026-12-26 22:00:00", "2026-12-24 12:00:00"}, // Christmas Eve to Saturday night
	} {
		at := local(t, loc, tc.at)
		next, ok := h.NextOpen(at)
		if !ok || !next.Equal(local(t, loc, tc.nextOpen)) {
			t.Errorf("NextOpen(%s) = %v, %v; want %s", tc.at, next.In(loc), ok, tc.nextOpen)
		}
		start, ok := h.ClosedPeriodStart(at)
		if !ok || !start.Equal(local(t, loc, tc.periodStart)) {
			t.Errorf("ClosedPeriodStart(%s) = %v, %v; want %s", tc.at, start.In(loc), ok, tc.periodStart)
		}
	}
	open := local(t, loc, "2026-11-28 23:00:00")
	if next, ok := h.NextOpen(open); !ok || !next.Equal(open) {
		t.Errorf("NextOpen while open = %v, want the same instant", next)
	}
	if end, ok := h.NextClose(open); !ok || !end.Equal(local(t, loc, "2026-11-29 02:00:00")) {
		t.Errorf("NextClose(Sat 23:00) = %v, want Sun 02:00", end.In(loc))
	}
	if _, ok := h.ClosedPeriodStart(open); ok {
		t.Error("ClosedPeriodStart while open reported a closed period")
	}
}

// Adjacent intervals are one open period, without a closed instant between.
func TestAdjacentIntervalsMerge(t *testing.T) {
	h := compileHours(t, routing.HoursSpec{Timezone: "UTC", Weekly: map[string][]string{
		"mon": {"18:00-22:00", "22:00-24:00"}, "tue": {"00:00-03:00"},
	}})
	at := local(t, time.UTC, "2026-11-23 19:00:00")
	if end, ok := h.NextClose(at); !ok || !end.Equal(local(t, time.UTC, "2026-11-24 03:00:00")) {
		t.Fatalf("NextClose = %v, want Tuesday 03:00", end)
	}
}

// New York's clocks go forward on 2026-03-08 and back on 2026-11-01:
// 09:00 stays 09:00 local, so the instants between openings are 23h and 25h
// apart.
func TestDaylightSavingChanges(t *testing.T) {
	h := compileHours(t, routing.HoursSpec{Timezone: "America/New_York", Weekly: map[string][]string{
		"sat": {"09:00-17:00"}, "sun": {"09:00-17:00"}, "mon": {"09:00-17:00"},
	}})
	loc := h.Location()
	for _, tc := range []struct {
		saturday, sunday string
		gap              time.Duration
	}{
		{"2026-03-07", "2026-03-08", 23 * time.Hour}, // spring forward
		{"2026-10-31", "2026-11-01", 25 * time.Hour}, // fall back
	} {
		satOpen := local(t, loc, tc.saturday+" 09:00:00")
		if h.IsOpen(satOpen.Add(-time.Second)) || !h.IsOpen(satOpen) {
			t.Errorf("%s: not opening at 09:00 local", tc.saturday)
		}
		satClose := local(t, loc, tc.saturday+" 17:00:00")
		next, ok := h.NextOpen(satClose)
		if !ok || !next.Equal(local(t, loc, tc.sunday+" 09:00:00")) {
			t.Errorf("NextOpen after %s close = %v, want %s 09:00 local", tc.saturday, next.In(loc), tc.sunday)
		}
		if got := next.Sub(satOpen); got != tc.gap {
			t.Errorf("%s 09:00 to %s 09:00 = %v, want %v", tc.saturday, tc.sunday, got, tc.gap)
		}
		sunClose := local(t, loc, tc.sunday+" 17:00:00")
		if !h.IsOpen(sunClose.Add(-time.Second)) || h.IsOpen(sunClose) {
			t.Errorf("%s: not closing at 17:00 local", tc.sunday)
		}
	}
}

func TestAlwaysOpen(t *testing.T) {
	h := compileHours(t, routing.HoursSpec{})
	at := time.Date(2026, 12, 25, 3, 0, 0, 0, time.UTC)
	if !h.IsOpen(at) {
		t.Fatal("zero spec is not open")
	}
	if next, ok := h.NextOpen(at); !ok || !next.Equal(at) {
		t.Fatal("zero spec NextOpen")
	}
	if _, ok := h.NextClose(at); ok {
		t.Fatal("zero spec closes")
	}
}

func TestHoursErrorsNameKeys(t *testing.T) {
	_, err := routing.CompileHours(routing.HoursSpec{
		Timezone: "Mars/Base",
		Weekly: map[string][]string{
			"mon":    {"09:00-13:00", "14:00-1800"},
			"tue":    {"09:00-09:00"},
			"wed":    {"24:00-02:00"},
			"funday": {"09:00-10:00"},
		},
		Special: []routing.SpecialDay{
			{Date: "2026-13-01", Closed: true},
			{Date: "2026-12-25", Closed: true, Hours: []string{"09:00-10:00"}},
			{Date: "2026-12-31"},
		},
	}, "opening_hours")
	if err == nil {
		t.Fatal("invalid spec accepted")
	}
	for _, want := range []string{
		`timezone: unknown time zone "Mars/Base"`,
		`opening_hours.weekly.mon[1]: "14:00-1800" is not HH:MM-HH:MM`,
		`opening_hours.weekly.tue[0]: "09:00-09:00" is empty`,
		`opening_hours.weekly.wed[0]`,
		`opening_hours.weekly.funday: not a weekday`,
		`opening_hours.special[0].date`,
		`opening_hours.special[1]: closed: true and hours cannot go together`,
		`opening_hours.special[2]: needs closed: true or hours`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Interval bounds inside a daylight-saving change, in both hemispheres: a
// bound in a spring-forward gap is the instant the wall clock passes it
// (the jump), a bound in the repeated hour of a fall-back is its first
// occurrence. Instants are in UTC so they are unambiguous.
func TestBoundsInsideDaylightSavingChanges(t *testing.T) {
	for _, tc := range []struct {
		name, zone, day, interval string
		open, close               string // UTC
	}{
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"NY end in gap", "America/New_York", "sat", "22:00-02:00", "2026-03-08 03:00:00", "2026-03-08 07:00:00"},
		{"NY start in gap", "America/New_York", "sun", "02:30-05:00", "2026-03-08 07:00:00", "2026-03-08 09:00:00"},
		{"NY end in repeated hour", "America/New_York", "sat", "22:00-01:30", "2026-11-01 02:00:00", "2026-11-01 05:30:00"},
		{"NY start in repeated hour", "America/New_York", "sun", "01:30-04:00", "2026-11-01 05:30:00", "2026-11-01 09:00:00"},
		// Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
		{"Berlin end in gap", "Europe/Berlin", "sat", "20:00-02:30", "2026-03-28 19:00:00", "2026-03-29 01:00:00"},
		{"Berlin start in gap", "Europe/Berlin", "sun", "02:00-06:00", "2026-03-29 01:00:00", "2026-03-29 04:00:00"},
		{"Berlin end in repeated hour", "Europe/Berlin", "sat", "22:00-02:30", "2026-10-24 20:00:00", "2026-10-25 00:30:00"},
		{"Berlin start in repeated hour", "Europe/Berlin", "sun", "02:15-09:00", "2026-10-25 00:15:00", "2026-10-25 08:00:00"},
		// London: 2026-03-29 01:00 GMT -> 02:00 BST.
		{"London start in gap", "Europe/London", "sun", "01:30-03:00", "2026-03-29 01:00:00", "2026-03-29 02:00:00"},
		// Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00 AEDT.
		{"Sydney end in gap", "Australia/Sydney", "sat", "22:00-02:30", "2026-10-03 12:00:00", "2026-10-03 16:00:00"},
		{"Sydney start in repeated hour", "Australia/Sydney", "sun", "02:30-08:00", "2026-04-04 15:30:00", "2026-04-04 22:00:00"},
		// São Paulo, when it had summer time: 2018-11-04 00:00 -03 -> 01:00 -02
		// (midnight skipped); 2019-02-17 00:00 -02 -> 2019-02-16 23:00 -03.
		{"Sao Paulo start at skipped midnight", "America/Sao_Paulo", "sun", "00:00-04:00", "2018-11-04 03:00:00", "2018-11-04 06:00:00"},
		{"Sao Paulo end at skipped midnight", "America/Sao_Paulo", "sat", "20:00-24:00", "2018-11-03 23:00:00", "2018-11-04 03:00:00"},
		{"Sao Paulo start in repeated hour", "America/Sao_Paulo", "sat", "23:30-02:00", "2019-02-17 01:30:00", "2019-02-17 05:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := compileHours(t, routing.HoursSpec{Timezone: tc.zone, Weekly: map[string][]string{tc.day: {tc.interval}}})
			open, closeAt := local(t, time.UTC, tc.open), local(t, time.UTC, tc.close)
			if next, ok := h.NextOpen(open.Add(-6 * time.Hour)); !ok || !next.Equal(open) {
				t.Errorf("NextOpen = %v, want %v", next.UTC(), open)
			}
			if end, ok := h.NextClose(open); !ok || !end.Equal(closeAt) {
				t.Errorf("NextClose = %v, want %v", end.UTC(), closeAt)
			}
			if h.IsOpen(open.Add(-time.Second)) || !h.IsOpen(open) || !h.IsOpen(closeAt.Add(-time.Second)) || h.IsOpen(closeAt) {
				t.Errorf("IsOpen around [%v, %v) is wrong", open, closeAt)
			}
			if start, ok := h.ClosedPeriodStart(closeAt); !ok || !start.Equal(closeAt) {
				t.Errorf("ClosedPeriodStart(close) = %v, want %v", start.UTC(), closeAt)
			}
		})
	}
}
