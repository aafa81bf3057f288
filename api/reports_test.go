package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/reports"
	"switchboard/repository"
	"switchboard/settings"
)

// saoPaulo is the known month's timezone: three hours behind UTC, no DST.
var saoPaulo = func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local is a time of the known month, in São Paulo.
func local(month time.Month, day, hour, minute, sec int) time.Time {
	return time.Date(2026, month, day, hour, minute, sec, 0, saoPaulo)
}

// faultyReports fails the report's reading on cue: before its first row
// (fail), or after afterRows rows (cut).
type faultyReports struct {
	reports.Source
	fail atomic.Bool
	cut  atomic.Int64
}

func (f *faultyReports) ReportRows(ctx context.Context, flt reports.Filter, fn func(*reports.Row) error) error {
	if f.fail.Load() {
		return errDBConnReset
	}
	n, cut := int64(0), f.cut.Load()
	return f.Source.ReportRows(ctx, flt, func(r *reports.Row) error {
		if cut > 0 && n == cut {
			return errDBConnReset
		}
		n++
		return fn(r)
	})
}

// reportWorld is a harness holding the known month: November 2026 in São
// Paulo, open Monday to Friday 09:00 to 18:00.
type reportWorld struct {
	*harness
	src               *faultyReports
	ana, bruno, carla *accounts.User
	supT, anaT        string
	ids               map[string]string // the conversations by name
}

// monthConv is one conversation of the month: opened at open by from's first
// message, answered by replier after reply (none if 0), closed with
// reason after closeAfter (open if 0).
type monthConv struct {
	name, from, channel, text string
	open                      time.Time
	replier                   *accounts.User
	reply, closeAfter         time.Duration
	reason                    string
}

