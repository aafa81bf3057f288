package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/reports"
)

// Report formats.
const (
	formatJSON = "json"
	formatCSV  = "csv"
	formatXLSX = "xlsx"
	mimeCSV    = "text/csv"
	mimeXLSX   = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

func (a *API) registerReports(authed *echo.Group) {
	authed.GET("/reports/conversations", a.conversationReport, a.require(auth.PermReports))
}

// reportLocation is the settings' timezone, reports' days and hours; UTC
// when none is set (or no settings are applied).
func (a *API) reportLocation(ctx context.Context) *time.Location {
	if a.conv == nil {
		return time.UTC
	}
	comp := a.settingsNow(ctx)
	if comp == nil || comp.Document.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(comp.Document.Timezone)
	if err != nil {
		return time.UTC // the settings were checked when applied
	}
	return loc
}

// reportRequest is GET /reports/conversations' parameters, checked.
type reportRequest struct {
	filter   reports.Filter
	loc      *time.Location
	format   string
	groupBy  string
	rows     bool
	from, to string
}

// parseReport reads and checks the parameters; the error names the one
// refused.
func (a *API) parseReport(c echo.Context) (*reportRequest, error) {
	q := c.QueryParams()
	r := &reportRequest{loc: a.reportLocation(c.Request().Context()), from: q.Get("from"), to: q.Get("to")}
	var err error
	if r.filter.From, r.filter.To, err = reports.ParseRange(r.from, r.to, r.loc); err != nil {
		return nil, err
	}
	r.format = q.Get("format")
	if r.format == "" {
		accept := c.Request().Header.Get("Accept")
		switch {
		case strings.Contains(accept, mimeCSV):
			r.format = formatCSV
		case strings.Contains(accept, mimeXLSX):
			r.format = formatXLSX
		default:
			r.format = formatJSON
		}
	}
	if r.format != formatJSON && r.format != formatCSV && r.format != formatXLSX {
		return nil, &reports.ParamError{Param: "format", Reason: "want json, csv or xlsx"}
	}
	if r.groupBy, err = reports.ParseGroupBy(q.Get("group_by")); err != nil {
		return nil, err
	}
	flag := func(name string) (*bool, error) {
		switch q.Get(name) {
		case "":
			return nil, nil
		case "1", "true":
			v := true
			return &v, nil
		case "0", "false":
			v := false
			return &v, nil
		}
		return nil, &reports.ParamError{Param: name, Reason: "want true or false"}
	}
	rows, err := flag("rows")
	if err != nil {
		return nil, err
	}
	r.rows = rows != nil && *rows
	if r.rows && r.groupBy != "" {
		return nil, &reports.ParamError{Param: "rows", Reason: "one row per conversation cannot be grouped: leave out group_by"}
	}
	if r.filter.OutOfHours, err = flag("out_of_hours"); err != nil {
		return nil, err
	}
	r.filter.Channel, r.filter.QueryType = q.Get("channel"), q.Get("query_type")
	r.filter.Operator, r.filter.Group, r.filter.Resolution = q.Get("operator"), q.Get("group"), q.Get("resolution")
	r.filter.Tag = q.Get("tag")
	return r, nil
}

// ConversationReport is GET /reports/conversations' JSON answer.
type ConversationReport struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Timezone string `json:"timezone"`
	GroupBy  string `json:"group_by,omitempty"`
	reports.Summary
}

// ReportRow is a conversation of GET /reports/conversations?rows=1: the
// export's columns.
type ReportRow struct {
	ID                   string     `json:"id"`
	OpenedAt             time.Time  `json:"opened_at"`
	ClosedAt             *time.Time `json:"closed_at"`
	Channel              string     `json:"channel"`
	QueryType            string     `json:"query_type"`
	Assignee             string     `json:"assignee"`
	Resolution           string     `json:"resolution"`
	FirstResponseSeconds *int64     `json:"first_response_seconds"`
	ResolutionSeconds    *int64     `json:"resolution_seconds"`
	Reopened             bool       `json:"reopened"`
	OutOfHours           bool       `json:"out_of_hours"`
	// CSATRequested says it was surveyed on its close; CSATScore is the
	// rating, null while unanswered.
	CSATRequested bool `json:"csat_requested"`
	CSATScore     *int `json:"csat_score"`
}

// conversationReport answers a report over the conversations opened
// from one date to another, both included, in the settings' timezone:
// its figures as JSON (in total, by day or by hour), or one row per
// conversation as JSON, CSV or XLSX, written as the rows are read.
func (a *API) conversationReport(c echo.Context) error {
	r, err := a.parseReport(c)
	if errors.Is(err, reports.ErrInvalid) {
		return bad(c, err.Error())
	}
	if err != nil {
		return a.internal(c, err)
	}
	switch {
	case r.format == formatCSV || r.format == formatXLSX:
		return a.exportReport(c, r)
	case r.rows:
		return a.reportRows(c, r)
	}
	sum, err := reports.Summarize(c.Request().Context(), a.reports, r.filter, r.groupBy, r.loc)
	if err != nil {
		return a.internal(c, err)
	}
	for i := range sum.Buckets {
		sum.Buckets[i].Start = sum.Buckets[i].Start.In(r.loc)
	}
	return c.JSON(http.StatusOK, ConversationReport{From: r.from, To: r.to, Timezone: r.loc.String(), GroupBy: r.groupBy, Summary: *sum})
}

