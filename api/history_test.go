package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/channels"
	"switchboard/routing"
)

// historyPage is one page of GET /conversations/{id}/messages.
type historyPage struct {
	Messages []api.MessageView `json:"messages"`
	HasMore  bool              `json:"has_more"`
}

func (w *convWorld) historyPage(t *testing.T, token, id, query string) historyPage {
	t.Helper()
	r := w.do(t, "GET", "/api/v1/conversations/"+id+"/messages?"+query, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET messages?%s: %d %s", query, r.status, r.body)
	}
	var p historyPage
	r.decode(t, &p)
	return p
}

func messageIDs(ms []api.MessageView) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// Paging a long history upward with before, or downward with after,
// returns every message once, in the order they were sent (messages of one
// millisecond in arrival order), and has_more says when to stop.
func TestHistoryPagesEveryMessageOnce(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	start := w.clock.Now().Add(-time.Hour)
	const inbound = 230
	var want []string
	var id string
	for i := range inbound {
		// Three messages a millisecond: arrival orders them.
		m := &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: fmt.Sprintf("wamid.h%03d", i), From: "5511911110001",
			ProfileName: "Cliente", Timestamp: start.Add(time.Duration(i/3) * time.Millisecond), Arrival: int64(i + 1),
			Type: channels.TypeText, Text: fmt.Sprint("mensagem ", i)}
		id = w.inbound(t, m).QueryID
		want = append(want, m.ID)
	}
	w.decide(t, routing.Query{ID: id, Channel: "wa-main", State: routing.StateAssigned, Type: "sales", Assignee: w.ana.ID, Cycle: 1})
	for i, msgID := range []string{"sb-reply-2", "sb-reply-1"} { // ids out of time order
		if _, _, err := w.conv.DB.Conversations().RecordOutbound(ctx, id, msgID, "", "resposta", nil, w.clock.Now().Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		want = append(want, msgID)
	}

	// Upward from the newest.
	var pages [][]string
	p := w.historyPage(t, w.anaT, id, "limit=50")
	for {
		pages = append(pages, messageIDs(p.Messages))
		if !p.HasMore {
			break
		}
		if len(pages) > 100 {
			t.Fatal("has_more never ends")
		}
		p = w.historyPage(t, w.anaT, id, "limit=50&before="+p.Messages[0].ID)
	}
	var up []string
	for _, pg := range slices.Backward(pages) {
		up = append(up, pg...)
	}
	if !slices.Equal(up, want) || len(pages) != 5 {
		t.Fatalf("paging up in %d pages: %d messages, want all %d in order\n got %v\nwant %v", len(pages), len(up), len(want), up, want)
	}
	// Downward from the oldest.
	down := []string{want[0]}
	for last, n := want[0], 0; ; n++ {
		p := w.historyPage(t, w.anaT, id, "limit=40&after="+last)
		down = append(down, messageIDs(p.Messages)...)
		if !p.HasMore {
			break
		}
		if n > 100 {
			t.Fatal("has_more never ends")
		}
		last = p.Messages[len(p.Messages)-1].ID
	}
	if !slices.Equal(down, want) {
		t.Fatalf("paging down: %d messages, want all %d in order\n got %v\nwant %v", len(down), len(want), down, want)
	}
	// The default page is the newest 100; a page of what is left says so.
	if p := w.historyPage(t, w.anaT, id, ""); !slices.Equal(messageIDs(p.Messages), want[len(want)-100:]) || !p.HasMore {
		t.Errorf("default page: %d messages, has_more %v", len(p.Messages), p.HasMore)
	}
	if p := w.historyPage(t, w.anaT, id, "limit=500&before="+want[10]); !slices.Equal(messageIDs(p.Messages), want[:10]) || p.HasMore {
		t.Errorf("the 10 before the 11th: %v, has_more %v", messageIDs(p.Messages), p.HasMore)
	}
	if p := w.historyPage(t, w.anaT, id, "after="+want[len(want)-1]); len(p.Messages) != 0 || p.HasMore {
		t.Errorf("after the newest: %+v", p)
	}
	if p := w.historyPage(t, w.anaT, id, "limit=3&before="+want[200]); p.Messages[0].Text != "mensagem 197" || p.Messages[0].Direction != "inbound" {
		t.Errorf("a message as shown: %+v", p.Messages[0])
	}

	// Ids that are not this conversation's messages are the caller's mistake.
	other := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	for _, q := range []string{"before=wamid.nope", "after=wamid.nope", "before=wamid.5511911110002", "after=sb-reply-3",
		"before=" + want[1] + "&after=" + want[0], "limit=0", "limit=501", "limit=all"} {
		r := w.do(t, "GET", "/api/v1/conversations/"+id+"/messages?"+q, w.anaT, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":"bad_request"`) {
			t.Errorf("GET messages?%s: %d %s, want 400", q, r.status, r.body)
		}
	}
	if p := w.historyPage(t, w.anaT, other, "limit=500"); len(p.Messages) != 1 || p.Messages[0].ID != "wamid.5511911110002" {
		t.Errorf("the other conversation's history: %+v", p)
	}
}

// Once retention has emptied a closed conversation's messages, its history
// still lists them, marked purged and without their content.
func TestHistoryShowsPurgedMessages(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	id := w.query(t, "5511911110001", w.clock.Now().Add(-48*time.Hour), "sales", routing.StateClosed, "")
	kept := w.query(t, "5511911110002", w.clock.Now().Add(-48*time.Hour), "sales", routing.StateAssigned, w.ana.ID)
	if p := w.historyPage(t, w.supT, id, ""); len(p.Messages) != 1 || p.Messages[0].Text != "oi" || p.Messages[0].Purged {
		t.Fatalf("before retention: %+v", p)
	}
	if n, err := w.conv.DB.Conversations().PurgeMessages(ctx, w.clock.Now().Add(-24*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want the closed conversation's one message", n, err)
	}
	r := w.do(t, "GET", "/api/v1/conversations/"+id+"/messages", w.supT, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"id":"wamid.5511911110001"`) || !strings.Contains(r.body, `"purged":true`) ||
		strings.Contains(r.body, `"text":"`) {
		t.Fatalf("history after retention: %d %s", r.status, r.body)
	}
	r = w.do(t, "GET", "/api/v1/conversations/"+kept+"/messages", w.supT, nil)
	if r.status != http.StatusOK || strings.Contains(r.body, `"purged"`) || !strings.Contains(r.body, `"text":"oi"`) {
		t.Fatalf("an open conversation's history after retention: %d %s", r.status, r.body)
	}
}