func newReportWorld(t *testing.T, db *repository.DB) *reportWorld {
	t.Helper()
	w := &reportWorld{src: &faultyReports{}, ids: map[string]string{}}
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t), db: db, apiOptions: func(o *api.Options) {
		w.src.Source = o.Reports
		o.Reports = w.src
	}}, nil)
	w.harness = h
	w.ana = h.createUser(t, "Ana", "+5511900000001", auth.RoleOperator)
	w.bruno = h.createUser(t, "Bruno", "+5511900000002", auth.RoleOperator)
	w.carla = h.createUser(t, "Carla", "+5511900000003", auth.RoleOperator)
	sup := h.createUser(t, "Sup", "+5511900000004", auth.RoleSupervisor)
	h.createGroup(t, "night", w.carla.ID)
	doc := fmt.Sprintf(`
timezone: America/Sao_Paulo
opening_hours:
  weekly:
    mon: ["09:00-18:00"]
    tue: ["09:00-18:00"]
    wed: ["09:00-18:00"]
    thu: ["09:00-18:00"]
    fri: ["09:00-18:00"]
default_query_type: sales
query_types:
  - {id: sales, strategy: claim, accounts: [%s, %s]}
  - {id: claims, strategy: claim, keywords: [sinistro], accounts: [%s], csat: false}
templates:
  - {id: rate, language: pt, text: "Como foi o atendimento?"}
csat: {enabled: true, question: rate}
resolution_reasons:
  - {id: solved, name: Solved}
  - {id: spam, name: Spam}
tags:
  - {id: urgent, name: Urgent, color: "#d93025"}
`, w.ana.ID, w.bruno.ID, w.carla.ID)
	ctx := context.Background()
	if _, err := settings.Apply(ctx, h.db.Settings(), []byte(doc), h.clock.Now(), -1, "test"); err != nil {
		t.Fatal(err)
	}
	w.supT = h.loginAs(t, sup.Phone)
	w.anaT = h.loginAs(t, w.ana.Phone)

	// In opening order; the first and the last two fall outside the month.
	month := []monthConv{
		{"before", "+5511911110006", "wa-main", "oi", local(10, 31, 23, 59, 59), w.ana, time.Minute, time.Hour, "solved"},
		{"c1a", "+5511911110001", "wa-main", "oi", local(11, 2, 10, 0, 0), w.ana, 2 * time.Minute, time.Hour, "solved"},
		{"c2a", "+5511911110002", "wa-main", "oi", local(11, 2, 11, 0, 0), w.bruno, 10 * time.Minute, 2 * time.Hour, "solved"},
		{"c3", "+5511911110003", "tg-main", "sinistro", local(11, 3, 9, 30, 0), w.carla, 5 * time.Minute, 30 * time.Minute, "solved"},
		// c1's contact again, 23 hours after c1a closed: reopened.
		{"c1b", "+5511911110001", "wa-main", "oi", local(11, 3, 10, 0, 0), w.ana, time.Minute, 20 * time.Minute, "solved"},
		// c2's contact again, 73 hours after c2a closed: not reopened.
		{"c2b", "+5511911110002", "wa-main", "oi", local(11, 5, 14, 0, 0), w.bruno, 4 * time.Minute, 3 * time.Hour, "solved"},
		// A Saturday: out of hours, never answered, closed as spam.
		{"c4", "+5511911110004", "wa-main", "oi", local(11, 7, 20, 0, 0), nil, 0, 90 * time.Minute, "spam"},
		// The month's last evening, out of hours, answered, still open.
		{"c5", "+5511911110005", "wa-main", "oi", local(11, 30, 23, 30, 0), w.bruno, 30 * time.Minute, 0, ""},
		{"after", "+5511911110007", "wa-main", "oi", local(12, 1, 0, 0, 0), w.ana, time.Minute, time.Hour, "solved"},
	}
	for i, c := range month {
		h.clock.Set(c.open)
		m := &channels.Inbound{Channel: c.channel, Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.month.%d", i), From: c.from,
			ProfileName: "Cliente", Timestamp: c.open, Type: channels.TypeText, Text: c.text}
		body, _ := json.Marshal(m)
		res, err := h.conv.Service.ApplyInbound(ctx, m, body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w.ids[c.name] = res.QueryID
		if c.replier != nil {
			h.clock.Set(c.open.Add(c.reply))
			if _, err := h.conv.Service.Reply(ctx, res.QueryID, c.replier.ID, "Olá!"); err != nil {
				t.Fatalf("%s: reply: %v", c.name, err)
			}
		}
		if c.closeAfter > 0 {
			h.clock.Set(c.open.Add(c.closeAfter))
			if _, err := h.conv.Service.Close(ctx, res.QueryID, c.reason); err != nil {
				t.Fatalf("%s: close: %v", c.name, err)
			}
		}
		// The customer rates the conversation a minute after its close.
		if score, ok := monthRatings[c.name]; ok {
			at := c.open.Add(c.closeAfter + time.Minute)
			h.clock.Set(at)
			m := &channels.Inbound{Channel: c.channel, Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.rating.%d", i), From: c.from,
				Timestamp: at, Type: channels.TypeText, Text: score}
			body, _ := json.Marshal(m)
			if res, err := h.conv.Service.ApplyInbound(ctx, m, body); err != nil || res.CSAT == nil {
				t.Fatalf("%s: rating: %+v, %v", c.name, res, err)
			}
		}
	}
	return w
}

// monthRatings are the month's answers to the survey: c1b's customer
// never answers it, c3 is a claim (not surveyed) and c5 is open.
var monthRatings = map[string]string{"c1a": "5", "c2a": "2", "c2b": "4", "c4": "1"}

func (w *reportWorld) get(t *testing.T, token, query string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/reports/conversations?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", query, err)
	}
	return resp.StatusCode, resp.Header, b
}

func (w *reportWorld) summary(t *testing.T, query string) api.ConversationReport {
	t.Helper()
	status, _, body := w.get(t, w.supT, query)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", query, status, body)
	}
	var r api.ConversationReport
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("GET %s: %v: %s", query, err, body)
	}
	return r
}

// times makes a reports.Times of count values with that median and average.
func times(count int, median, avg float64) reports.Times {
	if count == 0 {
		return reports.Times{}
	}
	return reports.Times{Count: count, MedianSeconds: &median, AverageSeconds: &avg}
}

func statsJSON(s reports.Stats) string { b, _ := json.Marshal(s); return string(b) }

