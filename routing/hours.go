package routing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// HoursSpec is opening hours as configured: a timezone, a weekly plan of
// "HH:MM-HH:MM" intervals by weekday (mon..sun), and special dates that
// replace the weekly plan for one local date. The zero HoursSpec means
// open all the time.
type HoursSpec struct {
	Timezone string
	Weekly   map[string][]string
	Special  []SpecialDay
}

// SpecialDay replaces the weekly plan on Date (YYYY-MM-DD, local): closed
// all day, or open during Hours instead.
type SpecialDay struct {
	Date   string
	Closed bool
	Hours  []string
}

// Hours answers "is service open at t?" and "when does it next open?".
//
// Intervals are [start, end) in local wall-clock time and belong to the
// date they start on: "22:00-02:00" on Saturday runs into Sunday, and a
// special date replaces the intervals that start on it (so Saturday's
// night shift still runs into a closed Sunday). Times are built from
// local wall-clock time, so 09:00 is 09:00 local on both sides of a
// daylight-saving change. A start or end inside a spring-forward gap is
// the instant the clock jumps past it, and one inside the repeated hour of
// a fall-back change is its first occurrence.
type Hours struct {
	loc     *time.Location
	always  bool
	weekly  [7][]clockInterval // by time.Weekday
	special map[string][]clockInterval
}

