package routing_test

import (
	"strings"
	"testing"

	"switchboard/routing"
	"switchboard/settings"
)

// typeHoursDoc gives two query types their own opening hours. São Paulo,
// as in doc; every type is a claim pool, so an open type's query is
// pooled and a closed one's waits or is not referred.
//
//   - general has none: the global plan (weekdays 09:00-18:00, Christmas
//     closed) and the global out-of-hours reply, queued until open.
//   - payments runs 24/7.
//   - claims closes at 16:00 on weekdays, opens Saturday morning, is
//     closed on Friday 27/11 and open on Christmas morning (its special
//     dates, not the global ones), and has its own reply.
//   - followup keeps the global plan but is not queued until open.
const typeHoursDoc = `
timezone: America/Sao_Paulo
opening_hours:
  weekly:
    mon: ["09:00-18:00"]
    tue: ["09:00-18:00"]
    wed: ["09:00-18:00"]
    thu: ["09:00-18:00"]
    fri: ["09:00-18:00"]
  special:
    - {date: "2026-12-25", closed: true}
  out_of_hours:
    reply: out_of_hours
    queue_until_open: true
menu:
  enabled: MENU
  prompt: menu
default_query_type: general
query_types:
  - id: payments
    PAYMENTS_KEY
    keywords: [pagar]
    opening_hours:
      weekly:
        mon: ["00:00-24:00"]
        tue: ["00:00-24:00"]
        wed: ["00:00-24:00"]
        thu: ["00:00-24:00"]
        fri: ["00:00-24:00"]
        sat: ["00:00-24:00"]
        sun: ["00:00-24:00"]
  - id: claims
    menu_key: "2"
    keywords: [reclamar]
    opening_hours:
      weekly:
        mon: ["08:00-16:00"]
        tue: ["08:00-16:00"]
        wed: ["08:00-16:00"]
        thu: ["08:00-16:00"]
        fri: ["08:00-16:00"]
        sat: ["10:00-12:00"]
      special:
        - {date: "2026-11-27", closed: true}
        - {date: "2026-12-25", hours: ["10:00-12:00"]}
      out_of_hours:
        reply: claims_closed
  - id: followup
    keywords: [acompanhar]
    opening_hours:
      out_of_hours: {queue_until_open: false}
  - id: general
    menu_key: "3"
templates:
  - {id: out_of_hours, language: pt, text: "Fechado. Abrimos {{next_open}}."}
  - {id: claims_closed, language: pt, text: "Reclamações: abrimos {{next_open}}."}
  - {id: menu, language: pt, text: "1 Pagamentos, 2 Reclamações, 3 Outros"}
`

// compileTypeHours compiles typeHoursDoc, with the menu on or off, and
// payments offered in the menu or not.
func compileTypeHours(t *testing.T, menu, paymentsInMenu bool) *routing.Settings {
	t.Helper()
	key := ""
	if paymentsInMenu {
		key = `menu_key: "1"`
	}
	enabled := "false"
	if menu {
		enabled = "true"
	}
	c, err := settings.Parse([]byte(strings.NewReplacer("MENU", enabled, "PAYMENTS_KEY", key).Replace(typeHoursDoc)))
	if err != nil {
		t.Fatal(err)
	}
	return c.Routing
}