const november = "from=2026-11-01&to=2026-11-30"

// The known month: November 2026 in São Paulo, seven conversations opened
// in it through the service (applied, routed, answered, closed at fixed
// times), one the second before and one the second after. Its report's
// figures, by day, and its CSV and XLSX rows are checked exactly, on both
// engines.
func TestReportOfAKnownMonth(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			w := newReportWorld(t, dbtest.OpenEngine(t, e))
			r := w.summary(t, november+"&group_by=day")
			if r.From != "2026-11-01" || r.To != "2026-11-30" || r.Timezone != "America/Sao_Paulo" || r.GroupBy != "day" {
				t.Errorf("report head = %+v", r)
			}
			// First responses 120, 600, 300, 60, 240, 1800 s; resolutions
			// 3600, 7200, 1800, 1200, 10800, 5400 s (c5 is open); c1b reopened.
			want := reports.Stats{Volume: 7, FirstResponse: times(6, 270, 520), Resolution: times(6, 4500, 5000), Reopened: 1}
			if got := statsJSON(r.Totals); got != statsJSON(want) {
				t.Errorf("totals = %s\nwant     %s", got, statsJSON(want))
			}
			// Surveyed: c1a (5), c1b (unanswered), c2a (2), c2b (4), c4 (1, nobody's).
			csat := func(asked, answered int, avg, share float64) reports.CSATStats {
				return reports.CSATStats{Asked: asked, Answered: answered, AverageScore: &avg, SatisfiedShare: &share}
			}
			wantCSAT := reports.CSATReport{Totals: csat(5, 4, 3, 0.5),
				ByOperator:  []reports.CSATGroup{{Operator: "", CSATStats: csat(1, 1, 1, 0)}},
				ByQueryType: []reports.CSATGroup{{QueryType: "sales", CSATStats: csat(5, 4, 3, 0.5)}}}
			byOp := []reports.CSATGroup{{Operator: w.ana.ID, CSATStats: csat(2, 1, 5, 1)}, {Operator: w.bruno.ID, CSATStats: csat(2, 2, 3, 0.5)}}
			slices.SortFunc(byOp, func(a, b reports.CSATGroup) int { return strings.Compare(a.Operator, b.Operator) })
			wantCSAT.ByOperator = append(wantCSAT.ByOperator, byOp...)
			if got, want := mustJSON(r.CSAT), mustJSON(wantCSAT); got != want {
				t.Errorf("csat = %s\nwant  %s", got, want)
			}
			if len(r.Buckets) != 30 {
				t.Fatalf("%d buckets, want the 30 days of November", len(r.Buckets))
			}
			days := map[int]reports.Stats{
				2:  {Volume: 2, FirstResponse: times(2, 360, 360), Resolution: times(2, 5400, 5400)},
				3:  {Volume: 2, FirstResponse: times(2, 180, 180), Resolution: times(2, 1500, 1500), Reopened: 1},
				5:  {Volume: 1, FirstResponse: times(1, 240, 240), Resolution: times(1, 10800, 10800)},
				7:  {Volume: 1, Resolution: times(1, 5400, 5400)},
				30: {Volume: 1, FirstResponse: times(1, 1800, 1800)},
			}
			for i, b := range r.Buckets {
				if !b.Start.Equal(local(11, i+1, 0, 0, 0)) {
					t.Errorf("bucket %d starts %s", i, b.Start)
				}
				if got, want := statsJSON(b.Stats), statsJSON(days[i+1]); got != want {
					t.Errorf("November %d = %s\nwant          %s", i+1, got, want)
				}
			}

			rows := [][]string{
				{"id", "opened_at", "closed_at", "channel", "query_type", "assignee", "resolution", "first_response_seconds", "resolution_seconds", "reopened", "csat_requested", "csat_score"},
				{w.ids["c1a"], "2026-11-02T10:00:00-03:00", "2026-11-02T11:00:00-03:00", "wa-main", "sales", w.ana.ID, "solved", "120", "3600", "false", "true", "5"},
				{w.ids["c2a"], "2026-11-02T11:00:00-03:00", "2026-11-02T13:00:00-03:00", "wa-main", "sales", w.bruno.ID, "solved", "600", "7200", "false", "true", "2"},
				{w.ids["c3"], "2026-11-03T09:30:00-03:00", "2026-11-03T10:00:00-03:00", "tg-main", "claims", w.carla.ID, "solved", "300", "1800", "false", "false", ""},
				{w.ids["c1b"], "2026-11-03T10:00:00-03:00", "2026-11-03T10:20:00-03:00", "wa-main", "sales", w.ana.ID, "solved", "60", "1200", "true", "true", ""},
				{w.ids["c2b"], "2026-11-05T14:00:00-03:00", "2026-11-05T17:00:00-03:00", "wa-main", "sales", w.bruno.ID, "solved", "240", "10800", "false", "true", "4"},
				{w.ids["c4"], "2026-11-07T20:00:00-03:00", "2026-11-07T21:30:00-03:00", "wa-main", "sales", "", "spam", "", "5400", "false", "true", "1"},
				{w.ids["c5"], "2026-11-30T23:30:00-03:00", "", "wa-main", "sales", w.bruno.ID, "", "1800", "", "false", "false", ""},
			}
			if w.ids["c1a"] != conversations.ContactID("wa-main", "+5511911110001")+"-1" || w.ids["c1b"] != conversations.ContactID("wa-main", "+5511911110001")+"-2" {
				t.Errorf("c1's conversations are %s and %s", w.ids["c1a"], w.ids["c1b"])
			}

			for _, how := range []struct{ query, accept string }{{november + "&format=csv", ""}, {november, "text/csv"}} {
				status, h, body := w.get(t, w.supT, how.query, "Accept", how.accept)
				if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") ||
					h.Get("Content-Disposition") != `attachment; filename="conversations_2026-11-01_2026-11-30.csv"` {
					t.Fatalf("CSV (%s, Accept %q): %d %v %s", how.query, how.accept, status, h, body)
				}
				got, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got, rows, slices.Equal) {
					t.Errorf("CSV rows:\n%q\nwant\n%q", got, rows)
				}
			}

			status, h, body := w.get(t, w.supT, november+"&format=xlsx")
			if status != http.StatusOK || h.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
				h.Get("Content-Disposition") != `attachment; filename="conversations_2026-11-01_2026-11-30.xlsx"` {
				t.Fatalf("XLSX: %d %v", status, h)
			}
			f, err := excelize.OpenReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("XLSX does not open: %v", err)
			}
			defer f.Close()
			got, err := f.GetRows(reports.Sheet)
			if err != nil {
				t.Fatal(err)
			}
			// The same rows, times in São Paulo's wall clock as Excel
			// dates, booleans as Excel shows them.
			var xrows [][]string
			for i, r := range rows {
				x := slices.Clone(r)
				if i > 0 {
					for _, j := range []int{1, 2} {
						if x[j] != "" {
							at, _ := time.Parse(time.RFC3339, x[j])
							x[j] = at.In(saoPaulo).Format("2006-01-02 15:04:05")
						}
					}
					x[9], x[10] = strings.ToUpper(x[9]), strings.ToUpper(x[10])
				}
				for len(x) > 0 && x[len(x)-1] == "" {
					x = x[:len(x)-1] // GetRows leaves out a row's empty cells at its end
				}
				xrows = append(xrows, x)
			}
			if !slices.EqualFunc(got, xrows, slices.Equal) {
				t.Errorf("XLSX rows:\n%q\nwant\n%q", got, xrows)
			}
			opened, err := f.GetCellValue(reports.Sheet, "B2", excelize.Options{RawCellValue: true})
			if err != nil || opened != "46328.416666666664" && !strings.HasPrefix(opened, "46328.41666") {
				t.Errorf("B2 holds %q (%v), want the Excel date of 2026-11-02 10:00", opened, err)
			}

			// One row per conversation as JSON: the same rows.
			status, _, body = w.get(t, w.supT, november+"&rows=1")
			var doc struct {
				From, To, Timezone string
				Rows               []api.ReportRow
			}
			if status != http.StatusOK || json.Unmarshal(body, &doc) != nil || len(doc.Rows) != len(rows)-1 {
				t.Fatalf("rows=1: %d %s", status, body)
			}
			for i, r := range doc.Rows {
				want := rows[i+1]
				closed := ""
				if r.ClosedAt != nil {
					closed = r.ClosedAt.Format(time.RFC3339)
				}
				score := func(p *int) string {
					if p == nil {
						return ""
					}
					return fmt.Sprint(*p)
				}
				secs := func(p *int64) string {
					if p == nil {
						return ""
					}
					return fmt.Sprint(*p)
				}
				got := []string{r.ID, r.OpenedAt.Format(time.RFC3339), closed, r.Channel, r.QueryType, r.Assignee, r.Resolution,
					secs(r.FirstResponseSeconds), secs(r.ResolutionSeconds), fmt.Sprint(r.Reopened), fmt.Sprint(r.CSATRequested), score(r.CSATScore)}
				if !slices.Equal(got, want) {
					t.Errorf("rows=1 row %d = %q, want %q", i, got, want)
				}
				if oh := r.ID == w.ids["c4"] || r.ID == w.ids["c5"]; r.OutOfHours != oh {
					t.Errorf("row %s out_of_hours = %v", r.ID, r.OutOfHours)
				}
			}

			// Filters narrow the month to the conversations they name.
			for _, n := range []string{"c1a", "c4"} {
				if r := w.do(t, "PUT", "/api/v1/conversations/"+w.ids[n]+"/tags", w.supT, map[string][]string{"tags": {"urgent"}}); r.status != http.StatusOK {
					t.Fatalf("tag %s: %d %s", n, r.status, r.body)
				}
			}
			for _, tc := range []struct {
				filter string
				want   []string
			}{
				{"channel=tg-main", []string{"c3"}},
				{"channel=wa-main", []string{"c1a", "c2a", "c1b", "c2b", "c4", "c5"}},
				{"query_type=claims", []string{"c3"}},
				{"operator=" + w.ana.ID, []string{"c1a", "c1b"}},
				{"operator=" + w.bruno.ID + "&resolution=solved", []string{"c2a", "c2b"}},
				{"group=night", []string{"c3"}},
				{"group=nobody", nil},
				{"resolution=spam", []string{"c4"}},
				{"tag=urgent", []string{"c1a", "c4"}},
				{"tag=urgent&resolution=solved", []string{"c1a"}},
				{"out_of_hours=true", []string{"c4", "c5"}},
				{"out_of_hours=false", []string{"c1a", "c2a", "c3", "c1b", "c2b"}},
				{"out_of_hours=1&channel=wa-main&query_type=sales", []string{"c4", "c5"}},
			} {
				status, _, body := w.get(t, w.supT, november+"&format=csv&"+tc.filter)
				recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if status != http.StatusOK || err != nil || len(recs) == 0 {
					t.Fatalf("%s: %d %s", tc.filter, status, body)
				}
				var got, want []string
				for _, r := range recs[1:] {
					got = append(got, r[0])
				}
				for _, n := range tc.want {
					want = append(want, w.ids[n])
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %v, want %v", tc.filter, got, want)
				}
				if r := w.summary(t, november+"&"+tc.filter); r.Totals.Volume != len(tc.want) {
					t.Errorf("%s: volume %d, want %d", tc.filter, r.Totals.Volume, len(tc.want))
				}
			}

			// By hour: the 720 local hours of the month; c1a's is the
			// 35th (November 2, 10:00).
			r = w.summary(t, november+"&group_by=hour")
			if len(r.Buckets) != 720 || !r.Buckets[24+10].Start.Equal(local(11, 2, 10, 0, 0)) || r.Buckets[24+10].Volume != 1 ||
				r.Buckets[24+10].FirstResponse.Count != 1 || *r.Buckets[24+10].FirstResponse.MedianSeconds != 120 {
				t.Errorf("by hour: %d buckets, the 35th %+v", len(r.Buckets), r.Buckets[min(34, len(r.Buckets)-1)])
			}
			// One day alone: its own figures; an empty day: zeros and nulls.
			if r := w.summary(t, "from=2026-11-03&to=2026-11-03"); statsJSON(r.Totals) != statsJSON(days[3]) {
				t.Errorf("November 3 alone: %s", statsJSON(r.Totals))
			}
			if r := w.summary(t, "from=2026-11-04&to=2026-11-04"); statsJSON(r.Totals) !=
				`{"volume":0,"first_response":{"count":0,"median_seconds":null,"average_seconds":null},"resolution":{"count":0,"median_seconds":null,"average_seconds":null},"reopened_within_24h":0}` {
				t.Errorf("November 4 alone: %s", statsJSON(r.Totals))
			}
			// An empty range's CSV is its header.
			if _, _, body := w.get(t, w.supT, "from=2026-11-04&to=2026-11-04&format=csv"); string(body) != strings.Join(rows[0], ",")+"\n" {
				t.Errorf("an empty CSV: %q", body)
			}
		})
	}
}

