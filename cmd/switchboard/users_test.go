package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/internal/redistest"
	"switchboard/repository"
)

func TestUsersCommand(t *testing.T) {
	dir := inScratchDir(t)
	rdb := redistest.Client(t)
	t.Setenv(config.EnvRedisURL, redistest.URL(rdb))
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvAuthSecret, "users-test-secret-0123")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("users", "create", "--name", "Ana Lima", "--phone", "+55 11 91234-5678", "--role", "admin", "--query-types", "payments,claims", "--capacity", "7")
	id := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(id, "u_") {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"users", "create", "--name", "Dup", "--phone", "+5511912345678", "--role", "operator"}, "already belongs"},
		{[]string{"users", "create", "--name", "Bad", "--phone", "11912345678", "--role", "operator"}, "invalid phone"},
		{[]string{"users", "create", "--name", "Who", "--phone", "+5511900000001", "--role", "wizard"}, `unknown role "wizard"`},
	} {
		if code, _, errOut := run(tc.args...); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", tc.args, code, errOut, tc.want)
		}
	}
	code, out, _ = run("users", "list", "--json")
	var users []accounts.User
	if err := json.Unmarshal([]byte(out), &users); code != 0 || err != nil || len(users) != 1 || users[0].Phone != "+5511912345678" || users[0].Capacity != 7 || len(users[0].QueryTypes) != 2 {
		t.Fatalf("list: exit %d, %v, %s", code, err, out)
	}
	if code, out, _ = run("users", "list"); code != 0 || !strings.Contains(out, "Ana Lima") {
		t.Fatalf("list table: %q", out)
	}
	if code, out, _ = run("users", "disable", id); code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: exit %d %q", code, out)
	}
	_, out, _ = run("users", "list", "--json")
	if !strings.Contains(out, `"status": "disabled"`) {
		t.Fatalf("not disabled: %s", out)
	}
	if code, out, _ = run("users", "enable", id); code != 0 || !strings.Contains(out, "enabled") {
		t.Fatalf("enable: exit %d %q", code, out)
	}
	if _, out, _ = run("users", "list", "--json"); !strings.Contains(out, `"status": "active"`) {
		t.Fatalf("not active again: %s", out)
	}
	if code, out, _ = run("users", "enable", id); code != 0 || !strings.Contains(out, "already active") {
		t.Fatalf("enable again: exit %d %q", code, out)
	}
	if code, _, _ = run("users", "delete", id); code != 0 {
		t.Fatalf("delete: exit %d", code)
	}
	if _, out, _ = run("users", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("after delete: %s", out)
	}
	// What the commands did is in the audit log, by the CLI.
	db, err := repository.Open(context.Background(), repository.Options{Path: filepath.Join(dir, "switchboard.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := auth.NewAudit(db.Audit(), clock.System{}, nil).Recent(context.Background(), 10)
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target)
	}
	if want := []string{"cli user.delete " + id, "cli user.enable " + id, "cli user.disable " + id, "cli user.create " + id}; err != nil || strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("audit log = %q, %v; want %q", got, err, want)
	}
}

// Every built-in role can be given from the command line, and the help
// of --role names each of them.
func TestUsersCreateWithEachBuiltInRole(t *testing.T) {
	inScratchDir(t)
	rdb := redistest.Client(t)
	t.Setenv(config.EnvRedisURL, redistest.URL(rdb))
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvAuthSecret, "users-test-secret-0123")
	var help, discard bytes.Buffer
	run(context.Background(), []string{"users", "create", "-h"}, &discard, &help)
	for i, role := range auth.BuiltInNames {
		if !strings.Contains(help.String(), role) {
			t.Errorf("users create -h does not name the %s role:\n%s", role, help.String())
		}
		var out, errOut bytes.Buffer
		phone := "+551190000010" + strconv.Itoa(i)
		if code := run(context.Background(), []string{"users", "create", "--name", "As " + role, "--phone", phone, "--role", role}, &out, &errOut); code != 0 {
			t.Errorf("create a %s: exit %d, %s", role, code, errOut.String())
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"users", "list", "--json"}, &out, &bytes.Buffer{})
	var users []accounts.User
	if err := json.Unmarshal(out.Bytes(), &users); err != nil {
		t.Fatalf("list: %v %s", err, out.String())
	}
	var roles []string
	for _, u := range users {
		roles = append(roles, u.Role)
	}
	for _, role := range auth.BuiltInNames {
		if !slices.Contains(roles, role) {
			t.Errorf("users list shows roles %v, without %s", roles, role)
		}
	}
}
