package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/repository"
	"switchboard/routing"
)

// seedReport inserts n closed conversations, one contact each, opened
// evenly over the year from start (one every year/n): answered after 1
// to 600 s by one of ops, closed after 10 to 7,200 s, one in ten
// reopened, one in five out of hours. PostgreSQL takes multi-row INSERTs
// of 1,000 rows; SQLite (whose driver binds a statement's many
// parameters slowly: 1,000 rows a statement seeded 500 rows a second)
// one prepared INSERT a row, in transactions of 10,000.
func seedReport(t *testing.T, db *repository.DB, n int, start time.Time, ops []string) {
	t.Helper()
	step := (365 * 24 * time.Hour) / time.Duration(n)
	const contactCols = "contacts (id, channel, external_id, query_seq, created_at)"
	const convCols = `conversations (id, contact_id, channel, state, routed, query_type, assignee, resolution, routing,
			created_at, updated_at, closed_at, activity_at, first_response_at, handled_by, reopened, opened_out_of_hours)`
	row := func(k int) ([]any, []any) {
		o := start.Add(time.Duration(k) * step).UnixMilli()
		phone := fmt.Sprintf("+55119%08d", k)
		c := conversations.ContactID("wa-main", phone)
		closed := o + int64(10+k%7191)*1000
		typ := []string{"sales", "claims", "payments"}[k%3]
		return []any{c, "wa-main", phone, 1, o},
			[]any{c + "-1", c, "wa-main", routing.StateClosed, true, typ, "", "solved", "",
				o, closed, closed, closed, o + int64(1+k%600)*1000, ops[k%len(ops)], k%10 == 0, k%5 == 0}
	}
	batch := 1000
	if db.Dialect() == repository.SQLite {
		batch = 10000
	}
	for lo := 0; lo < n; lo += batch {
		m := min(batch, n-lo)
		tx, err := db.SQL().Begin()
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == repository.Postgres {
			insert(t, tx, contactCols, m, func(i int) []any { c, _ := row(lo + i); return c })
			insert(t, tx, convCols, m, func(i int) []any { _, v := row(lo + i); return v })
		} else {
			pc, err := tx.Prepare("INSERT INTO " + contactCols + " VALUES ($1, $2, $3, $4, $5)")
			if err != nil {
				t.Fatal(err)
			}
			pv, err := tx.Prepare("INSERT INTO " + convCols + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
			if err != nil {
				t.Fatal(err)
			}
			for i := range m {
				c, v := row(lo + i)
				if _, err := pc.Exec(c...); err != nil {
					t.Fatal(err)
				}
				if _, err := pv.Exec(v...); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if db.Dialect() == repository.Postgres {
		if _, err := db.SQL().Exec("ANALYZE conversations"); err != nil {
			t.Fatal(err)
		}
	}
}

// benchReportWorld is a harness with a supervisor and three operators on
// db, seeded with n conversations over 2026.
func benchReportWorld(t *testing.T, db *repository.DB, n int) (*harness, string, []string) {
	ids := []string{"u_op0", "u_op1", "u_op2"}
	began := time.Now()
	seedReport(t, db, n, time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), ids)
	t.Logf("%s: seeded %d conversations in %s", db.Dialect(), n, time.Since(began).Round(time.Millisecond))
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t), db: db}, nil)
	sup := h.createUser(t, "Sup", "+5511900000004", auth.RoleSupervisor)
	// The operators the rows name, with those ids, one in the group.
	for i, id := range ids {
		if _, err := db.SQL().Exec(`INSERT INTO accounts (id, phone, name, role, status, created_at, updated_at)
			VALUES ($1, $2, $3, 'operator', 'active', 0, 0)`, id, fmt.Sprintf("+551190000010%d", i), id); err != nil {
			t.Fatal(err)
		}
	}
	h.createGroup(t, "night", ids[2])
	return h, h.loginAs(t, sup.Phone), ids
}

// timeGet times one GET of the report, reading the whole body, and
// returns the body's size.
func timeGet(t *testing.T, h *harness, token, query string) (time.Duration, int64) {
	t.Helper()
	began := time.Now()
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/reports/conversations?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", query, resp.StatusCode, err)
	}
	return time.Since(began), n
}

