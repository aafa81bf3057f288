package auth_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// errDBDown is what the faulty repositories fail with: the database
// connection lost.
var errDBDown = errors.New("database connection reset")

// faultyRoles wraps the real role storage and fails its reads while
// failing is set.
type faultyRoles struct {
	auth.RoleRepository
	failing atomic.Bool
}

func (f *faultyRoles) Get(ctx context.Context, name string) ([]auth.Permission, int64, error) {
	if f.failing.Load() {
		return nil, 0, errDBDown
	}
	return f.RoleRepository.Get(ctx, name)
}

// When the roles cannot be read, a user with a custom role is not told
// the role does not exist: the failure is the database's, and says so.
func TestRoleReadFailureIsNotAnUnknownRole(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	repo := &faultyRoles{RoleRepository: db.Roles()}
	roles := auth.NewRoles(repo)
	if err := roles.Put(ctx, auth.Role{Name: "night-shift", Permissions: []auth.Permission{auth.PermReply}}); err != nil {
		t.Fatal(err)
	}
	repo.failing.Store(true)
	if ok, err := roles.Exists(ctx, "night-shift"); !errors.Is(err, errDBDown) {
		t.Errorf("Exists with the database failing = %v, %v; want the database's error", ok, err)
	}
	users := accounts.NewStore(db.Accounts(), clock.NewFake(time.Unix(0, 0)), roles.Exists)
	_, err := users.Create(ctx, accounts.User{Name: "Nina", Phone: "+5511900000020", Role: "night-shift"})
	if err == nil || errors.Is(err, accounts.ErrInvalidAccount) || strings.Contains(err.Error(), "unknown role") {
		t.Errorf("create with the roles unreadable: %v; want the database's error, not a validation one", err)
	}
}

// Custom roles are stored as given (sorted, each permission once), listed
// after the built-in ones, and removed; the built-in ones cannot be.
func TestCustomRolesAreStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		roles := auth.NewRoles(db.Roles())
		if err := roles.Put(ctx, auth.Role{Name: "night-shift", Permissions: []auth.Permission{auth.PermReply, auth.PermClose, auth.PermReply}}); err != nil {
			t.Fatal(err)
		}
		if err := roles.Put(ctx, auth.Role{Name: "auditor"}); err != nil {
			t.Fatal(err)
		}
		// Put again replaces.
		if err := roles.Put(ctx, auth.Role{Name: "night-shift", Permissions: []auth.Permission{auth.PermReply, auth.PermAudit}}); err != nil {
			t.Fatal(err)
		}
		got, err := roles.Get(ctx, "night-shift")
		if err != nil || !slices.Equal(got.Permissions, []auth.Permission{auth.PermAudit, auth.PermReply}) {
			t.Fatalf("night-shift = %+v, %v", got, err)
		}
		list, err := roles.List(ctx)
		var names []string
		for _, r := range list {
			names = append(names, r.Name)
		}
		want := strings.Join(append(slices.Clone(auth.BuiltInNames), "auditor", "night-shift"), ",")
		if err != nil || strings.Join(names, ",") != want {
			t.Fatalf("List = %v, %v; want %s", names, err, want)
		}
		if list[len(auth.BuiltInNames)].Permissions == nil {
			t.Error("a role without permissions lists them as null, not []")
		}
		if err := roles.Put(ctx, auth.Role{Name: auth.RoleAdmin}); !errors.Is(err, auth.ErrBuiltInRole) {
			t.Errorf("Put admin: %v", err)
		}
		if err := roles.Delete(ctx, "auditor"); err != nil {
			t.Fatal(err)
		}
		if err := roles.Delete(ctx, "auditor"); !errors.Is(err, auth.ErrUnknownRole) {
			t.Errorf("deleting auditor again: %v", err)
		}
		if ok, err := roles.Exists(ctx, "auditor"); ok || err != nil {
			t.Errorf("auditor exists after delete: %v, %v", ok, err)
		}
	})
}

