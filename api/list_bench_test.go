package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/repository"
	"switchboard/routing"
)

// envBench runs the heavy measurements; `make test` leaves them out.
const envBench = "SWITCHBOARD_BENCH"

// The conversation list at scale: GET /api/v1/conversations answers a
// page for an admin and for an operator, with and without a search, in a
// p99 at 100,000 conversations within twice its p99 at 1,000; and a
// search for one customer whose only conversation is the oldest of all
// answers completely in one request.
//
// Both sizes hold the same live load (300 open conversations among the
// newest 600); the rest is history, closed. Each size has its own database
// (PostgreSQL when SWITCHBOARD_TEST_POSTGRES is set, else SQLite) and
// server, and the requests alternate between the two, one at a time, so
// the machine's noise falls on both alike.
//
//	SWITCHBOARD_BENCH=1 SWITCHBOARD_TEST_POSTGRES=... go test -run ListAtScale -v ./api/
//
// SWITCHBOARD_BENCH_LIST_SIZES (default 1000,100000) and
// SWITCHBOARD_BENCH_LIST_REQUESTS (default 300 a case) change the sizes
// and the requests; SWITCHBOARD_BENCH_LIST_SQL runs statements on each
// database before the requests (see below).
func TestConversationListAtScale(t *testing.T) {
	if os.Getenv(envBench) == "" {
		t.Skip(envBench + " is not set: the heavy measurements do not run in make test")
	}
	sizes := []int{1000, 100000}
	if s := os.Getenv("SWITCHBOARD_BENCH_LIST_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 700 {
				t.Fatalf("SWITCHBOARD_BENCH_LIST_SIZES: %q: want sizes of 700 or more", f)
			}
			sizes = append(sizes, n)
		}
	}
	requests := 300
	if s := os.Getenv("SWITCHBOARD_BENCH_LIST_REQUESTS"); s != "" {
		var err error
		if requests, err = strconv.Atoi(s); err != nil || requests < 1 {
			t.Fatalf("SWITCHBOARD_BENCH_LIST_REQUESTS: %q", s)
		}
	}

	worlds := make([]*scaleWorld, len(sizes))
	for i, n := range sizes {
		start := time.Now()
		worlds[i] = newScaleWorld(t, n)
		t.Logf("%d conversations seeded on %s in %v", n, worlds[i].db.Dialect(), time.Since(start).Round(time.Millisecond))
	}

	type check func(t *testing.T, w *scaleWorld, p listPage)
	cases := []struct {
		name  string
		token func(w *scaleWorld) string
		query string
		check check
	}{
		{"admin, first page", func(w *scaleWorld) string { return w.adminT }, "",
			func(t *testing.T, w *scaleWorld, p listPage) { wantPage(t, p, 50, true) }},
		{"admin, q=" + searchWord, func(w *scaleWorld) string { return w.adminT }, "q=" + searchWord,
			func(t *testing.T, w *scaleWorld, p listPage) {
				// One customer in len(firstNames) is a Lucas.
				want := min(50, (w.n-1+len(firstNames)-1-11)/len(firstNames))
				wantPage(t, p, want, want == 50)
				for _, c := range p.Conversations {
					if !strings.HasPrefix(c.ContactName, "Lucas ") {
						t.Fatalf("q=%s found %s (%q)", searchWord, c.ID, c.ContactName)
					}
				}
			}},
		{"operator, first page", func(w *scaleWorld) string { return w.anaT }, "",
			func(t *testing.T, w *scaleWorld, p listPage) {
				wantPage(t, p, 50, true)
				for _, c := range p.Conversations {
					if c.State == routing.StateClosed || (c.Assignee != w.ana.ID && c.QueryType != "sales") {
						t.Fatalf("ana sees %s (%s, %s, %s)", c.ID, c.State, c.QueryType, c.Assignee)
					}
				}
			}},
		{"operator, q=" + searchWord, func(w *scaleWorld) string { return w.anaT }, "q=" + searchWord,
			func(t *testing.T, w *scaleWorld, p listPage) {
				wantPage(t, p, 1, false) // only the live ones she may see
				for _, c := range p.Conversations {
					if c.State == routing.StateClosed || !strings.HasPrefix(c.ContactName, "Lucas ") {
						t.Fatalf("ana sees closed %s", c.ID)
					}
				}
			}},
		{"admin, one old customer by name (q=jurema)", func(w *scaleWorld) string { return w.adminT }, "q=jurema",
			func(t *testing.T, w *scaleWorld, p listPage) { w.wantOld(t, p) }},
		{"admin, one old customer by phone", func(w *scaleWorld) string { return w.adminT }, "q=" + url.QueryEscape("+55 11 98765-6789"),
			func(t *testing.T, w *scaleWorld, p listPage) { w.wantOld(t, p) }},
	}

	if sqls := os.Getenv("SWITCHBOARD_BENCH_LIST_SQL"); sqls != "" {
		// Diagnosis: statements run on each database after seeding, on
		// its one connection so that session settings hold for every
		// request: "LOAD 'auto_explain'; SET auto_explain.log_min_duration
		// = 0; SET auto_explain.log_analyze = on" logs each plan as run to
		// PostgreSQL's server log; a CREATE INDEX tries an index.
		for _, w := range worlds {
			w.db.SQL().SetMaxOpenConns(1)
			for _, s := range strings.Split(sqls, ";") {
				if strings.TrimSpace(s) == "" {
					continue
				}
				if _, err := w.db.SQL().Exec(s); err != nil {
					t.Fatalf("SWITCHBOARD_BENCH_LIST_SQL: %s: %v", s, err)
				}
			}
		}
		t.Logf("ran on each database: %s", sqls)
	}

	var failed []string
	for _, c := range cases {
		lat := make([][]time.Duration, len(worlds))
		// A few rounds to warm the connections, caches and plans.
		for i := -10; i < requests; i++ {
			for wi, w := range worlds {
				d, p := w.get(t, c.token(w), c.query)
				c.check(t, w, p) // every response, outside the time measured
				if i >= 0 {
					lat[wi] = append(lat[wi], d)
				}
			}
		}
		var line strings.Builder
		fmt.Fprintf(&line, "%-44s", c.name)
		p99s := make([]time.Duration, len(worlds))
		for wi := range worlds {
			p50, p99, max := percentiles(lat[wi])
			p99s[wi] = p99
			fmt.Fprintf(&line, " | %6d: p50 %6.2f ms p99 %6.2f ms max %6.2f ms", sizes[wi], ms(p50), ms(p99), ms(max))
		}
		ratio := float64(p99s[len(p99s)-1]) / float64(p99s[0])
		fmt.Fprintf(&line, " | p99 ratio %.2f", ratio)
		t.Log(line.String())
		if ratio > 2 {
			failed = append(failed, fmt.Sprintf("%s: p99 %.2f ms at %d is %.2f times %.2f ms at %d", c.name,
				ms(p99s[len(p99s)-1]), sizes[len(sizes)-1], ratio, ms(p99s[0]), sizes[0]))
		}
	}
	for _, f := range failed {
		t.Errorf("over 2x: %s", f)
	}
}

