package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/httperror"
)

// Formats of the ids Switchboard makes (conversations.ContactID: 10 bytes
// of a hash in hex; a query id is its contact's id, '-' and a sequence
// number).
var (
	contactIDFormat = regexp.MustCompile(`^[0-9a-f]{20}$`)
	queryIDFormat   = regexp.MustCompile(`^[0-9a-f]{20}-[1-9][0-9]{0,18}$`)
)

// idKind is what a path parameter names.
type idKind struct {
	valid func(string) bool
	// what is named in the error: "no such <what>".
	what string
}

var (
	userID    = idKind{accounts.ValidID, "user"}
	groupID   = idKind{accounts.ValidGroupID, "group"}
	roleID    = idKind{auth.ValidRoleName, "role"}
	queryID   = idKind{queryIDFormat.MatchString, "conversation"}
	contactID = idKind{contactIDFormat.MatchString, "contact"}
	viewID    = idKind{viewIDFormat.MatchString, "view"}
	mediaID   = idKind{mediaIDFormat.MatchString, "media"}
)

// pathIDs says, by route prefix, what the route's parameters name. A
// route with a parameter not listed here refuses every request (see
// checkIDs), so a new route cannot forget to validate its ids.
var pathIDs = []struct {
	prefix string
	kind   idKind
}{
	{"/api/v1/users/", userID},
	{"/api/v1/groups/", groupID},
	{"/api/v1/roles/", roleID},
	{"/api/v1/conversations/", queryID},
	{"/api/v1/contacts/", contactID},
	{"/api/v1/me/views/", viewID},
	{"/api/v1/media/", mediaID},
}

// checkIDs refuses a request whose path ids are malformed before any of
// them becomes part of a Redis key: ids are interpolated into keys, and
// one like "phone:+55..." would reach another key. A malformed id names
// nothing, so the answer is the route's 404.
func checkIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, name := range c.ParamNames() {
			kind, ok := paramKind(c.Path())
			if !ok {
				return httperror.Write(c, http.StatusNotFound, "not_found", "no such resource")
			}
			if !kind.valid(c.Param(name)) {
				if kind.what == roleID.what && c.Request().Method == http.MethodPut {
					// PUT creates: the name is being chosen, not looked up.
					return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_role",
						"name: want 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter")
				}
				return httperror.Write(c, http.StatusNotFound, "not_found", "no such "+kind.what)
			}
		}
		return next(c)
	}
}

func paramKind(route string) (idKind, bool) {
	for _, p := range pathIDs {
		if strings.HasPrefix(route, p.prefix) {
			return p.kind, true
		}
	}
	return idKind{}, false
}
