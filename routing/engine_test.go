package routing_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/routing"
	"switchboard/settings"
)

// The settings every table below routes with. São Paulo has no DST.
const doc = `
timezone: America/Sao_Paulo
opening_hours:
  weekly:
    mon: ["09:00-13:00", "14:00-18:00"]
    tue: ["09:00-18:00"]
    wed: ["09:00-18:00"]
    thu: ["09:00-18:00"]
    fri: ["09:00-18:00"]
    sat: ["22:00-02:00"]
  special:
    - {date: "2026-12-25", closed: true}
  out_of_hours:
    reply: out_of_hours
    queue_until_open: true
session:
  window: 24h
  free_entry_point_window: 72h
menu:
  enabled: %s
  prompt: menu
  max_attempts: 2
default_query_type: general
query_types:
  - id: payments
    name: Payments
    menu_key: "1"
    keywords: [pago, pagamento, payment, bayar]
    entry_points: [{channel: wa-main, referral_source_id: "120000000000001"}]
    groups: [billing]
    strategy: round_robin
    no_reply_timeout: 15m
  - id: claims
    name: Claims
    menu_key: "2"
    keywords: [reclamação, "não funciona"]
    entry_points: [{text: "quero reclamar"}]
    groups: [care]
    strategy: least_loaded
  - id: general
    name: General
    menu_key: "3"
    strategy: claim
templates:
  - {id: out_of_hours, language: pt, text: "Estamos fora do horário. Respondemos a partir das {{next_open}}."}
  - {id: menu, language: pt, text: "Escolha: 1 Pagamentos, 2 Reclamações, 3 Outros"}
`

