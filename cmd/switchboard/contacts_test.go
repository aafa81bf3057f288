package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/channels"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/conversations"
)

// `switchboard contacts erase` removes one customer's contact, their
// conversations and messages, and no one else's; says what it removed;
// and records who erased whom in the audit log. An id that names no
// contact (a typo, or one erased already) fails, saying so.
func TestContactsEraseCommand(t *testing.T) {
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvDatabaseURL, "")
	ctx := context.Background()
	d := testDatabase(t)
	cfg := writeConfig(t, t.TempDir(), databaseYAML(d))
	db := recordsDB(t, d)
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	recs := db.Conversations()

	// Ana wrote twice and got a reply; Bruno wrote once.
	now := time.Now()
	write := func(id, from, name, text string, at time.Time) conversations.InboundResult {
		t.Helper()
		res, err := recs.ApplyInbound(ctx, &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from,
			ProfileName: name, Timestamp: at, Type: "text", Text: text}, []byte(`{}`), at)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ana := write("wamid.erase.1", "5511900000021", "Ana", "hola", now.Add(-time.Minute))
	write("wamid.erase.2", "5511900000021", "Ana", "¿hay alguien?", now.Add(-30*time.Second))
	if _, _, err := recs.RecordOutbound(ctx, ana.QueryID, "sb-erase-reply", "", "Sí, dígame", nil, now); err != nil {
		t.Fatal(err)
	}
	bruno := write("wamid.erase.3", "5511900000022", "Bruno", "oi", now)

	code, out, errOut := runCmd(t, "contacts", "erase", "--config", cfg, "--contact", ana.ContactID)
	if code != 0 {
		t.Fatalf("contacts erase: exit %d\n%s%s", code, out, errOut)
	}
	if want := "erased contact " + ana.ContactID + ": 1 conversations, 3 messages\n"; out != want {
		t.Fatalf("contacts erase printed %q, want %q", out, want)
	}
	if _, err := recs.Contact(ctx, ana.ContactID); !errors.Is(err, conversations.ErrNotFound) {
		t.Errorf("Ana's contact after the erasure: %v, want not found", err)
	}
	if _, err := recs.Query(ctx, ana.QueryID); !errors.Is(err, conversations.ErrNotFound) {
		t.Errorf("Ana's conversation after the erasure: %v, want not found", err)
	}
	if _, err := recs.History(ctx, ana.QueryID, conversations.HistoryRange{}); !errors.Is(err, conversations.ErrNotFound) {
		t.Errorf("Ana's messages after the erasure: %v, want not found", err)
	}
	if c, err := recs.Contact(ctx, bruno.ContactID); err != nil || c.OpenQuery != bruno.QueryID {
		t.Fatalf("Bruno's contact after Ana's erasure: %+v, %v; want it untouched", c, err)
	}
	if msgs, err := history(ctx, recs, bruno.QueryID); err != nil || len(msgs) != 1 {
		t.Fatalf("Bruno's history after Ana's erasure: %d messages (%v), want his one", len(msgs), err)
	}
	page, err := recs.List(ctx, conversations.Filter{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != bruno.QueryID {
		t.Fatalf("the conversation list after the erasure: %+v (%v), want Bruno's only", page.Items, err)
	}

	entries, err := auth.NewAudit(db.Audit(), clock.System{}, nil).Recent(ctx, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit log: %+v (%v), want the one erasure", entries, err)
	}
	if e := entries[0]; e.Actor != "cli" || e.Action != "contact.erase" || e.Target != ana.ContactID || e.Outcome != "1 conversations, 3 messages" {
		t.Fatalf("audit entry = %+v, want cli contact.erase of %s with what was erased", e, ana.ContactID)
	}

	// Again, and with a made-up id: nothing to erase, and it says so.
	for _, id := range []string{ana.ContactID, "0123456789abcdef0123"} {
		code, out, errOut := runCmd(t, "contacts", "erase", "--config", cfg, "--contact", id)
		if code != 1 || out != "" || !strings.Contains(errOut, "contacts erase: no contact "+id) {
			t.Errorf("contacts erase --contact %s: exit %d, stdout %q, stderr %q; want exit 1 saying there is no such contact", id, code, out, errOut)
		}
	}
	if entries, _ := auth.NewAudit(db.Audit(), clock.System{}, nil).Recent(ctx, 10); len(entries) != 1 {
		t.Errorf("failed erasures were audited as done: %+v", entries)
	}
	if c, err := recs.Contact(ctx, bruno.ContactID); err != nil || c.ID != bruno.ContactID {
		t.Errorf("Bruno's contact after the failed erasures: %v", err)
	}

	// Command-line mistakes.
	if code, _, errOut := runCmd(t, "contacts", "erase", "--config", cfg); code != 2 || !strings.Contains(errOut, "--contact is required") {
		t.Errorf("erase without --contact: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "contacts", "delete", "--contact", bruno.ContactID); code != 2 || !strings.Contains(errOut, "contacts erase --contact ID") {
		t.Errorf("contacts delete: exit %d, %q; want the usage", code, errOut)
	}
}
