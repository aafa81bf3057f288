// Package reports answers conversation reports: over a range of dates in
// the settings' timezone and a filter, the conversations opened, their
// first-response and resolution times and how many reopened within 24
// hours, in total and by day or hour; and the same conversations one row
// each, as CSV or XLSX written while the database's rows are read, so an
// export of a year never sits in memory.
package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxDays is the longest range a report covers.
const MaxDays = 366

// Filter selects the conversations of a report: those opened in [From,
// To) matching every field set. Zero fields do not filter.
type Filter struct {
	// From and To bound the opening time, From included, To not.
	From, To  time.Time
	Channel   string
	QueryType string
	// Operator is who handled it: the last operator it was assigned to.
	Operator string
	// Group is an agent group's id: conversations its members handled.
	Group string
	// Resolution is the reason it was closed with.
	Resolution string
	// OutOfHours, when not nil, keeps the conversations opened out of
	// hours (true) or in hours (false).
	OutOfHours *bool
	// Tag keeps the conversations carrying this tag now.
	Tag string
}

// Row is one conversation of a report.
type Row struct {
	ID        string
	OpenedAt  time.Time
	ClosedAt  time.Time // zero while open
	Channel   string
	QueryType string
	// Assignee is who handled it (Filter.Operator), "" if nobody did.
	Assignee   string
	Resolution string
	// FirstResponseAt is when a person first answered (auto-replies do
	// not count); zero if nobody has.
	FirstResponseAt time.Time
	// Reopened says it was opened within 24 hours of its contact's
	// previous conversation closing.
	Reopened   bool
	OutOfHours bool
	// CSATRequested says it was surveyed on its close; CSATScore is the
	// customer's rating, 1 to 5, or 0 while unanswered.
	CSATRequested bool
	CSATScore     int
}

// FirstResponse is the time from opening to the first response in whole
// seconds, rounded down; false without a response.
func (r *Row) FirstResponse() (int64, bool) {
	if r.FirstResponseAt.IsZero() {
		return 0, false
	}
	return seconds(r.OpenedAt, r.FirstResponseAt), true
}

// ResolutionTime is the time from opening to closing in whole seconds,
// rounded down; false while open.
func (r *Row) ResolutionTime() (int64, bool) {
	if r.ClosedAt.IsZero() {
		return 0, false
	}
	return seconds(r.OpenedAt, r.ClosedAt), true
}

func seconds(from, to time.Time) int64 { return max(0, int64(to.Sub(from)/time.Second)) }

// Source reads the conversations of a report: the system of record.
type Source interface {
	// ReportRows calls fn with each conversation f selects, oldest
	// opening first (ties by id), while reading them: the Row is reused
	// between calls. An error of fn stops the reading and is returned.
	// A failure to start the reading is returned before any call.
	ReportRows(ctx context.Context, f Filter, fn func(*Row) error) error
}

// ErrInvalid wraps the errors of ParseRange and ParseGroupBy; the error
// names the parameter.
var ErrInvalid = errors.New("invalid report parameter")

// ParamError is an invalid parameter of a report.
type ParamError struct {
	Param, Reason string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Reason }

// Unwrap makes a ParamError an ErrInvalid.
func (e *ParamError) Unwrap() error { return ErrInvalid }

// ParseRange reads a report's dates, YYYY-MM-DD, both included, in loc:
// the range [from's midnight, the midnight after to) there. to before
// from, or a range of more than MaxDays days, is refused.
func ParseRange(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return time.Time{}, time.Time{}, &ParamError{"from", "want a date as YYYY-MM-DD"}
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return time.Time{}, time.Time{}, &ParamError{"to", "want a date as YYYY-MM-DD"}
	}
	if t.Before(f) {
		return time.Time{}, time.Time{}, &ParamError{"to", "is before from"}
	}
	end := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	if days := daysBetween(f, end); days > MaxDays {
		return time.Time{}, time.Time{}, &ParamError{"to", fmt.Sprintf("the range is %d days; at most %d", days, MaxDays)}
	}
	return f, end, nil
}

// daysBetween counts the calendar days from midnight a to midnight b.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

// Bucket sizes.
const (
	ByDay  = "day"
	ByHour = "hour"
)

// ParseGroupBy checks group_by: "", day or hour.
func ParseGroupBy(s string) (string, error) {
	switch s {
	case "", ByDay, ByHour:
		return s, nil
	}
	return "", &ParamError{"group_by", "want day or hour"}
}

