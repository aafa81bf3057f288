package reports

import (
	"context"
	"errors"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseRange(t *testing.T) {
	sp := mustLoad(t, "America/Sao_Paulo")
	from, to, err := ParseRange("2026-11-01", "2026-11-30", sp)
	if err != nil || !from.Equal(time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)) {
		t.Fatalf("November in São Paulo = [%s, %s) %v", from, to, err)
	}
	for _, tc := range []struct{ from, to, param string }{
		{"", "2026-11-30", "from"},
		{"2026-11-01", "", "to"},
		{"2026-02-29", "2026-03-01", "from"}, // 2026 is not a leap year
		{"2026-11-02", "2026-11-01", "to"},
		{"2025-11-29", "2026-11-30", "to"},
	} {
		_, _, err := ParseRange(tc.from, tc.to, sp)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRange(%q, %q) = %v, want an error naming %s", tc.from, tc.to, err, tc.param)
		}
	}
	// 366 days are allowed, wherever they fall.
	for _, r := range [][2]string{{"2028-01-01", "2028-12-31"}, {"2025-11-30", "2026-11-30"}} {
		if _, _, err := ParseRange(r[0], r[1], sp); err != nil {
			t.Errorf("ParseRange(%s, %s): %v", r[0], r[1], err)
		}
	}
}

// rows is a Source of fixed rows, in opening order.
type rows []Row

func (rs rows) ReportRows(_ context.Context, f Filter, fn func(*Row) error) error {
	for i := range rs {
		if !rs[i].OpenedAt.Before(f.From) && rs[i].OpenedAt.Before(f.To) {
			if err := fn(&rs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Hours are the local clock's, whatever the zone does: the night Berlin
// turns its clocks back has 25 hours, two of them starting at 02:00 local,
// and each is a bucket; a day in Kolkata (UTC+5:30) starts at its own
// midnight.
func TestBucketsFollowTheLocalClock(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	from, to, _ := ParseRange("2026-10-25", "2026-10-25", berlin)
	first02 := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) // 02:30 CEST
	second02 := first02.Add(time.Hour)                        // 02:30 CET
	src := rows{{ID: "a", OpenedAt: first02, FirstResponseAt: first02.Add(10 * time.Second)}, {ID: "b", OpenedAt: second02}}
	s, err := Summarize(context.Background(), src, Filter{From: from, To: to}, ByHour, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Buckets) != 25 {
		t.Fatalf("%d hours on the night the clocks go back, want 25", len(s.Buckets))
	}
	if s.Buckets[2].Volume != 1 || s.Buckets[3].Volume != 1 || s.Buckets[2].Start.In(berlin).Hour() != 2 || s.Buckets[3].Start.In(berlin).Hour() != 2 {
		t.Errorf("the two 02:00 hours: %+v %+v", s.Buckets[2], s.Buckets[3])
	}
	if s.Totals.Volume != 2 || s.Totals.FirstResponse.Count != 1 || *s.Totals.FirstResponse.MedianSeconds != 10 {
		t.Errorf("totals %+v", s.Totals)
	}

	kolkata := mustLoad(t, "Asia/Kolkata")
	from, to, _ = ParseRange("2026-11-01", "2026-11-02", kolkata)
	src = rows{{ID: "late", OpenedAt: time.Date(2026, 11, 1, 18, 29, 59, 0, time.UTC)}, {ID: "next", OpenedAt: time.Date(2026, 11, 1, 18, 30, 0, 0, time.UTC)}}
	s, err = Summarize(context.Background(), src, Filter{From: from, To: to}, ByDay, kolkata)
	if err != nil || len(s.Buckets) != 2 || s.Buckets[0].Volume != 1 || s.Buckets[1].Volume != 1 {
		t.Fatalf("days in Kolkata: %+v %v", s, err)
	}
	if got := s.Buckets[1].Start.In(kolkata).Format(time.RFC3339); got != "2026-11-02T00:00:00+05:30" {
		t.Errorf("the second day starts %s", got)
	}
}

func TestMedians(t *testing.T) {
	for _, tc := range []struct {
		vs          []int32
		median, avg float64
	}{
		{[]int32{5}, 5, 5},
		{[]int32{9, 1, 5}, 5, 5},
		{[]int32{1, 2, 3, 10}, 2.5, 4},
	} {
		got := times(tc.vs)
		if got.Count != len(tc.vs) || *got.MedianSeconds != tc.median || *got.AverageSeconds != tc.avg {
			t.Errorf("times(%v) = %d, %v, %v", tc.vs, got.Count, *got.MedianSeconds, *got.AverageSeconds)
		}
	}
	if got := times(nil); got.Count != 0 || got.MedianSeconds != nil || got.AverageSeconds != nil {
		t.Errorf("times(nil) = %+v", got)
	}
}
