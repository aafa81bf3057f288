// Package auth is Switchboard's security boundary: the permission
// catalogue and roles (and the one function that answers every
// authorization question), one-time-code login over WhatsApp, bearer
// tokens, and the audit log. Handlers ask Can; they never compare role
// names.
package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"switchboard/accounts"
)

// Permission is one thing a user may do.
type Permission string

// The permission catalogue.
const (
	PermReply        Permission = "conversations.reply"       // answer the queries one may see
	PermClose        Permission = "conversations.close"       // close a query with a resolution reason
	PermViewAll      Permission = "conversations.view_all"    // see every query, not only one's own and one's pools
	PermSelfAssign   Permission = "conversations.self_assign" // take a query from the pool ("conversation dispenser")
	PermTransfer     Permission = "conversations.transfer"    // hand one's query to a colleague
	PermReturn       Permission = "conversations.return"      // return a query to the queue
	PermRefer        Permission = "conversations.refer"       // refer any query to any operator
	PermDeriveBulk   Permission = "derivations.bulk"          // move all of an operator's queries at once
	PermEditContacts Permission = "contacts.edit"
	PermErase        Permission = "contacts.erase"   // erase a customer's data at their request (admin only)
	PermPortfolio    Permission = "portfolio.manage" // add or remove contacts to or from portfolios
	PermReports      Permission = "reports.view"
	PermSettings     Permission = "settings.manage" // knowledge base, templates, hours, query types, reasons
	PermChannels     Permission = "channels.manage"
	PermUsers        Permission = "users.manage"
	PermGroups       Permission = "groups.manage" // create, rename, delete agent groups and set their members
	PermRoles        Permission = "roles.manage"
	PermAudit        Permission = "audit.view"
	PermTags         Permission = "tags.update"     // add and remove tags on the queries one may see
	PermNotes        Permission = "notes.write"     // write internal notes on the queries one may see
	PermViews        Permission = "views.customize" // keep one's own saved views (named list filters)
)

// Catalogue is every permission, with what it allows.
var Catalogue = map[Permission]string{
	PermReply:        "answer the queries one may see",
	PermClose:        "close a query with a resolution reason",
	PermViewAll:      "see every query",
	PermSelfAssign:   "take a query from the pool",
	PermTransfer:     "transfer one's query to a colleague",
	PermReturn:       "return a query to the queue",
	PermRefer:        "refer any query to any operator",
	PermDeriveBulk:   "move all of an operator's active queries at once",
	PermEditContacts: "edit contacts",
	PermErase:        "erase a contact with their conversations and messages, for good",
	PermPortfolio:    "add or remove contacts to or from portfolios",
	PermReports:      "view reports",
	PermSettings:     "manage the knowledge base, templates, hours, query types and resolution reasons",
	PermChannels:     "manage channels",
	PermUsers:        "manage users",
	PermGroups:       "manage agent groups and their members",
	PermRoles:        "manage custom roles",
	PermAudit:        "read the audit log",
	PermTags:         "add and remove tags on the queries one may see",
	PermNotes:        "write internal notes (never sent to the customer) on the queries one may see",
	PermViews:        "keep one's own saved views of the conversation list",
}

// Built-in role names.
const (
	RoleAdmin       = "admin"
	RoleCoordinator = "coordinator"
	RoleSupervisor  = "supervisor"
	RoleOperator    = "operator"
	// RoleCollaborator reads every conversation and never messages a
	// customer: someone from another department asked to look at a case.
	// Writing internal notes joins the role when notes exist.
	RoleCollaborator = "collaborator"
)

// BuiltInNames are the built-in roles, most powerful first: the order
// roles are listed in.
var BuiltInNames = []string{RoleAdmin, RoleCoordinator, RoleSupervisor, RoleOperator, RoleCollaborator}

// Role is a named set of permissions.
type Role struct {
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	BuiltIn     bool         `json:"built_in"`
	// revision is the stored role's revision when Get read it (0: not
	// stored), so a change decided on it can be refused if someone
	// changed the role meanwhile (Replace, DeleteIf).
	revision int64
}