// Changes decided on one reading of a role race: exactly one lands and
// the others are told the role changed, on both engines. A change from a
// reading that is no longer current is refused too, and so is a delete.
func TestConcurrentRoleChangesFromOneReadingLandOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		roles := auth.NewRoles(db.Roles())
		for _, tc := range []struct {
			name string
			seed bool
		}{{"existing role", true}, {"new role", false}} {
			t.Run(tc.name, func(t *testing.T) {
				name := map[bool]string{true: "helpers", false: "newcomers"}[tc.seed]
				if tc.seed {
					if err := roles.Put(ctx, auth.Role{Name: name, Permissions: []auth.Permission{auth.PermReply}}); err != nil {
						t.Fatal(err)
					}
				}
				prev, err := roles.Get(ctx, name)
				if tc.seed && err != nil || !tc.seed && !errors.Is(err, auth.ErrUnknownRole) {
					t.Fatalf("read %s: %v", name, err)
				}
				candidates := []auth.Permission{auth.PermClose, auth.PermAudit, auth.PermReports, auth.PermTransfer, auth.PermReturn, auth.PermRefer}
				errs := make([]error, len(candidates))
				var wg sync.WaitGroup
				for i, p := range candidates {
					wg.Go(func() {
						errs[i] = roles.Replace(ctx, prev, auth.Role{Name: name, Permissions: []auth.Permission{auth.PermReply, p}})
					})
				}
				wg.Wait()
				var winner auth.Permission
				for i, err := range errs {
					switch {
					case err == nil && winner != "":
						t.Fatalf("both %s and %s landed from one reading", winner, candidates[i])
					case err == nil:
						winner = candidates[i]
					case !errors.Is(err, auth.ErrRoleChanged):
						t.Errorf("change %d: %v, want ErrRoleChanged", i, err)
					}
				}
				now, err := roles.Get(ctx, name)
				if winner == "" || err != nil || !slices.Contains(now.Permissions, winner) || len(now.Permissions) != 2 {
					t.Fatalf("after the race: %+v, %v; winner %q", now, err, winner)
				}
				// The old reading is stale now, for changes and deletes alike.
				if err := roles.Replace(ctx, prev, auth.Role{Name: name}); !errors.Is(err, auth.ErrRoleChanged) {
					t.Errorf("change from a stale reading: %v", err)
				}
				if tc.seed {
					if err := roles.DeleteIf(ctx, prev); !errors.Is(err, auth.ErrRoleChanged) {
						t.Errorf("delete from a stale reading: %v", err)
					}
				}
				if err := roles.DeleteIf(ctx, now); err != nil {
					t.Errorf("delete from the current reading: %v", err)
				}
				if _, err := roles.Get(ctx, name); !errors.Is(err, auth.ErrUnknownRole) {
					t.Errorf("after delete: %v", err)
				}
			})
		}
	})
}

// A custom role stored under a name that later became a built-in role's
// (collaborator, say, defined before it was built in) is shadowed: users
// of that name get the built-in permissions, and the list shows the role
// once, as it acts.
func TestBuiltInRoleShadowsAnOlderCustomRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		ctx := context.Background()
		// Straight on the storage: Roles.Put refuses built-in names.
		if err := db.Roles().Put(ctx, auth.RoleCollaborator, []auth.Permission{auth.PermReply}); err != nil {
			t.Fatal(err)
		}
		roles := auth.NewRoles(db.Roles())
		list, err := roles.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var seen []auth.Role
		for _, r := range list {
			if r.Name == auth.RoleCollaborator {
				seen = append(seen, r)
			}
		}
		if len(seen) != 1 || !seen[0].BuiltIn || !slices.Equal(seen[0].Permissions, auth.BuiltIn[auth.RoleCollaborator].Permissions) {
			t.Fatalf("collaborator listed as %+v, want the built-in role once", seen)
		}
		u := &accounts.User{ID: "u_x", Role: auth.RoleCollaborator, Status: accounts.StatusActive}
		if ok, err := roles.Can(ctx, u, auth.PermReply); ok || err != nil {
			t.Fatalf("a collaborator may reply by the old custom role: %v, %v", ok, err)
		}
	})
}

// Each built-in role holds every permission once, and only ones the
// catalogue knows: a role listed with a permission twice, or one no
// check asks for, would mislead whoever reads it.
func TestBuiltInRolesAreCanonical(t *testing.T) {
	if len(auth.BuiltIn) != len(auth.BuiltInNames) {
		t.Fatalf("%d built-in roles, %d names", len(auth.BuiltIn), len(auth.BuiltInNames))
	}
	for _, name := range auth.BuiltInNames {
		r, ok := auth.BuiltIn[name]
		if !ok || r.Name != name || !r.BuiltIn {
			t.Fatalf("built-in role %s = %+v", name, r)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !slices.IsSorted(r.Permissions) || len(slices.Compact(slices.Clone(r.Permissions))) != len(r.Permissions) {
			t.Errorf("%s's permissions %v are not sorted, each once", name, r.Permissions)
		}
	}
}

// The README's table of built-in roles shows each role's permissions as
// the code grants them, so an installer choosing a role reads the truth.
func TestREADMEShowsTheBuiltInRoles(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tick := regexp.MustCompile("`([a-z_.]+)`")
	for _, name := range auth.BuiltInNames {
		var row string
		for line := range strings.Lines(string(readme)) {
			if strings.HasPrefix(line, "| `"+name+"` |") {
				row = strings.TrimSpace(line)
			}
		}
		if row == "" {
			t.Errorf("README has no row for the %s role", name)
			continue
		}
		cells := strings.Split(strings.Trim(row, "|"), "|")
		last := cells[len(cells)-1]
		if name == auth.RoleAdmin {
			if !strings.Contains(last, "every permission") || len(auth.BuiltIn[name].Permissions) != len(auth.Catalogue) {
				t.Errorf("admin: README says %q; the role holds %d of %d permissions", last, len(auth.BuiltIn[name].Permissions), len(auth.Catalogue))
			}
			continue
		}
		var listed []auth.Permission
		for _, m := range tick.FindAllStringSubmatch(last, -1) {
			listed = append(listed, auth.Permission(m[1]))
		}
		if !slices.Equal(canonicalOf(listed), auth.BuiltIn[name].Permissions) {
			t.Errorf("README lists %s with %v; it holds %v", name, listed, auth.BuiltIn[name].Permissions)
		}
	}
}

func canonicalOf(perms []auth.Permission) []auth.Permission {
	return slices.Compact(slices.Sorted(slices.Values(perms)))
}
