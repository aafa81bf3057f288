// Package console serves the web console CS staff work in: one HTML page
// and the static files it loads, all embedded in the binary, so `serve`
// needs nothing beside it and no CDN. The console is a client of the
// JSON API under /api/v1 like any integration; this package holds no
// business rule and reads no state. It adds what a browser page needs:
// a strict Content-Security-Policy, the translations merged into one
// document, and the web app manifest that makes it installable.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static
var staticFS embed.FS

//go:embed strings
var stringsFS embed.FS

// Policy is the Content-Security-Policy of every console response: only
// the console's own scripts, styles and API may load or run, so a
// customer's message that slipped past escaping still could not run
// script, call out or frame anything.
const Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure the console.
type Options struct {
	// SimulatorURL, when set (demo mode), is the customer simulator's
	// page, linked from the login screen.
	SimulatorURL string
}

// Console serves the web app.
type Console struct {
	files   map[string]asset
	config  []byte
	strings []byte
	tag     string // ETag of the translations
}

type asset struct {
	body []byte
	typ  string
	etag string
}

// New loads the embedded files and translations, failing if a
// translation file is malformed or a language lacks a string another has:
// a console that shows raw keys to a Spanish-speaking operator is broken.
func New(o Options) (*Console, error) {
	c := &Console{files: map[string]asset{}}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		c.files[p] = asset{body: b, typ: contentType(p), etag: etag(b)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	tr, err := LoadStrings()
	if err != nil {
		return nil, err
	}
	if c.strings, err = json.Marshal(tr); err != nil {
		return nil, fmt.Errorf("console strings: %w", err)
	}
	c.tag = etag(c.strings)
	if c.config, err = json.Marshal(map[string]any{"simulator_url": o.SimulatorURL, "languages": Languages}); err != nil {
		return nil, fmt.Errorf("console config: %w", err)
	}
	return c, nil
}

// Register adds the console's routes to e: the page at / and its files
// under /console/.
func (c *Console) Register(e *echo.Echo) {
	e.GET("/", c.page)
	e.GET("/manifest.webmanifest", c.file("manifest.webmanifest"))
	e.GET("/sw.js", c.file("sw.js"))
	e.GET("/console/strings.json", func(ctx echo.Context) error {
		return c.serve(ctx, asset{body: c.strings, typ: "application/json", etag: c.tag})
	})
	e.GET("/console/config.json", func(ctx echo.Context) error {
		return c.serve(ctx, asset{body: c.config, typ: "application/json", etag: etag(c.config)})
	})
	e.GET("/console/*", func(ctx echo.Context) error {
		return c.file(ctx.Param("*"))(ctx)
	})
}

func (c *Console) page(ctx echo.Context) error {
	return c.file("index.html")(ctx)
}

func (c *Console) file(name string) echo.HandlerFunc {
	return func(ctx echo.Context) error {
		a, ok := c.files[path.Clean(name)]
		if !ok || strings.HasPrefix(name, ".") {
			return echo.NewHTTPError(http.StatusNotFound, "no such file")
		}
		return c.serve(ctx, a)
	}
}

// serve answers a file with its policy. Files are revalidated on every
// load (no-cache with an ETag): a new binary's console must not run
// against stale scripts, and a 304 costs little.
func (c *Console) serve(ctx echo.Context, a asset) error {
	h := ctx.Response().Header()
	h.Set("Content-Security-Policy", Policy)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if match := ctx.Request().Header.Get("If-None-Match"); match != "" && match == a.etag {
		return ctx.NoContent(http.StatusNotModified)
	}
	return ctx.Blob(http.StatusOK, a.typ, a.body)
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".webmanifest":
		return "application/manifest+json"
	case ".json":
		return "application/json"
	case ".wav":
		return "audio/wav"
	}
	return "application/octet-stream"
}