var (
	operatorPerms = []Permission{PermReply, PermClose, PermTags, PermNotes, PermViews}
	// A supervisor sees every conversation, assigns it (refer: to anyone,
	// whoever holds it), closes it whoever holds it (close with refer) and
	// edits contacts.
	supervisorPerms  = append(slices.Clone(operatorPerms), PermViewAll, PermReports, PermTransfer, PermReturn, PermRefer, PermEditContacts)
	coordinatorPerms = append(slices.Clone(supervisorPerms), PermSettings, PermPortfolio, PermSelfAssign, PermGroups)
	// A collaborator only reads: nothing that sends, claims, closes or
	// changes a conversation's state, so they cannot reach a customer.
	collaboratorPerms = []Permission{PermViewAll, PermNotes}
)

// BuiltIn are the roles every installation has.
var BuiltIn = map[string]Role{
	RoleOperator:     {Name: RoleOperator, Permissions: canonical(operatorPerms), BuiltIn: true},
	RoleSupervisor:   {Name: RoleSupervisor, Permissions: canonical(supervisorPerms), BuiltIn: true},
	RoleCoordinator:  {Name: RoleCoordinator, Permissions: canonical(coordinatorPerms), BuiltIn: true},
	RoleCollaborator: {Name: RoleCollaborator, Permissions: canonical(collaboratorPerms), BuiltIn: true},
	RoleAdmin:        {Name: RoleAdmin, Permissions: slices.Sorted(maps.Keys(Catalogue)), BuiltIn: true},
}

// RoleRepository is what Roles needs stored: the custom roles (the
// built-in ones live in the code). Package repository implements it on
// PostgreSQL and SQLite; tests wrap it to inject faults. Each custom role
// has a revision that every write changes, so a change decided on what
// was read is made only if nothing was written since, by the database in
// one statement.
type RoleRepository interface {
	// Get returns custom role name's permissions and revision, or
	// ErrUnknownRole when there is none.
	Get(ctx context.Context, name string) (perms []Permission, revision int64, err error)
	// List returns every custom role's permissions by name.
	List(ctx context.Context) (map[string][]Permission, error)
	// Put creates custom role name or replaces its permissions, whatever
	// they were.
	Put(ctx context.Context, name string, perms []Permission) error
	// Replace sets custom role name's permissions only if its revision is
	// still revision (0: only if there is no such role), and reports
	// whether it did.
	Replace(ctx context.Context, name string, revision int64, perms []Permission) (bool, error)
	// Delete removes custom role name and reports whether there was one.
	Delete(ctx context.Context, name string) (bool, error)
	// DeleteIf removes custom role name only if its revision is still
	// revision, and reports whether it did.
	DeleteIf(ctx context.Context, name string, revision int64) (bool, error)
}

// Roles resolves role names, built in or custom.
type Roles struct {
	repo RoleRepository
}

// NewRoles returns the role registry over repo, which holds the custom roles.
func NewRoles(repo RoleRepository) *Roles { return &Roles{repo: repo} }

// ErrUnknownRole means no role has that name.
var ErrUnknownRole = errors.New("unknown role")

// ErrInvalidRole means a role definition was refused (its name or a
// permission); the message says which.
var ErrInvalidRole = errors.New("invalid role")

