package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/config"
	"switchboard/repository"
	"switchboard/settings"
)

func TestApplyCommand(t *testing.T) {
	example, err := filepath.Abs("../../deploy/settings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := inScratchDir(t)
	t.Setenv(config.EnvRedisURL, "")
	t.Setenv(config.EnvConfigPath, "")
	t.Setenv(config.EnvAuthSecret, "apply-test-secret-0123")
	ctx := context.Background()
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	// The applied settings, read as the workers read them.
	load := func() (*settings.Stored, error) {
		db, err := repository.Open(ctx, repository.Options{Path: filepath.Join(dir, "switchboard.db")})
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return settings.Load(ctx, db.Settings())
	}

	// The groups the example names do not exist yet: refused, naming them.
	code, _, errOut := run("apply", "-f", example, "--dry-run")
	if code != 1 || !strings.Contains(errOut, `query_types[0].groups[0]: no agent group "billing"`) {
		t.Fatalf("dry run without the groups: exit %d, %s", code, errOut)
	}
	createGroups(t, filepath.Join(dir, "switchboard.db"), "billing", "care")

	code, out, errOut := run("apply", "-f", example, "--dry-run")
	if code != 0 || !strings.Contains(out, "would apply version 1") || !strings.Contains(out, "+ timezone: America/Sao_Paulo") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := load(); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("dry run stored settings: %v", err)
	}

	if code, out, errOut = run("apply", "-f", example); code != 0 || !strings.Contains(out, "applied settings version 1") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = run("apply", "-f", example); code != 0 || !strings.Contains(out, "unchanged (version 1)") {
		t.Fatalf("re-apply: exit %d\n%s", code, out)
	}

	b, _ := os.ReadFile(example)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(b), "strategy: least_loaded", "strategy: fastest", 1)), 0o600)
	code, _, errOut = run("apply", "-f", bad)
	if code != 1 || !strings.Contains(errOut, "query_types[1].strategy") {
		t.Fatalf("invalid file: exit %d, %s", code, errOut)
	}
	if st, err := load(); err != nil || st.Version != 1 || st.AppliedBy != "cli" {
		t.Fatalf("an invalid apply changed the stored settings: %+v, %v", st, err)
	}
}

// createGroups creates agent groups with these ids in the database at
// path, as a coordinator does before naming them in the settings.
func createGroups(t *testing.T, path string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	db, err := repository.Open(ctx, repository.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO agent_groups (id, name, created_at, updated_at) VALUES ($1, $1, 0, 0)`, id); err != nil {
			t.Fatal(err)
		}
	}
}