// The same instant is open for one type and closed for another; each
// closed type answers with its own reply and its own next opening, and
// waits for its own opening.
func TestOpeningHoursPerQueryType(t *testing.T) {
	s := compileTypeHours(t, false, true)
	tests := []struct {
		name     string
		text     string
		day, at  string // as at() reads them
		outcome  routing.Outcome
		typ      string
		reply    string // the reply template, "" for none
		nextOpen string // its {{next_open}}, and the release of a queued query
	}{
		{name: "claims closed at 16:00 while the global plan is open",
			text: "quero reclamar", day: "tue", at: "17:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "claims",
			reply: "claims_closed", nextOpen: "Wed 25/11 08:00"},
		{name: "payments open at the same instant",
			text: "quero pagar", day: "tue", at: "17:00:00", outcome: routing.OutcomePooled, typ: "payments"},
		{name: "a type without hours of its own follows the global plan: open",
			text: "olá", day: "tue", at: "17:00:00", outcome: routing.OutcomePooled, typ: "general"},
		{name: "claims opens before the global plan",
			text: "quero reclamar", day: "tue", at: "08:30:00", outcome: routing.OutcomePooled, typ: "claims"},
		{name: "the global plan is closed before 09:00",
			text: "olá", day: "tue", at: "08:30:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "general",
			reply: "out_of_hours", nextOpen: "Tue 24/11 09:00"},
		{name: "payments runs through the night",
			text: "quero pagar", day: "tue", at: "23:00:00", outcome: routing.OutcomePooled, typ: "payments"},
		{name: "payments runs through the weekend",
			text: "quero pagar", day: "sun", at: "03:00:00", outcome: routing.OutcomePooled, typ: "payments"},
		{name: "claims' Saturday morning, closed in the global plan",
			text: "quero reclamar", day: "sat", at: "11:00:00", outcome: routing.OutcomePooled, typ: "claims"},
		{name: "general waits from Saturday to Monday",
			text: "olá", day: "sat", at: "11:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "general",
			reply: "out_of_hours", nextOpen: "Mon 30/11 09:00"},
		{name: "claims after its Saturday morning waits for Monday 08:00",
			text: "quero reclamar", day: "sat", at: "12:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "claims",
			reply: "claims_closed", nextOpen: "Mon 30/11 08:00"},
		{name: "claims' special date closed while the global plan is open",
			text: "quero reclamar", day: "fri", at: "10:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "claims",
			reply: "claims_closed", nextOpen: "Sat 28/11 10:00"},
		{name: "general open on claims' closed date",
			text: "olá", day: "fri", at: "10:00:00", outcome: routing.OutcomePooled, typ: "general"},
		{name: "claims' special hours on a date the global plan closes",
			text: "quero reclamar", day: "xmas", at: "11:00:00", outcome: routing.OutcomePooled, typ: "claims"},
		{name: "the global special date closes general",
			text: "olá", day: "xmas", at: "11:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "general",
			reply: "out_of_hours", nextOpen: "Mon 28/12 09:00"},
		{name: "the global special date does not close payments, whose plan is its own",
			text: "quero pagar", day: "xmas", at: "11:00:00", outcome: routing.OutcomePooled, typ: "payments"},
		{name: "after claims' special hours, its weekly plan is next",
			text: "quero reclamar", day: "xmas", at: "13:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "claims",
			reply: "claims_closed", nextOpen: "Sat 26/12 10:00"},
		{name: "own out_of_hours only: the global plan and reply, not queued",
			text: "acompanhar pedido", day: "tue", at: "20:00:00", outcome: routing.OutcomeNotReferred, typ: "followup",
			reply: "out_of_hours", nextOpen: "Wed 25/11 09:00"},
		{name: "own out_of_hours only: open with the global plan",
			text: "acompanhar pedido", day: "tue", at: "10:00:00", outcome: routing.OutcomePooled, typ: "followup"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, routing.Roster{},
				routing.Message{Channel: "wa-main", Text: tc.text, At: at(tc.day, tc.at)})
			if d.Outcome != tc.outcome || d.Type != tc.typ {
				t.Fatalf("got %s type=%s; want %s type=%s", d.Outcome, d.Type, tc.outcome, tc.typ)
			}
			var got, want []string
			for _, r := range d.Replies {
				got = append(got, r.Template+" next_open="+r.Vars["next_open"]+" reason="+r.Reason)
			}
			if tc.reply != "" {
				want = []string{tc.reply + " next_open=" + tc.nextOpen + " reason=out_of_hours"}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("replies %q, want %q", got, want)
			}
			queued := tc.outcome == routing.OutcomeQueuedUntilOpen
			var release, wantRelease string
			if !d.ReleaseAt.IsZero() {
				release = d.ReleaseAt.In(sp).Format("Mon 02/01 15:04")
			}
			if queued {
				wantRelease = tc.nextOpen
			}
			if release != wantRelease || d.Query.QueuedUntilOpen != queued {
				t.Fatalf("released at %q (queued %v), want %q", release, d.Query.QueuedUntilOpen, wantRelease)
			}
		})
	}
}

// A claims query queued out of claims' hours: a second message in the
// same closed period gets no second reply, a release that comes early
// (claims still closed, though the global plan is open) keeps it queued
// without a reply, and the release at claims' opening routes it. The next
// closed period of claims replies again.
func TestQueuedUntilTheTypeOpens(t *testing.T) {
	s := compileTypeHours(t, false, true)
	d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, routing.Roster{},
		routing.Message{Channel: "wa-main", Text: "quero reclamar", At: at("tue", "17:00:00")})
	if d.Outcome != routing.OutcomeQueuedUntilOpen || len(d.Replies) != 1 || !d.ReleaseAt.Equal(at("wed", "08:00:00")) {
		t.Fatalf("first message: %+v", d)
	}
	again := routing.OnMessage(s, d.Query, routing.Contact{}, routing.Roster{},
		routing.Message{Channel: "wa-main", Text: "alô?", At: at("wed", "07:00:00")})
	if len(again.Replies) != 0 || !again.Query.QueuedUntilOpen {
		t.Fatalf("second message in claims' closed period: %+v", again)
	}
	early := routing.OnRelease(s, again.Query, routing.Contact{}, routing.Roster{}, at("tue", "17:30:00"))
	if early.Outcome != routing.OutcomeQueuedUntilOpen || len(early.Replies) != 0 || !early.ReleaseAt.Equal(at("wed", "08:00:00")) {
		t.Fatalf("release while claims is closed and the global plan open: %+v", early)
	}
	open := routing.OnRelease(s, early.Query, routing.Contact{}, routing.Roster{}, at("wed", "08:00:00"))
	if open.Outcome != routing.OutcomePooled || open.Query.QueuedUntilOpen || open.Type != "claims" {
		t.Fatalf("release at claims' opening: %+v", open)
	}
	// Closed again at Wednesday 16:00; a new cycle out of hours replies
	// once more, for the new closed period.
	next := routing.OnMessage(s, routing.OnSessionEnd(open.Query), routing.Contact{}, routing.Roster{},
		routing.Message{Channel: "wa-main", Text: "quero reclamar de novo", At: at("wed", "16:00:00")})
	if next.Outcome != routing.OutcomeQueuedUntilOpen || len(next.Replies) != 1 || next.Replies[0].Vars["next_open"] != "Thu 26/11 08:00" {
		t.Fatalf("next closed period: %+v", next)
	}
}

