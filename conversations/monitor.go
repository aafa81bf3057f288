package conversations

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ClosedQuery is a conversation that closed while assigned to Operator.
type ClosedQuery struct {
	ID       string
	Operator string
	// OpenedAt is when the conversation opened (its first message was
	// recorded); FirstResponseAt when a person's first outbound message
	// was recorded (zero if none was); ClosedAt when it closed.
	OpenedAt        time.Time
	FirstResponseAt time.Time
	ClosedAt        time.Time
}

// WaitingQuery is an assigned conversation whose customer waits for an
// answer: Since is their first message after the newest outbound one.
type WaitingQuery struct {
	ID       string
	Operator string
	Since    time.Time
}

// PoolStats are a query type's pool: how many conversations wait in it,
// and since when the longest-waiting one does.
type PoolStats struct {
	Size   int
	Oldest time.Time
}

// MissedCount is how many targets of the conversations of one query type
// that Operator holds, or last held, were recorded missed: a
// conversation that missed both its first response and its resolution
// counts twice, once per kind.
type MissedCount struct {
	Operator  string
	QueryType string
	Count     int
}

// RatedSum is the survey answers of the conversations of one query type
// that Operator closed: how many, and the sum of their scores.
type RatedSum struct {
	Operator  string
	QueryType string
	Answered  int
	Sum       int
}

// CSATToday is the survey answers stored today: how many, and their mean
// score (nil for none).
type CSATToday struct {
	Answered int
	Average  *float64
}

// today is the CSATToday of r's answers.
func (r RatedSum) today() CSATToday {
	c := CSATToday{Answered: r.Answered}
	if r.Answered > 0 {
		avg := float64(r.Sum) / float64(r.Answered)
		c.Average = &avg
	}
	return c
}

// plus is r with o's answers added.
func (r RatedSum) plus(o RatedSum) RatedSum {
	r.Answered, r.Sum = r.Answered+o.Answered, r.Sum+o.Sum
	return r
}

// Monitored is an operator the monitoring table shows, with their capacity.
type Monitored struct {
	ID       string
	Capacity int
}

// OperatorToday is one operator's row of the monitoring table.
type OperatorToday struct {
	ID       string
	Presence string
	Assigned int
	Capacity int
	// Handled counts the conversations that closed today while assigned
	// to them.
	Handled int
	// MedianFirstResponse is the median, over the handled conversations
	// a person answered, of the time from opening to the first answer;
	// MedianResolution the median over all handled ones of the time from
	// opening to closing. Nil when there is none to take it over.
	MedianFirstResponse *time.Duration
	MedianResolution    *time.Duration
	// LongestWaiting is their assigned conversation whose customer has
	// waited longest for an answer; nil when no customer waits.
	LongestWaiting *WaitingQuery
	// TargetsMissed counts the targets recorded missed today of the
	// conversations they hold or last held (see MissedCount); CSAT the
	// survey answers stored today of conversations they closed.
	TargetsMissed int
	CSAT          CSATToday
}

// PoolToday is one query type's row of the monitoring table.
type PoolToday struct {
	QueryType string
	Size      int
	// Oldest is when the longest-waiting conversation entered the pool;
	// zero for an empty pool.
	Oldest time.Time
	// TargetsMissed and CSAT are the operators' figures of the same
	// name over every conversation of the type, held by anyone or by
	// nobody.
	TargetsMissed int
	CSAT          CSATToday
}

// Monitor is the monitoring table at Now; "today" began at Since, the
// last midnight in the settings' timezone.
type Monitor struct {
	Now       time.Time
	Since     time.Time
	Operators []OperatorToday
	Pools     []PoolToday
}

// Monitor builds the monitoring table for operators and the query types
// types (every type with a non-empty pool is added), with "today"
// beginning at the last midnight in loc.
func (s *Service) Monitor(ctx context.Context, operators []Monitored, types []string, loc *time.Location) (Monitor, error) {
	now := s.clock.Now()
	local := now.In(loc)
	m := Monitor{Now: now.UTC(), Since: time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).UTC()}
	ids := make([]string, len(operators))
	for i, o := range operators {
		ids[i] = o.ID
	}
	roster, err := s.roster(ctx, ids)
	if err != nil {
		return Monitor{}, err
	}
	closed, err := s.repo.Closed(ctx, ids, m.Since)
	if err != nil {
		return Monitor{}, err
	}
	waiting, err := s.repo.Waiting(ctx, ids)
	if err != nil {
		return Monitor{}, err
	}
	pools, err := s.repo.Pools(ctx)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: %w", err)
	}
	missed, err := s.repo.TargetsMissed(ctx, m.Since)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: %w", err)
	}
	rated, err := s.repo.Rated(ctx, m.Since)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor: %w", err)
	}
	missedBy, missedOf := map[string]int{}, map[string]int{}
	for _, c := range missed {
		missedBy[c.Operator] += c.Count
		missedOf[c.QueryType] += c.Count
	}
	ratedBy, ratedOf := map[string]RatedSum{}, map[string]RatedSum{}
	for _, r := range rated {
		ratedBy[r.Operator] = ratedBy[r.Operator].plus(r)
		ratedOf[r.QueryType] = ratedOf[r.QueryType].plus(r)
	}
	first, resolution := map[string][]time.Duration{}, map[string][]time.Duration{}
	handled := map[string]int{}
	for _, q := range closed {
		handled[q.Operator]++
		resolution[q.Operator] = append(resolution[q.Operator], q.ClosedAt.Sub(q.OpenedAt))
		if !q.FirstResponseAt.IsZero() {
			first[q.Operator] = append(first[q.Operator], q.FirstResponseAt.Sub(q.OpenedAt))
		}
	}
	longest := map[string]*WaitingQuery{}
	for _, w := range waiting {
		if l := longest[w.Operator]; l == nil || w.Since.Before(l.Since) || (w.Since.Equal(l.Since) && w.ID < l.ID) {
			longest[w.Operator] = &w
		}
	}
	for _, o := range operators {
		st := roster[o.ID]
		m.Operators = append(m.Operators, OperatorToday{ID: o.ID, Presence: st.Presence, Assigned: st.Load, Capacity: o.Capacity,
			Handled: handled[o.ID], MedianFirstResponse: median(first[o.ID]), MedianResolution: median(resolution[o.ID]),
			LongestWaiting: longest[o.ID], TargetsMissed: missedBy[o.ID], CSAT: ratedBy[o.ID].today()})
	}
	// The settings' types in their order, then any other type that has
	// a pool (one removed from the settings), by name.
	var extra []string
	for t := range pools {
		if !slices.Contains(types, t) {
			extra = append(extra, t)
		}
	}
	slices.Sort(extra)
	for _, t := range slices.Concat(types, extra) {
		p := pools[t]
		m.Pools = append(m.Pools, PoolToday{QueryType: t, Size: p.Size, Oldest: p.Oldest, TargetsMissed: missedOf[t],
			CSAT: ratedOf[t].today()})
	}
	return m, nil
}

// median is the middle of ds once sorted, the mean of the two middle
// ones for an even count; nil for none.
func median(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	n := len(ds)
	m := ds[n/2]
	if n%2 == 0 {
		m = (ds[n/2-1] + ds[n/2]) / 2
	}
	return &m
}
