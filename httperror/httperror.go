// Package httperror is the one JSON error shape every Switchboard HTTP
// endpoint answers with: {"error": {"code": "...", "message": "..."}}.
// Codes are stable and machine-readable; messages are for people.
package httperror

import "github.com/labstack/echo/v4"

// Body is the error response document.
type Body struct {
	Error Detail `json:"error"`
}

// Detail says what went wrong.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Write answers c with status and the error shape.
func Write(c echo.Context, status int, code, message string) error {
	return c.JSON(status, Body{Error: Detail{Code: code, Message: message}})
}