// clockInterval is minutes after local midnight; end <= start crosses midnight.
type clockInterval struct{ start, end int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// AlwaysOpen returns hours that never close.
func AlwaysOpen() *Hours { return &Hours{loc: time.UTC, always: true} }

// horizon bounds searches for the next opening or closing.
const horizon = 15 * 24 * time.Hour

// CompileHours validates spec and compiles it. Every error names its key:
// the timezone's is "timezone", the plan's are under key, the settings key
// the plan was written at ("opening_hours", or a query type's
// "query_types[1].opening_hours").
func CompileHours(spec HoursSpec, key string) (*Hours, error) {
	if spec.Timezone == "" && len(spec.Weekly) == 0 && len(spec.Special) == 0 {
		return AlwaysOpen(), nil
	}
	var errs []error
	h := &Hours{special: map[string][]clockInterval{}}
	loc, err := time.LoadLocation(spec.Timezone)
	if err != nil || spec.Timezone == "" {
		errs = append(errs, fmt.Errorf("timezone: unknown time zone %q", spec.Timezone))
		loc = time.UTC
	}
	h.loc = loc
	if len(spec.Weekly) == 0 && len(spec.Special) == 0 {
		h.always = true
	}
	for _, day := range slices.Sorted(mapsKeys(spec.Weekly)) {
		wd, ok := weekdays[day]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.weekly.%s: not a weekday (mon, tue, wed, thu, fri, sat, sun)", key, day))
			continue
		}
		ivs, err := parseIntervals(spec.Weekly[day], key+".weekly."+day)
		errs = append(errs, err)
		h.weekly[wd] = ivs
	}
	for i, sd := range spec.Special {
		key := fmt.Sprintf("%s.special[%d]", key, i)
		d, err := time.ParseInLocation("2006-01-02", sd.Date, loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.date: want YYYY-MM-DD, got %q", key, sd.Date))
			continue
		}
		date := d.Format("2006-01-02")
		if _, dup := h.special[date]; dup {
			errs = append(errs, fmt.Errorf("%s.date: %s is listed twice", key, date))
		}
		switch {
		case sd.Closed && len(sd.Hours) > 0:
			errs = append(errs, fmt.Errorf("%s: closed: true and hours cannot go together", key))
		case !sd.Closed && len(sd.Hours) == 0:
			errs = append(errs, fmt.Errorf("%s: needs closed: true or hours", key))
		}
		ivs, err := parseIntervals(sd.Hours, key+".hours")
		errs = append(errs, err)
		h.special[date] = ivs // empty: closed all day
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return h, nil
}

func mapsKeys(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func parseIntervals(specs []string, key string) ([]clockInterval, error) {
	var out []clockInterval
	var errs []error
	for i, s := range specs {
		iv, err := parseInterval(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", key, i, err))
			continue
		}
		out = append(out, iv)
	}
	return out, errors.Join(errs...)
}

func parseInterval(s string) (clockInterval, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return clockInterval{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	start, err1 := parseClock(a, false)
	end, err2 := parseClock(b, true)
	if err1 != nil || err2 != nil {
		return clockInterval{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	if start == end {
		return clockInterval{}, fmt.Errorf("%q is empty: start and end are equal", s)
	}
	return clockInterval{start, end}, nil
}

// parseClock reads HH:MM as minutes; "24:00" is allowed only as an end.
func parseClock(s string, isEnd bool) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("bad clock")
	}
	var hh, mm int
	if _, err := fmt.Sscanf(s, "%02d:%02d", &hh, &mm); err != nil {
		return 0, err
	}
	if hh == 24 && mm == 0 && isEnd {
		return 24 * 60, nil
	}
	if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, errors.New("bad clock")
	}
	return hh*60 + mm, nil
}

// wallClock is the first instant at which the local wall clock reads at
// least minutes after midnight of the given date: an interval bound inside
// a spring-forward gap is the instant the clock jumps past it (an end of
// 02:00 in a 02:00-03:00 gap closes at 03:00, not an hour early), and one
// in a repeated fall-back hour is its first occurrence. time.Date leaves
// both cases unspecified.
func (h *Hours) wallClock(y int, m time.Month, d, minutes int) time.Time {
	want := time.Date(y, m, d, 0, minutes, 0, 0, time.UTC) // the wall clock, as if it were UTC
	guess := time.Date(y, m, d, 0, minutes, 0, 0, h.loc)
	// The offsets on either side of any change near the bound; a day
	// away is past any change within it.
	_, before := guess.Add(-24 * time.Hour).Zone()
	_, after := guess.Add(24 * time.Hour).Zone()
	var first time.Time
	for _, off := range []int{before, after} {
		c := want.Add(-time.Duration(off) * time.Second).In(h.loc)
		if _, o := c.Zone(); o == off && (first.IsZero() || c.Before(first)) {
			first = c // the wall clock does read the bound at c
		}
	}
	if !first.IsZero() {
		return first
	}
	// In a gap: read with the offset before the change, the bound falls
	// after it, in the zone the change started; the change is the answer.
	start, _ := want.Add(-time.Duration(before) * time.Second).In(h.loc).ZoneBounds()
	return start
}

// Location is the zone the hours are in, for showing times to customers.
func (h *Hours) Location() *time.Location { return h.loc }

// span is a concrete open period.
type span struct{ start, end time.Time }

// spans returns the merged open periods that start on the local dates from
// from-2 days to from+horizon, in order.
func (h *Hours) spans(from time.Time) []span {
	local := from.In(h.loc)
	y, m, d := local.Date()
	var out []span
	for day := -2; day <= int(horizon/(24*time.Hour)); day++ {
		// A calendar date, not an instant: in UTC, midnight always
		// exists (in some zones a change skips local midnight).
		date := time.Date(y, m, d+day, 0, 0, 0, 0, time.UTC)
		ivs, special := h.special[date.Format("2006-01-02")]
		if !special {
			ivs = h.weekly[date.Weekday()]
		}
		dy, dm, dd := date.Date()
		for _, iv := range ivs {
			start := h.wallClock(dy, dm, dd, iv.start)
			endDay := dd
			if iv.end <= iv.start {
				endDay++ // crosses midnight
			}
			end := h.wallClock(dy, dm, endDay, iv.end)
			if end.After(start) {
				out = append(out, span{start, end})
			}
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.start.Compare(b.start) })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && !s.start.After(merged[n-1].end) {
			if s.end.After(merged[n-1].end) {
				merged[n-1].end = s.end
			}
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// IsOpen reports whether service is open at t.
func (h *Hours) IsOpen(t time.Time) bool {
	if h.always {
		return true
	}
	for _, s := range h.spans(t) {
		if !t.Before(s.start) && t.Before(s.end) {
			return true
		}
	}
	return false
}

// NextOpen returns the first instant at or after t when service is open
// (t itself when open), or false if it does not open within 15 days.
func (h *Hours) NextOpen(t time.Time) (time.Time, bool) {
	if h.always {
		return t, true
	}
	for _, s := range h.spans(t) {
		if t.Before(s.end) {
			if t.Before(s.start) {
				return s.start, true
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// NextClose returns when the open period containing t ends, or false when t
// is closed or service never closes within 15 days.
func (h *Hours) NextClose(t time.Time) (time.Time, bool) {
	if h.always {
		return time.Time{}, false
	}
	for _, s := range h.spans(t) {
		if !t.Before(s.start) && t.Before(s.end) {
			return s.end, true
		}
	}
	return time.Time{}, false
}

// ClosedPeriodStart returns when the closed period containing t began (the
// last closing before t). It names "this closed period", so the
// out-of-hours reply goes once per period. It is false when t is open, and
// when no closing is known within the two days before t (a long closure):
// then the start of t's local day stands in, which still gives one reply a
// day.
func (h *Hours) ClosedPeriodStart(t time.Time) (time.Time, bool) {
	if h.IsOpen(t) {
		return time.Time{}, false
	}
	var last time.Time
	for _, s := range h.spans(t) {
		if s.end.After(t) {
			break
		}
		last = s.end
	}
	if last.IsZero() {
		y, m, d := t.In(h.loc).Date()
		return h.wallClock(y, m, d, 0), true
	}
	return last, true
}