func compile(t *testing.T, menu bool) *routing.Settings {
	t.Helper()
	enabled := "false"
	if menu {
		enabled = "true"
	}
	c, err := settings.Parse([]byte(strings.Replace(doc, "%s", enabled, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return c.Routing.WithStaff(staff)
}

// staff are the accounts every table below routes to: ana serves payments
// herself and is in billing with bruno (billing serves payments); carla
// and davi are care (claims); eva serves nothing and one channel only; zed
// is disabled.
var staff = []routing.Member{
	{ID: "ana", Capacity: 2, QueryTypes: []string{"payments"}, Groups: []string{"billing"}},
	{ID: "bruno", Capacity: 2, Groups: []string{"billing"}},
	{ID: "carla", Capacity: 4, Groups: []string{"care"}},
	{ID: "davi", Capacity: 2, Groups: []string{"care"}},
	{ID: "eva", Capacity: 3, Channels: []string{"wa-main"}},
	{ID: "zed", Capacity: 5, Groups: []string{"billing"}, Disabled: true},
}

var sp = mustLoad("America/Sao_Paulo")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at is a São Paulo wall-clock time in the week of Monday 2026-11-23.
func at(day, hhmmss string) time.Time {
	days := map[string]string{"mon": "2026-11-23", "tue": "2026-11-24", "wed": "2026-11-25", "thu": "2026-11-26", "fri": "2026-11-27", "sat": "2026-11-28", "sun": "2026-11-29", "xmas": "2026-12-25"}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", days[day]+" "+hhmmss, sp)
	if err != nil {
		panic(err)
	}
	return t
}

var everyoneOnline = routing.Roster{
	"ana":   {Presence: routing.PresenceOnline, Load: 0, LastAssigned: at("mon", "08:00:00")},
	"bruno": {Presence: routing.PresenceOnline, Load: 0, LastAssigned: at("mon", "07:00:00")},
	"carla": {Presence: routing.PresenceOnline, Load: 2},
	"davi":  {Presence: routing.PresenceOnline, Load: 1},
	"eva":   {Presence: routing.PresenceOnline},
}

func TestFirstMessageRouting(t *testing.T) {
	s := compile(t, false)
	tests := []struct {
		name     string
		msg      routing.Message
		contact  routing.Contact
		roster   routing.Roster
		outcome  routing.Outcome
		typ      string
		assignee string
		replies  []string
		free     bool
	}{
		{name: "keyword, round robin to who waited longest",
			msg: routing.Message{Channel: "wa-main", Text: "Oi, quero fazer um PAGAMENTO", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "payments", assignee: "bruno"},
		{name: "accent-insensitive keyword phrase, least loaded relative to capacity",
			msg: routing.Message{Channel: "wa-main", Text: "O app nao funciona!", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			// carla 2/4 = 0.5, davi 1/2 = 0.5: tie broken by turn then id.
			outcome: routing.OutcomeAssigned, typ: "claims", assignee: "carla"},
		{name: "keyword must be a whole word",
			msg: routing.Message{Channel: "wa-main", Text: "pagode no sábado?", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomePooled, typ: "general"},
		{name: "no rule matches: default type, claim pool",
			msg: routing.Message{Channel: "wa-main", Text: "hola", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomePooled, typ: "general"},
		{name: "ad referral entry point beats the keyword and makes a free entry",
			msg: routing.Message{Channel: "wa-main", Text: "reclamação", ReferralSourceID: "120000000000001", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "payments", assignee: "bruno", free: true},
		{name: "referral on another channel does not match the entry point",
			msg: routing.Message{Channel: "wa-other", Text: "hola", ReferralSourceID: "120000000000001", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomePooled, typ: "general", free: true},
		{name: "deep-link prefilled text",
			msg: routing.Message{Channel: "wa-main", Text: "Quero reclamar do pedido 42", At: at("tue", "10:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "claims", assignee: "carla"},
		{name: "portfolio owner gets the customer, whatever the text",
			msg: routing.Message{Channel: "wa-main", Text: "pagamento", At: at("tue", "10:00:00")}, contact: routing.Contact{PortfolioOwner: "eva"}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "general", assignee: "eva"},
		{name: "portfolio owner who does not serve the channel is skipped",
			msg: routing.Message{Channel: "wa-other", Text: "pagamento", At: at("tue", "10:00:00")}, contact: routing.Contact{PortfolioOwner: "eva"}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "payments", assignee: "bruno"},
		{name: "disabled portfolio owner is skipped",
			msg: routing.Message{Channel: "wa-main", Text: "hola", At: at("tue", "10:00:00")}, contact: routing.Contact{PortfolioOwner: "zed"}, roster: everyoneOnline,
			outcome: routing.OutcomePooled, typ: "general"},
		{name: "nobody online: waits in the pool",
			msg: routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "10:00:00")}, roster: routing.Roster{},
			outcome: routing.OutcomePooled, typ: "payments"},
		{name: "everyone at capacity: waits in the pool",
			msg:     routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "10:00:00")},
			roster:  routing.Roster{"ana": {Presence: routing.PresenceOnline, Load: 2}, "bruno": {Presence: routing.PresenceOnline, Load: 2}},
			outcome: routing.OutcomePooled, typ: "payments"},
		{name: "away operators are not assigned",
			msg:     routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "10:00:00")},
			roster:  routing.Roster{"ana": {Presence: routing.PresenceOnline, Load: 1}, "bruno": {Presence: routing.PresenceAway}},
			outcome: routing.OutcomeAssigned, typ: "payments", assignee: "ana"},
		{name: "out of hours: queued until open, reply with the next opening",
			msg: routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "19:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeQueuedUntilOpen, typ: "payments", replies: []string{"out_of_hours"}},
		{name: "lunch gap on Monday is closed",
			msg: routing.Message{Channel: "wa-main", Text: "pago", At: at("mon", "13:30:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeQueuedUntilOpen, typ: "payments", replies: []string{"out_of_hours"}},
		{name: "Christmas is closed all day",
			msg: routing.Message{Channel: "wa-main", Text: "pago", At: at("xmas", "11:00:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeQueuedUntilOpen, typ: "payments", replies: []string{"out_of_hours"}},
		{name: "Saturday night shift runs past midnight",
			msg: routing.Message{Channel: "wa-main", Text: "pago", At: at("sun", "01:30:00")}, roster: everyoneOnline,
			outcome: routing.OutcomeAssigned, typ: "payments", assignee: "bruno"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.OnMessage(s, routing.Query{ID: "q-1"}, tc.contact, tc.roster, tc.msg)
			if d.Outcome != tc.outcome || d.Type != tc.typ || d.Query.Assignee != tc.assignee {
				t.Fatalf("got %s type=%s assignee=%q; want %s type=%s assignee=%q", d.Outcome, d.Type, d.Query.Assignee, tc.outcome, tc.typ, tc.assignee)
			}
			var replies []string
			for _, r := range d.Replies {
				replies = append(replies, r.Template)
			}
			if len(replies) != len(tc.replies) || (len(replies) > 0 && replies[0] != tc.replies[0]) {
				t.Fatalf("replies %v, want %v", replies, tc.replies)
			}
			if d.Query.FreeEntry != tc.free {
				t.Fatalf("free entry = %v, want %v", d.Query.FreeEntry, tc.free)
			}
			window := 24 * time.Hour
			if tc.free {
				window = 72 * time.Hour
			}
			if !d.SessionExpiresAt.Equal(tc.msg.At.Add(window)) {
				t.Fatalf("session expires %v, want %v", d.SessionExpiresAt, tc.msg.At.Add(window))
			}
			wantState := routing.StatePending
			if tc.outcome == routing.OutcomeAssigned {
				wantState = routing.StateAssigned
			}
			if d.Query.State != wantState {
				t.Fatalf("state %s, want %s", d.Query.State, wantState)
			}
		})
	}
}

func TestOutOfHoursReplyOncePerClosedPeriod(t *testing.T) {
	s := compile(t, false)
	d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "19:00:00")})
	if len(d.Replies) != 1 || d.Replies[0].Vars["next_open"] == "" {
		t.Fatalf("first message out of hours: replies %+v", d.Replies)
	}
	if want := at("wed", "09:00:00"); !d.ReleaseAt.Equal(want) {
		t.Fatalf("release at %v, want %v", d.ReleaseAt, want)
	}
	// A second message in the same closed period: no second reply.
	d2 := routing.OnMessage(s, d.Query, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "alô?", At: at("wed", "08:59:59")})
	if len(d2.Replies) != 0 || d2.Query.State != routing.StatePending {
		t.Fatalf("second message, same closed period: replies %+v state %s", d2.Replies, d2.Query.State)
	}
	// At opening, the release assigns it.
	r := routing.OnRelease(s, d2.Query, routing.Contact{}, everyoneOnline, at("wed", "09:00:00"))
	if r.Outcome != routing.OutcomeAssigned || r.Query.Assignee != "bruno" || r.Query.QueuedUntilOpen {
		t.Fatalf("release at opening: %+v", r)
	}
	// Next closed period, the customer writes again: one more reply.
	d3 := routing.OnMessage(s, r.Query, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "ainda aí?", At: at("wed", "18:00:00")})
	if d3.Outcome != routing.OutcomeContinued || d3.Query.Assignee != "bruno" {
		t.Fatalf("assigned query stays with its operator: %+v", d3)
	}
}

func TestMenu(t *testing.T) {
	s := compile(t, true)
	msg := func(text, reply string) routing.Message {
		return routing.Message{Channel: "wa-main", Text: text, ReplyID: reply, At: at("tue", "10:00:00")}
	}
	d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, everyoneOnline, msg("pagamento", ""))
	if d.Outcome != routing.OutcomeMenuPrompted || len(d.Replies) != 1 || d.Replies[0].Template != "menu" || !d.Query.AwaitingMenu {
		t.Fatalf("first message with the menu on: %+v", d)
	}
	// Typed key.
	if d2 := routing.OnMessage(s, d.Query, routing.Contact{}, everyoneOnline, msg(" 2. ", "")); d2.Type != "claims" || d2.Outcome != routing.OutcomeAssigned {
		t.Fatalf("answer 2: %+v", d2)
	}
	// Tapped list item (its id is the key).
	if d2 := routing.OnMessage(s, d.Query, routing.Contact{}, everyoneOnline, msg("Payments", "1")); d2.Type != "payments" {
		t.Fatalf("tapped 1: %+v", d2)
	}
	// Two wrong answers re-prompt, the third falls back to the default.
	q := d.Query
	for i := 1; i <= 2; i++ {
		d := routing.OnMessage(s, q, routing.Contact{}, everyoneOnline, msg("what?", ""))
		if d.Outcome != routing.OutcomeMenuPrompted || d.Query.MenuAttempts != i {
			t.Fatalf("wrong answer %d: %+v", i, d)
		}
		q = d.Query
	}
	d3 := routing.OnMessage(s, q, routing.Contact{}, everyoneOnline, msg("???", ""))
	if d3.Type != "general" || d3.Outcome != routing.OutcomePooled || d3.Query.AwaitingMenu {
		t.Fatalf("after max attempts: %+v", d3)
	}
	// Out of hours the menu is not sent: keyword/default decide and the
	// query waits for opening.
	d4 := routing.OnMessage(s, routing.Query{ID: "q2"}, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "pagamento", At: at("tue", "20:00:00")})
	if d4.Outcome != routing.OutcomeQueuedUntilOpen || d4.Type != "payments" {
		t.Fatalf("menu out of hours: %+v", d4)
	}
}

func TestNoReplyTimeoutGoesToTheNextOperator(t *testing.T) {
	s := compile(t, false)
	d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "pago", At: at("tue", "10:00:00")})
	if d.Query.Assignee != "bruno" || !d.NoReplyAt.Equal(at("tue", "10:15:00")) {
		t.Fatalf("assigned %q with no-reply deadline %v", d.Query.Assignee, d.NoReplyAt)
	}
	roster := routing.Roster{
		"ana":   everyoneOnline["ana"],
		"bruno": {Presence: routing.PresenceOnline, Load: 1, LastAssigned: at("tue", "10:00:00")},
	}
	n := routing.OnNoReply(s, d.Query, routing.Contact{}, roster, at("tue", "10:15:00"))
	if n.Outcome != routing.OutcomeAssigned || n.Query.Assignee != "ana" {
		t.Fatalf("after no reply: %+v", n)
	}
	// If the one who timed out is the only one available, they get it again
	// rather than the customer waiting.
	only := routing.Roster{"bruno": {Presence: routing.PresenceOnline}}
	if n := routing.OnNoReply(s, d.Query, routing.Contact{}, only, at("tue", "10:15:00")); n.Query.Assignee != "bruno" {
		t.Fatalf("only bruno online: %+v", n)
	}
}

func TestSessionEndAndNewCycle(t *testing.T) {
	s := compile(t, false)
	d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, everyoneOnline,
		routing.Message{Channel: "wa-main", Text: "pago", ReferralSourceID: "120000000000001", At: at("tue", "10:00:00")})
	if !d.SessionExpiresAt.Equal(at("fri", "10:00:00")) {
		t.Fatalf("free entry session ends %v, want 72h later", d.SessionExpiresAt)
	}
	ended := routing.OnSessionEnd(d.Query)
	if ended.State != routing.StateInactive || ended.Assignee != "" {
		t.Fatalf("after the session: %+v", ended)
	}
	// The customer writes again: a new cycle, routed afresh (not back to
	// bruno by memory: round robin now picks ana, who waited longest).
	roster := routing.Roster{
		"ana":   everyoneOnline["ana"],
		"bruno": {Presence: routing.PresenceOnline, LastAssigned: at("tue", "10:00:00")},
	}
	again := routing.OnMessage(s, ended, routing.Contact{}, roster,
		routing.Message{Channel: "wa-main", Text: "pago de novo", At: at("fri", "11:00:00")})
	if again.Query.Cycle != 2 || again.Query.Assignee != "ana" || again.Query.FreeEntry || !again.SessionExpiresAt.Equal(at("sat", "11:00:00")) {
		t.Fatalf("new cycle: %+v", again)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"Reclamação": "reclamacao", " PAGAMENTO ": "pagamento", "Ñandú": "nandu"} {
		if got := routing.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionWindowEdges(t *testing.T) {
	s := compile(t, false)
	last := at("tue", "10:00:00")
	for _, tc := range []struct {
		free bool
		want time.Duration
	}{{false, 24 * time.Hour}, {true, 72 * time.Hour}} {
		end := routing.SessionEnd(s, routing.Query{FreeEntry: tc.free}, last)
		if end.Sub(last) != tc.want {
			t.Fatalf("free=%v: session ends %v after the last message, want %v", tc.free, end.Sub(last), tc.want)
		}
	}
}

// A query records whether its first message came while its hours were
// closed, once: later messages and cycles keep what the first decided.
func TestOpenedOutOfHours(t *testing.T) {
	s := compile(t, false)
	msg := func(when time.Time) routing.Message {
		return routing.Message{Channel: "wa-main", Text: "oi", At: when}
	}
	for _, tc := range []struct {
		name  string
		first time.Time
		want  bool
	}{
		{"in hours", at("mon", "10:00:00"), false},
		{"at lunch", at("mon", "13:30:00"), true},
		{"on a Sunday", at("sun", "10:00:00"), true},
		{"on Christmas", at("xmas", "10:00:00"), true},
		{"at opening", at("tue", "09:00:00"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, everyoneOnline, msg(tc.first))
			if d.Query.OpenedOutOfHours != tc.want {
				t.Fatalf("first message %s: opened out of hours %v, want %v", tc.first, d.Query.OpenedOutOfHours, tc.want)
			}
			// The customer writes again, in the other half of the day, and
			// in a new cycle after the session ended: unchanged.
			q := d.Query
			for _, later := range []time.Time{at("wed", "11:00:00"), at("wed", "23:00:00")} {
				q = routing.OnMessage(s, q, routing.Contact{}, everyoneOnline, msg(later)).Query
				if q.OpenedOutOfHours != tc.want {
					t.Fatalf("after a message at %s: %v, want %v", later, q.OpenedOutOfHours, tc.want)
				}
			}
			q = routing.OnSessionEnd(q)
			q = routing.OnMessage(s, q, routing.Contact{}, everyoneOnline, msg(at("thu", "03:00:00"))).Query
			if q.Cycle != 2 || q.OpenedOutOfHours != tc.want {
				t.Fatalf("new cycle %d: %v, want %v", q.Cycle, q.OpenedOutOfHours, tc.want)
			}
		})
	}
}
