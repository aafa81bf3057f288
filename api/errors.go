package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"switchboard/httperror"
)

// internal answers an error that is not the caller's: 503 when Redis or
// the database (or the network to them) is unavailable, so clients and
// load balancers know to retry, else 500. The cause goes to the log, never to the caller.
func (a *API) internal(c echo.Context, err error) error {
	a.logger.ErrorContext(c.Request().Context(), "api error", "route", c.Path(), "err", err)
	if unavailable(err) {
		return httperror.Write(c, http.StatusServiceUnavailable, "unavailable", "a service Switchboard depends on is unavailable; try again")
	}
	return httperror.Write(c, http.StatusInternalServerError, "internal", "internal error")
}

// unavailable reports whether err says Redis or the database could not be
// reached or cannot serve now (down, restarting, failing over), rather
// than a bug.
func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		for _, p := range []string{"LOADING ", "MASTERDOWN ", "CLUSTERDOWN ", "TRYAGAIN ", "READONLY "} {
			if strings.HasPrefix(re.Error(), p) {
				return true
			}
		}
	}
	return databaseUnavailable(err)
}

// databaseUnavailable reports whether err is the database saying it cannot
// serve now: a connection database/sql gave up on, or a PostgreSQL error
// of the connection class (08), a server shutting down or starting up
// (57P01-57P03, as in a failover) or out of connections (53300).
// PostgreSQL drivers expose an error's code as SQLState.
func databaseUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pe interface{ SQLState() string }
	if !errors.As(err, &pe) {
		return false
	}
	switch code := pe.SQLState(); {
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
		return true
	}
	return false
}