// stream runs the report's reading: start at its first row (or at its
// end when there is none), row for each, end after the last. Until the
// response is committed a failure is answered as an error (a database
// that fails before any row: 5xx); after, it cuts the response short (the
// connection is dropped, so the client sees an incomplete download,
// never a complete-looking one).
func (a *API) stream(c echo.Context, r *reportRequest, start func() error, row func(*reports.Row) error, end func() error) error {
	started := false
	begin := func() error {
		if started {
			return nil
		}
		started = true
		return start()
	}
	err := a.reports.ReportRows(c.Request().Context(), r.filter, func(x *reports.Row) error {
		if err := begin(); err != nil {
			return err
		}
		return row(x)
	})
	if err == nil {
		if err = begin(); err == nil {
			err = end()
		}
	}
	if err == nil {
		return nil
	}
	if !c.Response().Committed {
		return a.internal(c, err)
	}
	if ctx := c.Request().Context(); ctx.Err() != nil {
		a.logger.InfoContext(ctx, "report download ended by the client", "route", c.Path(), "err", err)
	} else {
		a.logger.ErrorContext(ctx, "report cut short", "route", c.Path(), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// filename names an export by its range: conversations_2026-11-01_2026-11-30.csv.
func (r *reportRequest) filename() string {
	return "conversations_" + r.from + "_" + r.to + "." + r.format
}

// exportReport writes one row per conversation as CSV or XLSX. CSV goes
// out as it is written; XLSX (a zip whose sheet must be complete before
// the workbook is) is written to excelize's temporary file as the rows
// are read and copied to the response at the end, so a database failing
// midway is still answered 5xx: either way memory holds a few rows, not
// the range.
func (a *API) exportReport(c echo.Context, r *reportRequest) error {
	w := c.Response()
	h := w.Header()
	var out reports.RowWriter
	var abort func()
	if r.format == formatXLSX {
		// The workbook is built before the first row, so a failure to
		// start it is answered as an error.
		x, err := reports.NewXLSX(w, r.loc)
		if err != nil {
			return a.internal(c, err)
		}
		out, abort = x, x.Abort
	}
	defer func() {
		if abort != nil {
			abort()
		}
	}()
	commit := func(mime string) {
		h.Set("Content-Disposition", `attachment; filename="`+r.filename()+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set(echo.HeaderContentType, mime)
		w.WriteHeader(http.StatusOK)
	}
	start := func() error {
		if r.format == formatXLSX {
			return nil // the response starts once the sheet is complete
		}
		commit(mimeCSV + "; charset=utf-8")
		cw, err := reports.NewCSV(w, r.loc)
		if err != nil {
			return err
		}
		out = cw
		// The header row goes out at once: the download starts while the
		// rows are read, and a failure later shows as a cut body.
		return cw.Flush(w)
	}
	return a.stream(c, r, start, func(x *reports.Row) error { return out.Write(x) }, func() error {
		if r.format == formatXLSX {
			commit(mimeXLSX)
		}
		abort = nil
		return out.Close()
	})
}

// reportRows writes one row per conversation as a JSON document
// {"from", "to", "timezone", "rows": [...]}, each row encoded as read.
func (a *API) reportRows(c echo.Context, r *reportRequest) error {
	w := c.Response()
	enc := newRowEncoder(w)
	start := func() error {
		w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		w.WriteHeader(http.StatusOK)
		if err := enc.begin(r.from, r.to, r.loc.String()); err != nil {
			return err
		}
		return enc.flush(w)
	}
	return a.stream(c, r, start, func(x *reports.Row) error {
		v := ReportRow{ID: x.ID, OpenedAt: x.OpenedAt.In(r.loc), Channel: x.Channel, QueryType: x.QueryType,
			Assignee: x.Assignee, Resolution: x.Resolution, Reopened: x.Reopened, OutOfHours: x.OutOfHours, CSATRequested: x.CSATRequested}
		if x.CSATScore > 0 {
			score := x.CSATScore
			v.CSATScore = &score
		}
		if !x.ClosedAt.IsZero() {
			t := x.ClosedAt.In(r.loc)
			v.ClosedAt = &t
		}
		if s, ok := x.FirstResponse(); ok {
			v.FirstResponseSeconds = &s
		}
		if s, ok := x.ResolutionTime(); ok {
			v.ResolutionSeconds = &s
		}
		return enc.row(&v)
	}, enc.end)
}