// searchWord is a first name: one contact in len(firstNames) has it, and
// some of them are live ones ana may see.
const searchWord = "lucas"

var (
	firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Elena", "Fábio", "Gabriela", "Hugo", "Isabel", "João",
		"Karina", "Lucas", "Marcela", "Nicolás", "Olga", "Paulo", "Quitéria", "Rafael", "Sofía", "Tiago",
		"Úrsula", "Vitor", "Wanda", "Xavier", "Yara", "Zeca", "Adriana", "Bernardo", "Cecília", "Davi",
		"Eduarda", "Felipe", "Giovana", "Henrique", "Iara", "Jorge", "Larissa", "Mateus", "Natália", "Otávio"}
	surnames = []string{"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
		"Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
		"Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
		"Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Pinto", "Araújo", "Castro", "Moraes", "Correia",
		"García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Díaz", "Torres", "Flores", "Rivera"}
)

// scaleWorld is a convWorld (ana, bruno and carla serve sales and claims
// as there) holding n conversations, with an admin.
type scaleWorld struct {
	*convWorld
	n      int
	admin  *accounts.User
	adminT string
	// old is the one conversation of the customer searched for, the oldest.
	old string
}

// liveWindow is how many of the newest conversations hold the live load:
// every other one of them is open.
const liveWindow = 600

