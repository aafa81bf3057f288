package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/telegram"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// csatSettings survey sales conversations; spam ones are not surveyed.
const csatSettings = `
default_query_type: sales
query_types:
  - {id: sales, name: Sales, strategy: claim}
  - {id: spam, keywords: [spam], strategy: claim, csat: false}
templates:
  - {id: rate, language: en, text: "How did we do, {{contact_name}}?"}
  - {id: thanks, language: en, text: "Thanks for rating us!"}
hsm_templates:
  - {name: csat_survey, language: en, category: utility, body: "How did we do? Tap a rating.", provider_name: csat_v1}
csat:
  enabled: true
  question: rate
  thanks: thanks
  template: {name: csat_survey, language: en}
  answer_within: 1h
`

// surveyed opens a conversation of the customer from on channel with a
// message sent at ts and closes it as an operator does; it returns its id.
func (e *env) surveyed(t *testing.T, channel, from, text string, ts time.Time) string {
	t.Helper()
	m := &channels.Inbound{Channel: channel, Kind: "fake", ID: "in-" + from + "-" + text, From: from, ProfileName: "Ana",
		Timestamp: ts, Arrival: ts.UnixNano(), Type: channels.TypeText, Text: text}
	res := e.apply(t, m)
	if !res.NewQuery {
		t.Fatalf("first message: %+v, want a new conversation", res)
	}
	if _, err := e.Service.Close(context.Background(), res.QueryID, "solved"); err != nil {
		t.Fatal(err)
	}
	return res.QueryID
}

