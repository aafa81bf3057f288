package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/repository"
)

func TestGroupsCommand(t *testing.T) {
	dir := inScratchDir(t)
	rdb := redistest.Client(t)
	t.Setenv(config.EnvRedisURL, redistest.URL(rdb))
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvAuthSecret, "groups-test-secret-0123")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	account := func(name, phone string) string {
		t.Helper()
		code, out, errOut := run("users", "create", "--name", name, "--phone", phone, "--role", "operator")
		if code != 0 {
			t.Fatalf("users create %s: exit %d, %q", name, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	ana, bruno := account("Ana", "+5511900000001"), account("Bruno", "+5511900000002")
	list := func() []accounts.Group {
		t.Helper()
		code, out, errOut := run("groups", "list", "--json")
		var gs []accounts.Group
		if err := json.Unmarshal([]byte(out), &gs); code != 0 || err != nil {
			t.Fatalf("groups list --json: exit %d, %v, %q %q", code, err, out, errOut)
		}
		return gs
	}

	code, out, errOut := run("groups", "create", "--name", "Payments", "--members", bruno+", "+ana)
	id := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(id, "g_") {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	if gs := list(); len(gs) != 1 || gs[0].ID != id || gs[0].Name != "Payments" || !slices.Equal(gs[0].Members, sortedStrings(ana, bruno)) {
		t.Fatalf("after create: %+v", gs)
	}
	// The account shows the membership.
	if _, out, _ = run("users", "list", "--json"); !strings.Contains(out, `"groups": [`+"\n"+`      "`+id+`"`) {
		t.Fatalf("users list does not show Ana and Bruno in %s: %s", id, out)
	}
	if code, out, _ = run("groups", "list"); code != 0 || !strings.Contains(out, "Payments") || !strings.Contains(out, ana) {
		t.Fatalf("list table: %q", out)
	}

	// Mistakes, said as such.
	ghost := "u_00000000000000ff"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"groups", "create", "--name", "Payments"}, 1, "already has that name"},
		{[]string{"groups", "create", "--name", "Ghosts", "--members", ghost}, 1, ghost},
		{[]string{"groups", "create", "--name", "  "}, 1, "name: required"},
		{[]string{"groups", "create"}, 2, "--name is required"},
		{[]string{"groups", "rename", "--id", id}, 2, "--name is required"},
		{[]string{"groups", "set-members", "--id", id}, 2, "--members is required"},
		{[]string{"groups", "delete"}, 2, "--id is required"},
		{[]string{"groups", "delete", id}, 2, "unexpected argument"},
		{[]string{"groups", "rename", "--id", "g_00000000000000aa", "--name", "X"}, 1, "agent group not found"},
		{[]string{"groups", "frobnicate"}, 2, `unknown command "frobnicate"`},
	} {
		if code, _, errOut := run(tc.args...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if gs := list(); len(gs) != 1 {
		t.Fatalf("refused commands left groups: %+v", gs)
	}

	if code, out, errOut = run("groups", "rename", "--id", id, "--name", "Payments BR"); code != 0 || !strings.Contains(out, `renamed to "Payments BR"`) {
		t.Fatalf("rename: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut = run("groups", "set-members", "--id", id, "--members", ana); code != 0 || !strings.Contains(out, "1 members") {
		t.Fatalf("set-members: exit %d, %q %q", code, out, errOut)
	}
	if gs := list(); len(gs) != 1 || gs[0].Name != "Payments BR" || !slices.Equal(gs[0].Members, []string{ana}) {
		t.Fatalf("after rename and set-members: %+v", gs)
	}
	if code, _, errOut = run("groups", "set-members", "--id", id, "--members", ""); code != 0 {
		t.Fatalf("set-members to none: exit %d, %q", code, errOut)
	}
	if gs := list(); len(gs[0].Members) != 0 {
		t.Fatalf("after set-members to none: %+v", gs)
	}
	if code, out, errOut = run("groups", "delete", "--id", id); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: exit %d, %q %q", code, out, errOut)
	}
	if _, out, _ = run("groups", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("after delete: %s", out)
	}
	// Routing was told to re-check its assignments, as after the API's
	// change: the deleted group's queries go back to the pool at once.
	insp := asynq.NewInspectorFromRedisClient(rdb)
	pending, err := insp.ListPendingTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	rechecks := 0
	for _, task := range pending {
		if task.Type == queue.TypeRecheck {
			rechecks++
		}
	}
	if rechecks == 0 {
		t.Fatalf("no re-check of assignments queued after the group changes: %+v", pending)
	}
	if code, _, errOut = run("groups", "delete", "--id", id); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("delete again: exit %d, %q", code, errOut)
	}

	// What the commands did is in the audit log, by the CLI.
	db, err := repository.Open(context.Background(), repository.Options{Path: filepath.Join(dir, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := auth.NewAudit(db.Audit(), clock.System{}, nil).Recent(context.Background(), 20)
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "group.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Target)
		}
	}
	want := []string{"cli group.delete " + id, "cli group.set_members " + id, "cli group.set_members " + id,
		"cli group.rename " + id, "cli group.create " + id}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("audit log = %q, %v; want %q", got, err, want)
	}
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}