// newScaleWorld seeds n conversations: the newest liveWindow alternate
// closed and open (pending, assigned or inactive, of sales or claims), the
// others are closed; the oldest is Dona Jurema's, her only one.
func newScaleWorld(t *testing.T, n int) *scaleWorld {
	t.Helper()
	w := &scaleWorld{convWorld: newConvWorld(t), n: n}
	w.admin = w.createUser(t, "Admin", "+5511900000005", auth.RoleAdmin)
	w.adminT = w.loginAs(t, w.admin.Phone)
	ctx := context.Background()
	newest := w.clock.Now().Add(-time.Minute).Truncate(time.Millisecond)
	open := []struct{ typ, state, assignee string }{
		{"sales", routing.StatePending, ""},
		{"sales", routing.StateAssigned, w.ana.ID},
		{"sales", routing.StateAssigned, w.bruno.ID},
		{"sales", routing.StateInactive, ""},
		{"claims", routing.StatePending, ""},
		{"claims", routing.StateAssigned, w.carla.ID},
	}
	rows := make([]seedRow, 0, n)
	for i := range n - 1 {
		r := seedRow{from: fmt.Sprintf("55219%08d", i), at: newest.Add(-time.Duration(i) * 30 * time.Second),
			name: firstNames[i%len(firstNames)] + " " + surnames[(i/len(firstNames))%len(surnames)],
			typ:  "sales", state: routing.StateClosed}
		if i%2 == 0 {
			r.typ = "claims"
		}
		if i < liveWindow && i%2 == 1 {
			o := open[(i/2)%len(open)]
			r.typ, r.state, r.assignee = o.typ, o.state, o.assignee
		}
		rows = append(rows, r)
	}
	w.seedBulk(t, rows)

	// The oldest conversation, and a check of the bulk rows' search
	// terms, through the repository itself.
	oldAt := newest.Add(-time.Duration(n) * 30 * time.Second)
	w.old = w.seed(t, []convSpec{{from: "5511987656789", name: "Dona Jurema Conceição", at: oldAt, typ: "sales", state: routing.StateClosed}})[0]
	probe := seedRow{from: "5521999999999", name: "Marcela Gonçalves"}
	res := w.inbound(t, &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: "wamid.probe", From: probe.from,
		ProfileName: probe.name, Timestamp: oldAt.Add(-time.Hour), Type: channels.TypeText, Text: "oi"})
	if got, want := w.terms(t, res.ContactID), probe.terms(); !slices.Equal(got, want) {
		t.Fatalf("the bulk seed's terms for %q are %q; ApplyInbound writes %q", probe.name, want, got)
	}
	if _, err := w.conv.DB.Conversations().EraseContact(ctx, res.ContactID); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := w.db.SQL().QueryRow(`SELECT count(*) FROM conversations`).Scan(&count); err != nil || count != n {
		t.Fatalf("%d conversations, %v; want %d", count, err, n)
	}
	// As autovacuum would have, long before a database holds this much:
	// on PostgreSQL it vacuums a table after bulk inserts too (the
	// visibility map lets an index-only probe of contact_terms skip the
	// heap: without it a common word's search reads 1.8 to 2.5 times the
	// small table's p99, BENCHMARKS.md), and both engines analyze.
	stmt := `ANALYZE`
	if w.db.Dialect() == repository.Postgres {
		stmt = `VACUUM ANALYZE`
	}
	if _, err := w.db.SQL().Exec(stmt); err != nil {
		t.Fatal(err)
	}
	return w
}

// seedRow is one conversation of the bulk seed: its customer's only
// message and the routing state stored.
type seedRow struct {
	from, name            string
	at                    time.Time
	typ, state, assignee  string
	contact, id, msgID    string
	order                 string
	atMS                  int64
	routingJSON, resolved string
}

// terms are the contact's search terms as the repository makes them
// (repository.contactTerms): the folded words of its name and every
// suffix of four digits or more of its number, sorted, each once.
func (r seedRow) terms() []string {
	var terms []string
	terms = append(terms, strings.FieldsFunc(routing.Fold(r.name), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c)
	})...)
	for i := 0; len(r.from)-i >= 4; i++ {
		terms = append(terms, r.from[i:])
	}
	slices.Sort(terms)
	return slices.Compact(terms)
}