// Before a type is chosen, the only hours rule is the menu's: it is sent
// while any type it offers is open, so a customer can still reach a 24/7
// department when the global plan is closed; the type answered then has
// its own hours.
func TestMenuAndPerTypeHours(t *testing.T) {
	tests := []struct {
		name           string
		paymentsInMenu bool
		day, at        string
		answer         string // "" to check the first message only
		outcome        routing.Outcome
		typ            string
		reply          string
	}{
		{name: "global plan closed, payments open: the menu is sent",
			paymentsInMenu: true, day: "tue", at: "20:00:00", outcome: routing.OutcomeMenuPrompted, reply: "menu"},
		{name: "the answer payments is routed at once",
			paymentsInMenu: true, day: "tue", at: "20:00:00", answer: "1", outcome: routing.OutcomePooled, typ: "payments"},
		{name: "the answer claims gets claims' reply",
			paymentsInMenu: true, day: "tue", at: "20:00:00", answer: "2", outcome: routing.OutcomeQueuedUntilOpen, typ: "claims", reply: "claims_closed"},
		{name: "every menu type closed: no menu, the default type decides",
			paymentsInMenu: false, day: "tue", at: "20:00:00", outcome: routing.OutcomeQueuedUntilOpen, typ: "general", reply: "out_of_hours"},
		{name: "claims open alone, before the global plan: the menu is sent",
			paymentsInMenu: false, day: "tue", at: "08:30:00", outcome: routing.OutcomeMenuPrompted, reply: "menu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := compileTypeHours(t, true, tc.paymentsInMenu)
			msg := routing.Message{Channel: "wa-main", Text: "oi", At: at(tc.day, tc.at)}
			d := routing.OnMessage(s, routing.Query{ID: "q"}, routing.Contact{}, routing.Roster{}, msg)
			if tc.answer != "" {
				if d.Outcome != routing.OutcomeMenuPrompted {
					t.Fatalf("first message: %s, want the menu", d.Outcome)
				}
				msg.Text = tc.answer
				d = routing.OnMessage(s, d.Query, routing.Contact{}, routing.Roster{}, msg)
			}
			var replies []string
			for _, r := range d.Replies {
				replies = append(replies, r.Template)
			}
			if d.Outcome != tc.outcome || d.Type != tc.typ || strings.Join(replies, ",") != tc.reply {
				t.Fatalf("got %s type=%q replies=%v; want %s type=%q replies=[%s]", d.Outcome, d.Type, replies, tc.outcome, tc.typ, tc.reply)
			}
		})
	}
}

// Each part of a type's opening hours falls back to the global one on its
// own.
func TestScheduleFallsBackFieldByField(t *testing.T) {
	s := compileTypeHours(t, false, true)
	for _, tc := range []struct {
		typ   string
		own   bool // hours of its own, not the global plan
		reply string
		queue bool
	}{
		{"general", false, "out_of_hours", true},
		{"", false, "out_of_hours", true}, // no type chosen yet
		{"nope", false, "out_of_hours", true},
		{"payments", true, "out_of_hours", true},
		{"claims", true, "claims_closed", true},
		{"followup", false, "out_of_hours", false},
	} {
		sc := s.ScheduleFor(tc.typ)
		if (sc.Hours != s.Hours) != tc.own || sc.OutOfHoursReply != tc.reply || sc.QueueUntilOpen != tc.queue {
			t.Errorf("ScheduleFor(%q) = own hours %v, reply %q, queue %v; want %v, %q, %v",
				tc.typ, sc.Hours != s.Hours, sc.OutOfHoursReply, sc.QueueUntilOpen, tc.own, tc.reply, tc.queue)
		}
	}
	// A type may turn the reply off: reply "" sends none.
	doc := strings.NewReplacer("MENU", "false", "PAYMENTS_KEY", "", "reply: claims_closed", `reply: ""`).Replace(typeHoursDoc)
	c, err := settings.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := routing.OnMessage(c.Routing, routing.Query{ID: "q"}, routing.Contact{}, routing.Roster{},
		routing.Message{Channel: "wa-main", Text: "quero reclamar", At: at("tue", "17:00:00")})
	if d.Outcome != routing.OutcomeQueuedUntilOpen || len(d.Replies) != 0 {
		t.Fatalf("claims with reply \"\": %s, replies %+v; want queued with no reply", d.Outcome, d.Replies)
	}
}