func (e *env) apply(t *testing.T, m *channels.Inbound) conversations.InboundResult {
	t.Helper()
	body, _ := json.Marshal(m)
	res, err := e.Service.ApplyInbound(context.Background(), m, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) query(t *testing.T, id string) *conversations.Query {
	t.Helper()
	q, err := e.Service.Query(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// reply is the customer tapping or typing an answer.
func reply(channel, from, id string, at time.Time, typ string, r *channels.Reply, text string) *channels.Inbound {
	return &channels.Inbound{Channel: channel, Kind: "fake", ID: id, From: from, Timestamp: at, Arrival: at.UnixNano(),
		Type: typ, Reply: r, Text: text}
}

// listRows reads an interactive list request of the Graph API.
func listRows(t *testing.T, body string) (button string, ids, titles []string, text string) {
	t.Helper()
	var req struct {
		Type        string `json:"type"`
		To          string `json:"to"`
		Interactive struct {
			Type   string `json:"type"`
			Body   struct{ Text string }
			Action struct {
				Button   string `json:"button"`
				Sections []struct {
					Title string `json:"title"`
					Rows  []struct{ ID, Title string }
				} `json:"sections"`
			} `json:"action"`
		} `json:"interactive"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if req.Type != "interactive" || req.Interactive.Type != "list" || len(req.Interactive.Action.Sections) != 1 ||
		req.Interactive.Action.Sections[0].Title == "" {
		t.Fatalf("Graph API got %s, want an interactive list of one titled section", body)
	}
	for _, r := range req.Interactive.Action.Sections[0].Rows {
		ids, titles = append(ids, r.ID), append(titles, r.Title)
	}
	return req.Interactive.Action.Button, ids, titles, req.Interactive.Body.Text
}

func TestCSATOverWhatsAppList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		n := 0
		fake := newGraphFake(t, func(int) (int, string) { n++; return 200, sentOK(fmt.Sprintf("wamid.out.%d", n)) })
		e := graphEnvOn(t, fake.srv.URL, db)
		e.ApplySettings(t, csatSettings)
		ctx := context.Background()
		now := time.Now().Truncate(time.Second)
		from := "5511900000001"
		qid := e.surveyed(t, "wa-main", from, "hola", now.Add(-time.Minute))
		e.startWorker(t, 2)
		eventually(t, "the survey sent", func() bool { return len(fake.sent()) == 1 })
		button, ids, titles, body := listRows(t, fake.sent()[0])
		if button != "Rate" || body != "How did we do, Ana?" || !strings.Contains(fake.sent()[0], `"to":"`+from+`"`) ||
			!slices.Equal(ids, []string{"csat:1", "csat:2", "csat:3", "csat:4", "csat:5"}) || titles[4] != "5 ★★★★★" {
			t.Fatalf("survey = %s", fake.sent()[0])
		}
		eventually(t, "the survey recorded sent", func() bool {
			m, _ := e.Service.Message(ctx, qid, "sb-csat-"+qid)
			return m != nil && m.Status == channels.StatusSent && m.Question != nil
		})
		if q := e.query(t, qid); q.CSAT == nil || q.CSAT.Score != 0 || q.CSAT.Until.Sub(q.CSAT.RequestedAt) != time.Hour {
			t.Fatalf("csat before the answer = %+v", q.CSAT)
		}

		// The customer taps 4: stored on the closed conversation, no
		// new one, and the thanks goes out. (Provider times of answers
		// come after the question, recorded at the close.)
		now = time.Now()
		ans := reply("wa-main", from, "wamid.ans", now, channels.TypeInteractive, &channels.Reply{Kind: "list_reply", ID: "csat:4", Title: "4 ★★★★"}, "4 ★★★★")
		res := e.apply(t, ans)
		if res.NewQuery || res.CSAT == nil || res.CSAT.Score != 4 || !res.CSAT.Recorded || res.QueryID != qid {
			t.Fatalf("answer = %+v (csat %+v)", res, res.CSAT)
		}
		if q := e.query(t, qid); q.State != "closed" || q.CSAT.Score != 4 || q.CSAT.AnsweredAt.IsZero() {
			t.Fatalf("after the answer: state %s, csat %+v", q.State, q.CSAT)
		}
		if open := e.openQuery(t, from); open != "" {
			t.Fatalf("the answer opened %s", open)
		}
		eventually(t, "the thanks sent", func() bool { return len(fake.sent()) == 2 })
		if s := fake.sent()[1]; !strings.Contains(s, `"type":"text"`) || !strings.Contains(s, "Thanks for rating us!") {
			t.Fatalf("thanks = %s", s)
		}

		// The same answer redelivered, then a second tap: nothing changes.
		if res := e.apply(t, ans); !res.Duplicate || res.NewQuery {
			t.Fatalf("redelivered answer = %+v", res)
		}
		again := reply("wa-main", from, "wamid.ans2", now.Add(time.Second), channels.TypeInteractive, &channels.Reply{Kind: "list_reply", ID: "csat:1", Title: "1 ★"}, "1 ★")
		if res := e.apply(t, again); res.NewQuery || res.CSAT == nil || res.CSAT.Recorded || res.CSAT.Score != 4 {
			t.Fatalf("second answer = %+v (csat %+v)", res, res.CSAT)
		}
		if q := e.query(t, qid); q.CSAT.Score != 4 || e.openQuery(t, from) != "" {
			t.Fatalf("after a second answer: csat %+v, open %q", q.CSAT, e.openQuery(t, from))
		}
		thanks := 0
		for _, m := range e.history(t, qid) {
			if m.ID == "sb-csat-thanks-"+qid {
				thanks++
			}
		}
		if thanks != 1 {
			t.Fatalf("%d thanks in the history, want 1", thanks)
		}

		// Anything else is routed as ever: a new conversation.
		if res := e.apply(t, text("wamid.next", from, now.Add(2*time.Second), now.Add(2*time.Second).UnixNano())); !res.NewQuery || res.CSAT != nil {
			t.Fatalf("a question after the survey = %+v", res)
		}
	})
}

// graphEnvOn is newEnv on db.
func graphEnvOn(t *testing.T, graphURL string, db *repository.DB) *env {
	t.Helper()
	e := newEnv(t, graphURL, nil)
	e.Env = convtest.New(t, convtest.Options{DB: db})
	return e
}

func TestCSATLapsesAndExpires(t *testing.T) {
	e := newEnv(t, "", nil)
	e.ApplySettings(t, csatSettings)
	now := time.Now().Truncate(time.Second)

	// Another message instead of a rating: the survey lapses, the
	// message opens a conversation, and a later rating is a message of it.
	qid := e.surveyed(t, "wa-main", "5511900000002", "hola", now.Add(-time.Minute))
	now = time.Now()
	res := e.apply(t, text("wamid.other", "5511900000002", now, now.UnixNano()))
	if !res.NewQuery || res.CSAT != nil {
		t.Fatalf("a non-answer = %+v, want a new conversation", res)
	}
	late := e.apply(t, reply("wa-main", "5511900000002", "wamid.late1", now.Add(time.Second), channels.TypeText, nil, "5"))
	if late.NewQuery || late.CSAT != nil || late.QueryID != res.QueryID {
		t.Fatalf("a rating after the survey lapsed = %+v, want a message of %s", late, res.QueryID)
	}
	if q := e.query(t, qid); q.CSAT == nil || q.CSAT.Score != 0 {
		t.Fatalf("lapsed survey = %+v, want unanswered", q.CSAT)
	}

	// A rating after answer_within (1h) is routed as any message.
	qid = e.surveyed(t, "wa-main", "5511900000003", "hola", now.Add(-time.Minute))
	res = e.apply(t, reply("wa-main", "5511900000003", "wamid.late2", now.Add(2*time.Hour), channels.TypeText, nil, "5"))
	if !res.NewQuery || res.CSAT != nil {
		t.Fatalf("a late rating = %+v, want a new conversation", res)
	}
	if q := e.query(t, qid); q.CSAT.Score != 0 {
		t.Fatalf("late rating stored: %+v", q.CSAT)
	}

	// A type that opts out asks nothing, and then a digit is a message.
	qid = e.surveyed(t, "wa-main", "5511900000004", "spam", now.Add(-time.Minute))
	now = time.Now()
	if q := e.query(t, qid); q.QueryType != "spam" || q.CSAT != nil {
		t.Fatalf("opted-out type: %s, csat %+v", q.QueryType, q.CSAT)
	}
	if res := e.apply(t, reply("wa-main", "5511900000004", "wamid.d", now, channels.TypeText, nil, "5")); !res.NewQuery {
		t.Fatalf("a digit with no survey = %+v, want a new conversation", res)
	}
}

func TestCSATOutsideTheWindowIsTheTemplate(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.tpl") })
	e := newEnv(t, fake.srv.URL, nil)
	e.ApplySettings(t, csatSettings)
	now := time.Now().Truncate(time.Second)
	// The customer's last message is two days old.
	qid := e.surveyed(t, "wa-main", "5511900000005", "hola", now.Add(-48*time.Hour))
	e.startWorker(t, 1)
	eventually(t, "the template sent", func() bool { return len(fake.sent()) == 1 })
	s := fake.sent()[0]
	for _, want := range []string{`"type":"template"`, `"name":"csat_v1"`, `"code":"en"`, `"to":"5511900000005"`} {
		if !strings.Contains(s, want) {
			t.Fatalf("Graph API got %s, lacking %s", s, want)
		}
	}
	// The template's quick-reply button, titled with the rating.
	now = time.Now()
	res := e.apply(t, reply("wa-main", "5511900000005", "wamid.btn", now, channels.TypeButton, &channels.Reply{Kind: "button", ID: "5 - Excellent", Title: "5 - Excellent"}, "5 - Excellent"))
	if res.NewQuery || res.CSAT == nil || res.CSAT.Score != 5 {
		t.Fatalf("template answer = %+v (csat %+v)", res, res.CSAT)
	}
	if q := e.query(t, qid); q.CSAT.Score != 5 {
		t.Fatalf("csat = %+v", q.CSAT)
	}

	// Without a template, outside the window nobody is asked.
	e.ApplySettings(t, strings.Replace(csatSettings, "  template: {name: csat_survey, language: en}\n", "", 1))
	qid = e.surveyed(t, "wa-main", "5511900000006", "hola", now.Add(-48*time.Hour))
	if q := e.query(t, qid); q.CSAT != nil || len(e.history(t, qid)) != 1 {
		t.Fatalf("no template: csat %+v, history %d messages, want none asked", q.CSAT, len(e.history(t, qid)))
	}
}

// botFake is an httptest fake of the Bot API's sendMessage.
type botFake struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newBotFake(t *testing.T) *botFake {
	f := &botFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/botbot-token/sendMessage" {
			http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
			return
		}
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		n := len(f.bodies)
		f.mu.Unlock()
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"chat":{"id":4242}}}`, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *botFake) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

func TestCSATOverTelegramKeyboard(t *testing.T) {
	fake := newBotFake(t)
	e := newEnv(t, "", nil)
	tg, err := telegram.New("tg-main", telegram.Config{BotToken: "bot-token", SecretToken: "s", APIBaseURL: fake.srv.URL}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.chans["tg-main"] = tg
	e.ApplySettings(t, csatSettings)
	now := time.Now().Truncate(time.Second)
	qid := e.surveyed(t, "tg-main", "4242", "hola", now.Add(-time.Minute))
	e.startWorker(t, 1)
	eventually(t, "the survey sent", func() bool { return len(fake.sent()) == 1 })
	var req struct {
		ChatID      int64  `json:"chat_id"`
		Text        string `json:"text"`
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				Text         string `json:"text"`
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	if err := json.Unmarshal([]byte(fake.sent()[0]), &req); err != nil {
		t.Fatal(err)
	}
	kb := req.ReplyMarkup.InlineKeyboard
	if req.ChatID != 4242 || req.Text != "How did we do, Ana?" || len(kb) != 1 || len(kb[0]) != 5 ||
		kb[0][0].CallbackData != "csat:1" || kb[0][4].CallbackData != "csat:5" || kb[0][2].Text != "3 ★★★" {
		t.Fatalf("Bot API got %s", fake.sent()[0])
	}
	// The tap arrives as a callback query, which Parse reads as a reply.
	now = time.Now()
	res := e.apply(t, reply("tg-main", "4242", "cb-1", now, channels.TypeInteractive, &channels.Reply{Kind: "callback_query", ID: "csat:2", Title: "csat:2"}, ""))
	if res.NewQuery || res.CSAT == nil || res.CSAT.Score != 2 {
		t.Fatalf("tap = %+v (csat %+v)", res, res.CSAT)
	}
	eventually(t, "the thanks sent", func() bool { return len(fake.sent()) == 2 })
	if !strings.Contains(fake.sent()[1], "Thanks for rating us!") || strings.Contains(fake.sent()[1], "reply_markup") {
		t.Fatalf("thanks = %s", fake.sent()[1])
	}
	if q := e.query(t, qid); q.CSAT.Score != 2 {
		t.Fatalf("csat = %+v", q.CSAT)
	}
}

// textOnly is a provider with text and nothing else (no choices).
type textOnly struct {
	mu    sync.Mutex
	texts []string
}

func (c *textOnly) ID() string   { return "sms-main" }
func (c *textOnly) Kind() string { return "fake" }
func (c *textOnly) SendText(_ context.Context, _, text string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, text)
	return fmt.Sprintf("sms-%d", len(c.texts)), nil
}

func (c *textOnly) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.texts)
}

func TestCSATAsTextWithoutChoices(t *testing.T) {
	ch := &textOnly{}
	e := newEnv(t, "", nil)
	e.chans["sms-main"] = ch
	e.ApplySettings(t, csatSettings)
	now := time.Now().Truncate(time.Second)
	qid := e.surveyed(t, "sms-main", "5511900000007", "hola", now.Add(-time.Minute))
	e.startWorker(t, 1)
	eventually(t, "the survey sent", func() bool { return len(ch.sent()) == 1 })
	want := "How did we do, Ana?\n1. 1 ★\n2. 2 ★★\n3. 3 ★★★\n4. 4 ★★★★\n5. 5 ★★★★★"
	if got := ch.sent()[0]; got != want {
		t.Fatalf("survey text = %q, want %q", got, want)
	}
	now = time.Now()
	res := e.apply(t, reply("sms-main", "5511900000007", "sms-in-2", now, channels.TypeText, nil, " 3 "))
	if res.NewQuery || res.CSAT == nil || res.CSAT.Score != 3 {
		t.Fatalf("answer = %+v (csat %+v)", res, res.CSAT)
	}
	if q := e.query(t, qid); q.CSAT.Score != 3 {
		t.Fatalf("csat = %+v", q.CSAT)
	}
}

// A survey that fails on the close is not lost and does not fail the
// close (a retried close would only find it closed): a timer asks again,
// and the customer gets the question once. Failing before the survey is
// recorded, or after (recorded, its send never queued), alike.
func TestCSATFailedOnCloseIsAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(r *convtest.Faulty) *convtest.Rule
	}{
		{"not recorded", func(r *convtest.Faulty) *convtest.Rule { return r.FailBefore("RequestCSAT", 1) }},
		{"recorded, send not queued", func(r *convtest.Faulty) *convtest.Rule { return r.FailAfter("RequestCSAT", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			fake := newGraphFake(t, func(int) (int, string) { n++; return 200, sentOK(fmt.Sprintf("wamid.out.%d", n)) })
			e := newEnv(t, fake.srv.URL, nil)
			e.ApplySettings(t, csatSettings)
			ctx := context.Background()
			now := time.Now().Truncate(time.Second)
			m := text("wamid.in", "5511900000009", now.Add(-time.Minute), now.UnixNano())
			res := e.apply(t, m)
			fault := tc.fault(e.Repo)
			if q, err := e.Service.Close(ctx, res.QueryID, "solved"); err != nil || q.State != "closed" {
				t.Fatalf("close = %+v, %v; want closed, no error", q, err)
			}
			if fault.Fired() != 1 {
				t.Fatalf("fault fired %d times, want 1", fault.Fired())
			}
			e.startWorker(t, 2)
			eventually(t, "the survey sent", func() bool { return len(fake.sent()) == 1 })
			if _, _, _, body := listRows(t, fake.sent()[0]); body != "How did we do, Ana?" {
				t.Fatalf("survey = %s", fake.sent()[0])
			}
			eventually(t, "the survey recorded sent", func() bool {
				m, _ := e.Service.Message(ctx, res.QueryID, "sb-csat-"+res.QueryID)
				return m != nil && m.Status == channels.StatusSent
			})
			if q := e.query(t, res.QueryID); q.CSAT == nil || q.CSAT.Score != 0 {
				t.Fatalf("csat = %+v, want asked", q.CSAT)
			}
			if s := fake.sent(); len(s) != 1 {
				t.Fatalf("%d sends, want the survey once", len(s))
			}
		})
	}
}

// A survey asked again after the customer wrote anew is not asked: the
// customer is in another conversation by then.
func TestCSATAskedAgainNotAfterANewConversation(t *testing.T) {
	e := newEnv(t, "", nil)
	e.ApplySettings(t, csatSettings)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	res := e.apply(t, text("wamid.in1", "5511900000010", now.Add(-time.Minute), now.UnixNano()))
	e.Repo.FailBefore("RequestCSAT", 1)
	if _, err := e.Service.Close(ctx, res.QueryID, "solved"); err != nil {
		t.Fatal(err)
	}
	next := e.apply(t, text("wamid.in2", "5511900000010", now, now.UnixNano()+1))
	if !next.NewQuery {
		t.Fatalf("the customer's next message = %+v, want a new conversation", next)
	}
	if err := e.Service.AskCSAT(ctx, res.QueryID); err != nil {
		t.Fatal(err)
	}
	if q := e.query(t, res.QueryID); q.CSAT != nil {
		t.Fatalf("csat = %+v, want none asked", q.CSAT)
	}
	for _, m := range e.history(t, res.QueryID) {
		if m.ID == "sb-csat-"+res.QueryID {
			t.Fatal("the survey was recorded")
		}
	}
}