// Reports need reports.view; the parameters are checked, each refusal
// naming the one refused; a database failing before the first row is a
// 5xx, and one failing midway cuts the download short.
func TestReportRefusalsAndFailures(t *testing.T) {
	w := newReportWorld(t, dbtest.Open(t))
	if status, _, body := w.get(t, w.anaT, november); status != http.StatusForbidden || !strings.Contains(string(body), "reports.view") {
		t.Errorf("an operator's report: %d %s, want 403", status, body)
	}
	if status, _, _ := w.get(t, w.anaT, november+"&format=csv"); status != http.StatusForbidden {
		t.Errorf("an operator's CSV: %d, want 403", status)
	}
	for _, tc := range []struct{ query, param string }{
		{"to=2026-11-30", "from"},
		{"from=2026-11-01", "to"},
		{"from=2026-11-31&to=2026-12-01", "from"},
		{"from=01/11/2026&to=2026-11-30", "from"},
		{"from=2026-11-01&to=2026-11-30T00:00:00Z", "to"},
		{"from=2026-11-30&to=2026-11-01", "to"},
		{"from=2025-11-29&to=2026-11-30", "to"}, // 366 days and one
		{november + "&format=pdf", "format"},
		{november + "&group_by=week", "group_by"},
		{november + "&out_of_hours=maybe", "out_of_hours"},
		{november + "&rows=yes", "rows"},
		{november + "&rows=1&group_by=day", "rows"},
	} {
		status, _, body := w.get(t, w.supT, tc.query)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e.Error.Code != "bad_request" || !strings.HasPrefix(e.Error.Message, tc.param+":") {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, status, body, tc.param)
		}
	}
	// 366 days exactly are allowed (2028 is a leap year).
	for _, q := range []string{"from=2028-01-01&to=2028-12-31", "from=2025-11-30&to=2026-11-30"} {
		if status, _, body := w.get(t, w.supT, q); status != http.StatusOK {
			t.Errorf("366 days, %s: %d %s", q, status, body)
		}
	}
	if status, _, body := w.get(t, w.supT, "from="+url.QueryEscape("2026-11-01")+"&to=2026-11-01"); status != http.StatusOK {
		t.Errorf("one day: %d %s", status, body)
	}

	w.src.fail.Store(true)
	for _, q := range []string{november, november + "&group_by=day", november + "&rows=1", november + "&format=csv", november + "&format=xlsx"} {
		if status, _, body := w.get(t, w.supT, q); status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) {
			t.Errorf("%s with the database failing: %d %s, want 503", q, status, body)
		}
	}
	w.src.fail.Store(false)

	// Failing after two rows: the CSV and JSON rows were under way and are
	// cut (the client sees the body end early, never a complete
	// document); the XLSX had not started, so it is still a 503.
	w.src.cut.Store(2)
	for _, q := range []string{november + "&format=csv", november + "&rows=1"} {
		req, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/reports/conversations?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+w.supT)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s cut after two rows: %d, reading: %v; want the body cut short", q, resp.StatusCode, err)
		}
	}
	if status, _, _ := w.get(t, w.supT, november+"&format=xlsx"); status != http.StatusServiceUnavailable {
		t.Errorf("XLSX cut after two rows: %d, want 503", status)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