// ErrBuiltInRole means a built-in role cannot be changed or removed.
var ErrBuiltInRole = errors.New("built-in roles cannot be changed")

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,39}$`)

// ValidRoleName reports whether name may name a custom role: 2 to 40
// lower-case letters, digits, '-' or '_', starting with a letter.
func ValidRoleName(name string) bool { return roleName.MatchString(name) }

// Get returns a role.
func (r *Roles) Get(ctx context.Context, name string) (Role, error) {
	if b, ok := BuiltIn[name]; ok {
		return b, nil
	}
	if !ValidRoleName(name) {
		return Role{}, fmt.Errorf("%w %q", ErrUnknownRole, name)
	}
	perms, rev, err := r.repo.Get(ctx, name)
	if errors.Is(err, ErrUnknownRole) {
		return Role{}, fmt.Errorf("%w %q", ErrUnknownRole, name)
	}
	if err != nil {
		return Role{}, fmt.Errorf("read role %s: %w", name, err)
	}
	return Role{Name: name, Permissions: perms, revision: rev}, nil
}

// Exists reports whether a role has that name. A failure to read the
// roles is an error, not a missing role: callers must not tell a user
// their role does not exist because the database did not answer.
func (r *Roles) Exists(ctx context.Context, name string) (bool, error) {
	_, err := r.Get(ctx, name)
	if errors.Is(err, ErrUnknownRole) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// List returns every role, built in first (in BuiltInNames' order).
func (r *Roles) List(ctx context.Context) ([]Role, error) {
	out := make([]Role, 0, len(BuiltInNames))
	for _, name := range BuiltInNames {
		out = append(out, BuiltIn[name])
	}
	custom, err := r.repo.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		// A custom role stored before a built-in one took its name is
		// shadowed (Get answers the built-in one): listing it would show
		// permissions nobody has.
		if _, ok := BuiltIn[name]; ok {
			continue
		}
		out = append(out, Role{Name: name, Permissions: custom[name]})
	}
	return out, nil
}

// Validate checks a custom role's name and permissions; its error wraps
// ErrInvalidRole.
func (role Role) Validate() error {
	if !roleName.MatchString(role.Name) {
		return fmt.Errorf("%w: name: want 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter, got %q", ErrInvalidRole, role.Name)
	}
	for _, p := range role.Permissions {
		if _, ok := Catalogue[p]; !ok {
			return fmt.Errorf("%w: permissions: unknown permission %q", ErrInvalidRole, p)
		}
	}
	return nil
}

// Put creates or replaces a custom role.
func (r *Roles) Put(ctx context.Context, role Role) error {
	if _, ok := BuiltIn[role.Name]; ok {
		return ErrBuiltInRole
	}
	if err := role.Validate(); err != nil {
		return err
	}
	if err := r.repo.Put(ctx, role.Name, canonical(role.Permissions)); err != nil {
		return fmt.Errorf("store role %s: %w", role.Name, err)
	}
	return nil
}

// canonical is a role's permissions as stored: sorted, each once.
func canonical(perms []Permission) []Permission {
	return slices.Compact(slices.Sorted(slices.Values(perms)))
}

// ErrRoleChanged means the role changed since it was read.
var ErrRoleChanged = errors.New("the role changed meanwhile; read it and try again")

// Replace stores role in place of prev, as read by Get (the zero Role when
// it did not exist), or fails with ErrRoleChanged: whoever decided the
// change may be made decided it on prev.
func (r *Roles) Replace(ctx context.Context, prev, role Role) error {
	if _, ok := BuiltIn[role.Name]; ok {
		return ErrBuiltInRole
	}
	if err := role.Validate(); err != nil {
		return err
	}
	ok, err := r.repo.Replace(ctx, role.Name, prev.revision, canonical(role.Permissions))
	if err != nil {
		return fmt.Errorf("store role %s: %w", role.Name, err)
	}
	if !ok {
		return ErrRoleChanged
	}
	return nil
}

// DeleteIf removes role prev, as read by Get, or fails with ErrRoleChanged.
func (r *Roles) DeleteIf(ctx context.Context, prev Role) error {
	if _, ok := BuiltIn[prev.Name]; ok {
		return ErrBuiltInRole
	}
	if prev.revision == 0 {
		return fmt.Errorf("%w %q", ErrUnknownRole, prev.Name)
	}
	ok, err := r.repo.DeleteIf(ctx, prev.Name, prev.revision)
	if err != nil {
		return fmt.Errorf("delete role %s: %w", prev.Name, err)
	}
	if !ok {
		return ErrRoleChanged
	}
	return nil
}

// Delete removes a custom role.
func (r *Roles) Delete(ctx context.Context, name string) error {
	if _, ok := BuiltIn[name]; ok {
		return ErrBuiltInRole
	}
	ok, err := r.repo.Delete(ctx, name)
	if err != nil {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownRole, name)
	}
	return nil
}

// Effective returns what u may do: the role's permissions plus the user's
// own grants. A disabled user may do nothing.
func (r *Roles) Effective(ctx context.Context, u *accounts.User) ([]Permission, error) {
	if u == nil || u.Status != accounts.StatusActive {
		return nil, nil
	}
	role, err := r.Get(ctx, u.Role)
	if err != nil && !errors.Is(err, ErrUnknownRole) {
		return nil, err
	}
	perms := slices.Clone(role.Permissions)
	for _, g := range u.Grants {
		if _, ok := Catalogue[Permission(g)]; ok {
			perms = append(perms, Permission(g))
		}
	}
	slices.Sort(perms)
	return slices.Compact(perms), nil
}

// Can is the one authorization question: may u do p? Every handler asks it.
func (r *Roles) Can(ctx context.Context, u *accounts.User, p Permission) (bool, error) {
	perms, err := r.Effective(ctx, u)
	if err != nil {
		return false, err
	}
	return slices.Contains(perms, p), nil
}