// Times sums up durations in seconds.
type Times struct {
	// Count is how many conversations have one.
	Count int `json:"count"`
	// MedianSeconds is the middle value (the mean of the two middle ones
	// for an even count); AverageSeconds the mean. null when Count is 0.
	MedianSeconds  *float64 `json:"median_seconds"`
	AverageSeconds *float64 `json:"average_seconds"`
}

// Stats are a report's figures over some conversations.
type Stats struct {
	// Volume counts the conversations opened.
	Volume int `json:"volume"`
	// FirstResponse is from opening to a person's first answer, over the
	// conversations answered.
	FirstResponse Times `json:"first_response"`
	// Resolution is from opening to closing, over those closed.
	Resolution Times `json:"resolution"`
	// Reopened counts those opened within 24 hours of their contact's
	// previous conversation closing.
	Reopened int `json:"reopened_within_24h"`
}

// Bucket is the figures of one local day or hour.
type Bucket struct {
	// Start is the bucket's start, in the report's timezone.
	Start time.Time `json:"start"`
	Stats
}

// Summary is a report in figures.
type Summary struct {
	Totals Stats `json:"totals"`
	// Buckets are every day or hour of the range, oldest first, empty
	// ones included; none unless grouped.
	Buckets []Bucket `json:"buckets,omitempty"`
	// CSAT is the satisfaction survey's figures, in total, per operator
	// and per query type.
	CSAT CSATReport `json:"csat"`
}

// acc accumulates Stats. Medians need every value: two int32s a
// conversation (seconds, 68 years at most) are kept until the end.
type acc struct {
	volume, reopened int
	first, res       []int32
}

func (a *acc) add(r *Row) {
	a.volume++
	if r.Reopened {
		a.reopened++
	}
	if s, ok := r.FirstResponse(); ok {
		a.first = append(a.first, int32(min(s, 1<<31-1)))
	}
	if s, ok := r.ResolutionTime(); ok {
		a.res = append(a.res, int32(min(s, 1<<31-1)))
	}
}

func (a *acc) stats() Stats {
	return Stats{Volume: a.volume, Reopened: a.reopened, FirstResponse: times(a.first), Resolution: times(a.res)}
}

// times sorts vs and sums them up.
func times(vs []int32) Times {
	t := Times{Count: len(vs)}
	if len(vs) == 0 {
		return t
	}
	slices.Sort(vs)
	var sum float64
	for _, v := range vs {
		sum += float64(v)
	}
	n := len(vs)
	med := float64(vs[n/2])
	if n%2 == 0 {
		med = (float64(vs[n/2-1]) + float64(vs[n/2])) / 2
	}
	avg := sum / float64(n)
	t.MedianSeconds, t.AverageSeconds = &med, &avg
	return t
}

// bucketStart is the start of the local day or hour t falls in.
func bucketStart(t time.Time, by string, loc *time.Location) time.Time {
	l := t.In(loc)
	if by == ByDay {
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
	// The local hour's start in absolute time, so the two 01:00 hours of
	// a night that turns the clocks back are two buckets, and a zone
	// half an hour off UTC gets its own hours.
	return l.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
}

// nextBucket is the start of the bucket after the one starting at s.
func nextBucket(s time.Time, by string, loc *time.Location) time.Time {
	if by == ByDay {
		return time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, loc)
	}
	return bucketStart(s.Add(time.Hour), ByHour, loc)
}

// Summarize reads the conversations f selects and sums them up, in total
// and, when by is ByDay or ByHour, by each local day or hour of f's
// range in loc.
func Summarize(ctx context.Context, src Source, f Filter, by string, loc *time.Location) (*Summary, error) {
	var total acc
	csat := newCSATReport()
	var starts []time.Time
	var buckets []acc
	if by != "" {
		for s := bucketStart(f.From, by, loc); s.Before(f.To); s = nextBucket(s, by, loc) {
			starts = append(starts, s)
		}
		buckets = make([]acc, len(starts))
	}
	i := 0
	err := src.ReportRows(ctx, f, func(r *Row) error {
		total.add(r)
		csat.add(r)
		if by == "" {
			return nil
		}
		// Rows come in opening order: the bucket only moves forward.
		for i+1 < len(starts) && !r.OpenedAt.Before(starts[i+1]) {
			i++
		}
		buckets[i].add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Summary{Totals: total.stats(), CSAT: csat.report()}
	for j, s := range starts {
		out.Buckets = append(out.Buckets, Bucket{Start: s, Stats: buckets[j].stats()})
	}
	return out, nil
}