// terms reads a contact's search terms.
func (w *scaleWorld) terms(t *testing.T, contactID string) []string {
	t.Helper()
	rows, err := w.db.SQL().Query(`SELECT term FROM contact_terms WHERE contact_id = $1`, contactID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// seedBulk writes rows as ApplyInbound and then ApplyDecision would leave
// them (contact, search terms, conversation with its routing state, the
// one inbound message), in multi-row INSERTs, a few thousand rows a
// transaction.
func (w *scaleWorld) seedBulk(t *testing.T, rows []seedRow) {
	t.Helper()
	for i := range rows {
		r := &rows[i]
		r.contact = conversations.ContactID("wa-main", r.from)
		r.id = r.contact + "-1"
		r.msgID = fmt.Sprintf("wamid.bulk.%d", i)
		r.order = fmt.Sprintf("%019d:%s", 0, r.msgID)
		r.atMS = r.at.UnixMilli()
		q := routing.Query{ID: r.id, Channel: "wa-main", State: r.state, Type: r.typ, Assignee: r.assignee, Cycle: 1}
		if r.state == routing.StateClosed {
			q.Resolution = "solved"
			r.resolved = "solved"
		}
		b, _ := json.Marshal(q)
		r.routingJSON = string(b)
	}
	const batch = 1000 // 19 values a conversation: under SQLite's 32,766 a statement
	for lo := 0; lo < len(rows); lo += batch {
		part := rows[lo:min(lo+batch, len(rows))]
		tx, err := w.db.SQL().Begin()
		if err != nil {
			t.Fatal(err)
		}
		insert(t, tx, "contacts (id, channel, external_id, profile_name, query_seq, created_at, last_inbound_at, last_inbound_order)", len(part),
			func(i int) []any {
				r := part[i]
				return []any{r.contact, "wa-main", r.from, r.name, 1, r.atMS, r.atMS, r.order}
			})
		var terms [][2]any
		for _, r := range part {
			for _, term := range r.terms() {
				terms = append(terms, [2]any{[]byte(term), r.contact})
			}
		}
		for tlo := 0; tlo < len(terms); tlo += 5000 {
			tp := terms[tlo:min(tlo+5000, len(terms))]
			insert(t, tx, "contact_terms (term, contact_id)", len(tp), func(i int) []any { return tp[i][:] })
		}
		insert(t, tx, `conversations (id, contact_id, channel, state, routed, query_type, assignee, resolution, routing, version,
			pool_since, assigned_at, inbound_count, created_at, updated_at, closed_at, last_inbound_at, last_inbound_order, activity_at)`, len(part),
			func(i int) []any {
				r := part[i]
				var pool, assigned, closed int64
				switch r.state {
				case routing.StatePending:
					pool = r.atMS
				case routing.StateAssigned:
					assigned = r.atMS
				case routing.StateClosed:
					closed = r.atMS
				}
				return []any{r.id, r.contact, "wa-main", r.state, true, r.typ, r.assignee, r.resolved, r.routingJSON, 1,
					pool, assigned, 1, r.atMS, r.atMS, closed, r.atMS, r.order, r.atMS}
			})
		insert(t, tx, "messages (contact_id, id, conversation_id, channel, direction, at, seq, body, routed)", len(part),
			func(i int) []any {
				r := part[i]
				body, _ := json.Marshal(&channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: r.msgID, From: r.from,
					ProfileName: r.name, Timestamp: r.at, Type: channels.TypeText, Text: "oi"})
				return []any{r.contact, r.msgID, r.id, "wa-main", "in", r.atMS, 0, string(body), true}
			})
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// insert runs one multi-row INSERT INTO into of n rows, each row's values
// from row.
func insert(t *testing.T, tx *sql.Tx, into string, n int, row func(i int) []any) {
	t.Helper()
	var b strings.Builder
	var args []any
	b.WriteString("INSERT INTO " + into + " VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range row(i) {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteByte(')')
	}
	if _, err := tx.Exec(b.String(), args...); err != nil {
		t.Fatalf("insert into %s: %v", strings.Fields(into)[0], err)
	}
}

// get times one GET /api/v1/conversations?query, from sending the request
// to reading the whole body, and returns the page.
func (w *scaleWorld) get(t *testing.T, token, query string) (time.Duration, listPage) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/conversations?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /conversations?%s at %d: %d %s %v", query, w.n, resp.StatusCode, body, err)
	}
	var p listPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return d, p
}

// wantPage fails unless p has at least min rows (exactly a full page of
// 50 and a next page if full).
func wantPage(t *testing.T, p listPage, min int, full bool) {
	t.Helper()
	if len(p.Conversations) < min || (full && (len(p.Conversations) != 50 || p.NextCursor == "")) {
		t.Fatalf("a page of %d conversations, next %q; want at least %d (full: %v)", len(p.Conversations), p.NextCursor, min, full)
	}
}

// wantOld fails unless p is Dona Jurema's one conversation, complete.
func (w *scaleWorld) wantOld(t *testing.T, p listPage) {
	t.Helper()
	if len(p.Conversations) != 1 || p.Conversations[0].ID != w.old || p.NextCursor != "" {
		t.Fatalf("at %d: %d conversations (next %q), want only %s, in one response", w.n, len(p.Conversations), p.NextCursor, w.old)
	}
}

// percentiles returns the 50th and 99th percentiles and the maximum.
func percentiles(d []time.Duration) (p50, p99, max time.Duration) {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return at(0.50), at(0.99), s[len(s)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
