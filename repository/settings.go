package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/settings"
)

// SettingsVersions stores every applied settings document in the
// settings_versions table; it is the settings.Repository.
type SettingsVersions struct{ db *DB }

var _ settings.Repository = (*SettingsVersions)(nil)

// Settings returns the settings versions' storage.
func (d *DB) Settings() *SettingsVersions { return &SettingsVersions{db: d} }

// Latest returns the highest version.
func (s *SettingsVersions) Latest(ctx context.Context) (*settings.Stored, error) {
	var st settings.Stored
	var yaml string
	var at int64
	err := s.db.db.QueryRowContext(ctx, `SELECT version, yaml, applied_at, applied_by FROM settings_versions
		ORDER BY version DESC LIMIT 1`).Scan(&st.Version, &yaml, &at, &st.AppliedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, settings.ErrNone
	}
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	st.YAML, st.AppliedAt = []byte(yaml), accountTime(at)
	return &st, nil
}

// LatestVersion returns the highest version number, 0 when none: the
// primary key's last entry.
func (s *SettingsVersions) LatestVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM settings_versions`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read settings version: %w", err)
	}
	return v, nil
}

// Insert stores version only if it follows the highest stored one. The
// check and the insert are one statement; two writers of one version
// either both see the same highest and the primary key refuses the second
// (PostgreSQL), or take turns and the second finds its check false
// (SQLite's single writer). Either way one wins and the other gets
// settings.ErrConflict.
func (s *SettingsVersions) Insert(ctx context.Context, version int64, yaml []byte, at time.Time, by string) error {
	res, err := s.db.db.ExecContext(ctx, `INSERT INTO settings_versions (version, yaml, applied_at, applied_by)
		SELECT $1, $2, $3, $4
		WHERE (SELECT COALESCE(MAX(version), 0) FROM settings_versions) = $5`,
		version, string(yaml), at.UnixMilli(), by, version-1)
	if isUniqueViolation(err) {
		return settings.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("insert settings version: %w", err)
	}
	ok, err := changedOne(res, "insert settings version")
	if err != nil {
		return err
	}
	if !ok {
		return settings.ErrConflict
	}
	return nil
}

// Missing returns which of the group ids and account ids no row has.
func (s *SettingsVersions) Missing(ctx context.Context, groups, accounts []string) (missingGroups, missingAccounts []string, err error) {
	for _, l := range []struct {
		table string
		ids   []string
		out   *[]string
	}{{"agent_groups", groups, &missingGroups}, {"accounts", accounts, &missingAccounts}} {
		for _, id := range l.ids {
			var one int
			err := s.db.db.QueryRowContext(ctx, `SELECT 1 FROM `+l.table+` WHERE id = $1`, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				*l.out = append(*l.out, id)
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("look up %s %s: %w", l.table, id, err)
			}
		}
	}
	return missingGroups, missingAccounts, nil
}
