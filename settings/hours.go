package settings

import (
	"fmt"
	"time"

	"switchboard/routing"
	"switchboard/templates"
)

// typeHours compiles each query type's own opening hours onto its
// routing type in s, by the rules OpeningHours states: a part the type
// leaves out stays the document's (routing.Settings.ScheduleFor reads it
// there), and a type's plan is in the document's timezone. Errors are
// named by key ("query_types[1].opening_hours.weekly.mon[0]: ..."); a bad
// or missing timezone is reported once, under "timezone".
func typeHours(doc *Document, s *routing.Settings, texts *templates.Set) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	tz := doc.Timezone
	if _, err := time.LoadLocation(tz); err != nil {
		tz = "UTC" // the document's own hours report it
	}
	for i, qt := range doc.QueryTypes {
		oh := qt.OpeningHours
		t := s.Type(qt.ID)
		if oh == nil || t == nil {
			continue
		}
		key := fmt.Sprintf("query_types[%d].opening_hours", i)
		if len(oh.Weekly) > 0 || len(oh.Special) > 0 {
			if doc.Timezone == "" {
				bad("timezone", "required with %s", key)
				tz = "UTC"
			}
			spec := routing.HoursSpec{Timezone: tz, Weekly: oh.Weekly}
			for _, sd := range oh.Special {
				spec.Special = append(spec.Special, routing.SpecialDay{Date: sd.Date, Closed: sd.Closed, Hours: sd.Hours})
			}
			h, err := routing.CompileHours(spec, key)
			if err != nil {
				errs = append(errs, err)
			}
			t.Hours = h
		}
		if r := oh.OutOfHours.Reply; r != nil {
			if *r != "" && !texts.Has(*r) {
				bad(key+".out_of_hours.reply", "no template has id %q", *r)
			}
			reply := *r
			t.OutOfHoursReply = &reply
		}
		if q := oh.OutOfHours.QueueUntilOpen; q != nil {
			queue := *q
			t.QueueUntilOpen = &queue
		}
	}
	return errs
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
