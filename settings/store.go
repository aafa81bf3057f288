package settings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNone means no settings were ever applied.
var ErrNone = errors.New("no settings applied yet (run switchboard apply -f settings.yaml)")

// ErrConflict means the settings changed between reading and applying.
var ErrConflict = errors.New("settings were changed by someone else meanwhile; review and apply again")

// Stored is one applied version of the settings: the YAML exactly as
// applied, when and by whom.
type Stored struct {
	Version   int64
	YAML      []byte
	AppliedAt time.Time
	// AppliedBy is who applied it: a user id (the API), "cli" (switchboard
	// apply), or "" when not known.
	AppliedBy string
}

// Repository is what the settings need stored: every applied version,
// the highest in force. Package repository implements it on PostgreSQL
// and SQLite; tests wrap it to inject faults.
type Repository interface {
	// Latest returns the highest applied version, or ErrNone.
	Latest(ctx context.Context) (*Stored, error)
	// LatestVersion returns the highest applied version number, 0 when
	// none: one indexed read, for watchers asking often.
	LatestVersion(ctx context.Context) (int64, error)
	// Insert stores version as applied at at by by, only if it is the
	// next version (the highest stored plus one, 1 for the first), or
	// fails with ErrConflict; the database decides, so of two writers
	// inserting one version exactly one succeeds.
	Insert(ctx context.Context, version int64, yaml []byte, at time.Time, by string) error
	// Missing returns which of the agent group ids and account ids do
	// not exist, so a document naming one is refused before it applies.
	Missing(ctx context.Context, groups, accounts []string) (missingGroups, missingAccounts []string, err error)
}

// unchecked is how many times Apply without a version check tries to
// follow writers that keep applying ahead of it.
const unchecked = 5

// Apply validates data and, if valid, stores it as the next version,
// applied at now by by (a user id, "cli"). With expectVersion >= 0 it
// refuses (ErrConflict) if the stored version is not that one, so a
// reviewed diff is what gets applied; with expectVersion < 0 it applies
// over whatever version is stored.
func Apply(ctx context.Context, repo Repository, data []byte, now time.Time, expectVersion int64, by string) (int64, error) {
	if _, err := Validate(ctx, repo, data); err != nil {
		return 0, err
	}
	if expectVersion >= 0 {
		if err := repo.Insert(ctx, expectVersion+1, data, now, by); err != nil {
			return 0, fmt.Errorf("store settings version %d: %w", expectVersion+1, err)
		}
		return expectVersion + 1, nil
	}
	var err error
	for range unchecked {
		var cur int64
		if cur, err = repo.LatestVersion(ctx); err != nil {
			return 0, fmt.Errorf("read settings version: %w", err)
		}
		if err = repo.Insert(ctx, cur+1, data, now, by); err == nil {
			return cur + 1, nil
		}
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	return 0, fmt.Errorf("store settings: %w", err)
}

// Load reads the settings in force (the highest version); ErrNone if none
// were applied.
func Load(ctx context.Context, repo Repository) (*Stored, error) {
	st, err := repo.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return st, nil
}

// Watcher keeps the current compiled settings of a worker, reloading them
// when a new version is applied, so workers pick changes up without a
// restart. A check reads the latest version number (one indexed query)
// and happens at most once per interval; the document is read only when
// that number changed.
type Watcher struct {
	repo     Repository
	interval time.Duration

	mu        sync.Mutex
	current   *Compiled
	version   int64
	checkedAt time.Time
	// none remembers, for an interval, that no settings are applied, so an
	// unconfigured installation does not ask the database on every message.
	none bool
}

// NewWatcher returns a watcher over repo checking at most every interval.
func NewWatcher(repo Repository, interval time.Duration) *Watcher {
	return &Watcher{repo: repo, interval: interval}
}

// Current returns the settings in force. A stored version that fails to
// compile (written by an older or newer Switchboard) is reported and the
// previous good version stays in force.
func (w *Watcher) Current(ctx context.Context) (*Compiled, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.checkedAt) < w.interval {
		if w.current != nil {
			return w.current, nil
		}
		if w.none {
			return nil, ErrNone
		}
	}
	v, err := w.repo.LatestVersion(ctx)
	if err != nil {
		if w.current != nil {
			return w.current, nil // keep routing on the last good settings
		}
		return nil, fmt.Errorf("read settings version: %w", err)
	}
	w.checkedAt = time.Now()
	w.none = v == 0
	if w.none {
		return nil, ErrNone
	}
	if w.current != nil && v == w.version {
		return w.current, nil
	}
	st, err := Load(ctx, w.repo)
	if err != nil {
		if w.current != nil {
			return w.current, nil
		}
		return nil, err
	}
	c, err := Parse(st.YAML)
	if err != nil {
		if w.current != nil {
			return w.current, fmt.Errorf("settings version %d does not compile, keeping version %d: %w", st.Version, w.version, err)
		}
		return nil, fmt.Errorf("settings version %d: %w", st.Version, err)
	}
	c.Routing.Version = st.Version
	w.current, w.version = c, st.Version
	return c, nil
}

// Validate is Parse, and then checks that the groups and accounts the
// document names exist (ErrUnknownStaff): what Apply checks before it
// stores, for a dry run.
func Validate(ctx context.Context, repo Repository, data []byte) (*Compiled, error) {
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := checkStaff(ctx, repo, c.Document); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrUnknownStaff is a document naming an agent group or account that
// does not exist: a validation error, like Parse's.
var ErrUnknownStaff = errors.New("settings: unknown group or account")

// checkStaff refuses a document whose query types name a group or an
// account that does not exist, naming each key; a typo would otherwise
// leave the type served by nobody.
func checkStaff(ctx context.Context, repo Repository, doc *Document) error {
	var groups, accounts []string
	for _, qt := range doc.QueryTypes {
		groups = append(groups, qt.Groups...)
		accounts = append(accounts, qt.Accounts...)
	}
	if len(groups) == 0 && len(accounts) == 0 {
		return nil
	}
	mg, ma, err := repo.Missing(ctx, groups, accounts)
	if err != nil {
		return fmt.Errorf("check the groups and accounts the settings name: %w", err)
	}
	var errs []error
	for i, qt := range doc.QueryTypes {
		for j, g := range qt.Groups {
			if slices.Contains(mg, g) {
				errs = append(errs, fmt.Errorf("query_types[%d].groups[%d]: no agent group %q (`switchboard groups list`)", i, j, g))
			}
		}
		for j, a := range qt.Accounts {
			if slices.Contains(ma, a) {
				errs = append(errs, fmt.Errorf("query_types[%d].accounts[%d]: no account %q (`switchboard users list`)", i, j, a))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUnknownStaff, errors.Join(errs...))
	}
	return nil
}