// The report at scale: 300,000 conversations over a year (about 820 a
// day), and a 30-day report of them answers in under a second, in figures
// by day, by hour, filtered, and as CSV and XLSX.
//
//	SWITCHBOARD_BENCH=1 [SWITCHBOARD_TEST_POSTGRES=...] go test -run ReportAtScale -v ./api/
//
// SWITCHBOARD_BENCH_REPORT_SIZE changes the size.
func TestReportAtScale(t *testing.T) {
	if os.Getenv(envBench) == "" {
		t.Skip(envBench + " is not set: the heavy measurements do not run in make test")
	}
	n := 300000
	if s := os.Getenv("SWITCHBOARD_BENCH_REPORT_SIZE"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		h, token, ops := benchReportWorld(t, db, n)
		const month = "from=2026-06-01&to=2026-06-30"
		for _, q := range []string{
			month, month + "&group_by=day", month + "&group_by=hour", month + "&operator=" + ops[0],
			month + "&group=night&out_of_hours=true", month + "&query_type=claims&channel=wa-main",
			month + "&rows=1", month + "&format=csv", month + "&format=xlsx",
			"from=2026-01-01&to=2026-12-31&group_by=day",
		} {
			timeGet(t, h, token, q) // warm
			var worst, total time.Duration
			var size int64
			const runs = 5
			for range runs {
				d, s := timeGet(t, h, token, q)
				worst, total, size = max(worst, d), total+d, s
			}
			t.Logf("%s: %s: mean %s, worst %s, %d bytes", db.Dialect(), q, (total / runs).Round(100*time.Microsecond),
				worst.Round(100*time.Microsecond), size)
			if strings.HasPrefix(q, month) && worst > time.Second {
				t.Errorf("%s: %s took %s, over a second", db.Dialect(), q, worst)
			}
		}
	})
}

// A year's export streams with flat memory: the peak heap and the peak
// RSS while exporting 10 times the rows as CSV stay about what they are
// for 1 time the rows, and an XLSX grows by a bounded amount a sheet (each size on a database of its own: PostgreSQL when
// SWITCHBOARD_TEST_POSTGRES is set, else SQLite). The peak RSS (VmHWM) is reset before each export
// (/proc/self/clear_refs), and the heap sampled every millisecond.
//
//	SWITCHBOARD_BENCH=1 [SWITCHBOARD_TEST_POSTGRES=...] go test -run ReportExportMemory -v ./api/
//
// SWITCHBOARD_BENCH_EXPORT_ROWS (default 360000) is the larger size; the
// smaller is a tenth of it.
func TestReportExportMemory(t *testing.T) {
	if os.Getenv(envBench) == "" {
		t.Skip(envBench + " is not set: the heavy measurements do not run in make test")
	}
	big := 360000
	if s := os.Getenv("SWITCHBOARD_BENCH_EXPORT_ROWS"); s != "" {
		big, _ = strconv.Atoi(s)
	}
	type peak struct {
		rows       int
		bytes      int64
		took       time.Duration
		heap, vmhw uint64
	}
	var peaks []peak
	for _, n := range []int{big / 10, big} {
		db := dbtest.Open(t)
		began := time.Now()
		seedReport(t, db, n, time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), []string{"u_x"})
		t.Logf("%s: seeded %d conversations in %s", db.Dialect(), n, time.Since(began).Round(time.Millisecond))
		h := newHarnessOn(t, &harness{rdb: redistest.Client(t), db: db}, nil)
		sup := h.createUser(t, "Sup", fmt.Sprintf("+55119000%05d", n%100000), auth.RoleSupervisor)
		token := h.loginAs(t, sup.Phone)
		for _, format := range []string{"csv", "xlsx"} {
			runtime.GC()
			resetPeakRSS(t)
			var maxHeap atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > maxHeap.Load() {
						maxHeap.Store(ms.HeapInuse)
					}
				}
			})
			d, size := timeGet(t, h, token, "from=2026-01-01&to=2026-12-31&format="+format)
			close(stop)
			wg.Wait()
			p := peak{rows: n, bytes: size, took: d, heap: maxHeap.Load(), vmhw: peakRSS(t)}
			peaks = append(peaks, p)
			t.Logf("%s: %s of %d rows: %d bytes in %s (%.0f rows/s); peak heap in use %.1f MiB, peak RSS %.1f MiB",
				db.Dialect(), format, n, size, d.Round(time.Millisecond), float64(n)/d.Seconds(), float64(p.heap)/(1<<20), float64(p.vmhw)/(1<<20))
		}
	}
	// CSV: flat. XLSX: excelize keeps each finished sheet's in-memory
	// chunk (up to its 16 MiB StreamChunkSize, in a buffer that doubles)
	// until the workbook is written, so its peak grows by a bounded amount
	// per sheet of 1,048,575 rows, not per row: checked against 80 MiB a
	// sheet.
	small, large := peaks[0], peaks[2]
	if large.heap > 2*small.heap+16<<20 {
		t.Errorf("CSV of %d rows peaked at %.1f MiB of heap, of %d rows %.1f MiB: not flat",
			large.rows, float64(large.heap)/(1<<20), small.rows, float64(small.heap)/(1<<20))
	}
	for _, p := range []peak{peaks[1], peaks[3]} {
		sheets := uint64(p.rows/1048575 + 1)
		if p.heap > sheets*80<<20 {
			t.Errorf("XLSX of %d rows (%d sheets) peaked at %.1f MiB of heap", p.rows, sheets, float64(p.heap)/(1<<20))
		}
	}
}

// resetPeakRSS resets the process's peak resident set (VmHWM) to its
// current one (Linux: 5 to /proc/self/clear_refs).
func resetPeakRSS(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("peak RSS not reset: %v", err)
	}
}

// peakRSS reads the process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Logf("no peak RSS: %v", err)
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
