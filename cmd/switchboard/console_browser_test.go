package main

// The browser half of the console's end-to-end tests: one headless
// Chromium for the whole package run, a tab in a browser context of its
// own (its own cookie jar) per user, and a handful of steps that find
// elements as a user does, by their role and accessible name ("the
// button Send", "the field labelled Code"), never by CSS internals.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// envBrowser, set to "require", makes the browser tests fail rather than
// skip when no Chromium is found (CI sets it).
const envBrowser = "SWITCHBOARD_TEST_BROWSER"

// stepTimeout bounds each step a test takes in the browser: long enough
// for a loaded CI machine under -race, short enough that a missing
// element fails the test quickly with the page's text.
const stepTimeout = 15 * time.Second

var browser struct {
	once   sync.Once
	ctx    context.Context // has run once: its children are tabs of one process
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// chromiumPath finds a Chromium (Debian's chromium package) or Chrome.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserContext returns the shared browser, starting it on first use. It
// skips the test when no Chromium is installed, unless envBrowser says
// the browser is required.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv(envBrowser) == "require" {
			t.Fatalf("no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell in $PATH) and %s=require", envBrowser)
		}
		t.Skipf("no Chromium found in $PATH (install Debian's chromium package); set %s=require to fail instead", envBrowser)
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.DisableGPU,
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 860),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("lang", "en-US"),
			chromedp.Env("LANGUAGE=en_US", "LANG=en_US.UTF-8", "TZ=UTC"),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		// The first Run starts the process; it must not run on a context
		// with a deadline (that would end the browser), so it is watched.
		done := make(chan error, 1)
		go func() { done <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			err = errors.New("chromium did not start within 60s")
		}
		browser.ctx = ctx
		browser.cancel = func() {
			cancelCtx()
			cancelAlloc()
			_ = os.RemoveAll(dir)
		}
		if err != nil {
			browser.err = fmt.Errorf("start %s: %w", path, err)
		}
	})
	if browser.err != nil {
		t.Fatalf("browser: %v", browser.err)
	}
	return browser.ctx
}

// tab is one user's browser tab, in a browser context of its own: its
// cookies (the console's session) are its alone.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	who  string // for failure messages
}

// newTab opens a tab on base, in a fresh browser context, closed when the
// test ends (before the server stops: cleanups run last first).
func newTab(t *testing.T, base, who string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserContext(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, base: base, who: who}
	// The first Run creates the tab; no deadline on it either. Notices
	// (the console's toasts) fade: each is kept, for failure messages.
	keepNotices := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noticeRecorderJS})
		return err
	})
	if err := chromedp.Do(ctx, keepNotices, chromedp.EmulateViewport(1280, 860), chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("%s: open the console: %v", who, err)
	}
	return b
}

// prefer makes the tab's browser prefer languages (an Accept-Language
// list) from its next page on, as a browser set to them does: in
// navigator.languages and in the Accept-Language header.
func (b *tab) prefer(languages string) {
	b.t.Helper()
	ua := evalIn[string](b, "read the user agent", `navigator.userAgent`)
	b.do("prefer "+languages, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: languages})
		return err
	}))
}

// noticeRecorderJS keeps the text of every notice shown in #toast in
// window.__notices, for a failure to tell what the console said.
const noticeRecorderJS = `window.__notices = [];
document.addEventListener('DOMContentLoaded', () => {
  const el = document.getElementById('toast');
  if (!el) return;
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) window.__notices.push(new Date().toISOString().slice(11, 23) + ' ' + n.textContent);
  }).observe(el, { childList: true });
});`

// do runs steps within stepTimeout, failing the test with what the page
// shows if one fails.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.try(stepTimeout, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *tab) try(d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// fail ends the test with the page's address and visible text, and a
// screenshot in the test's output directory when it can take one.
func (b *tab) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	// Delivery states are attributes, not text: show them too.
	if states, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-status]')].map((el) =>
  'data-status=' + el.getAttribute('data-status') + ' ' + [...el.querySelectorAll('[aria-label]')].map((x) => 'aria-label=' + x.getAttribute('aria-label')).join(' ') + ': ' + el.innerText.replace(/\s+/g, ' ')).join('\n')`)); states != "" {
		text += "\n\n(elements with a data-status:)\n" + states
	}
	if notices, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.__notices || []).join('\n')`)); notices != "" {
		text += "\n\n(notices shown:)\n" + notices
	}
	shot := ""
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		p := filepath.Join(os.TempDir(), fmt.Sprintf("switchboard-e2e-%s-%s.png", strings.ReplaceAll(b.t.Name(), "/", "_"), b.who))
		if os.WriteFile(p, png, 0o644) == nil {
			shot = "\nscreenshot: " + p
		}
	}
	b.t.Fatalf("%s: %s: %v\nat %s the page shows:\n%s%s", b.who, what, err, url, indent(text), shot)
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// locate is the JavaScript that finds the first shown element of role
// whose accessible name is name (exactly, spaces collapsed; or containing
// it when contains is set), inside the region scope names when scope is
// not empty: the element labelled scope, or the section a heading scope
// heads. It is a JSPath selector, so the query waits until it matches.
func locate(role, name, scope string, contains bool) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`(%s)(%q, %q, %q, %t)`, locatorJS, role, name, scope, contains))
}

const locatorJS = `function (role, name, scope, contains) {
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const roles = {
    button: 'button, input[type=submit], input[type=button], [role=button], summary',
    link: 'a[href], [role=link]',
    heading: 'h1, h2, h3, h4, h5, h6, [role=heading]',
    textbox: 'input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit]):not([type=button]), textarea, [role=textbox]',
    combobox: 'select, [role=combobox], [role=listbox]',
    checkbox: 'input[type=checkbox], [role=checkbox], [role=switch]',
    field: 'input, textarea, select, [role=textbox], [role=combobox]',
    dialog: 'dialog, [role=dialog], [role=alertdialog]',
    region: 'section, aside, [role=region], [role=list], ul, ol',
    img: '[role=img], img, svg',
    any: '[aria-label], [title]',
  };
  const shown = (el) => !el.closest('[hidden]') && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const label = (el) => {
    const aria = el.getAttribute('aria-label');
    if (aria) return aria;
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map((id) => { const l = document.getElementById(id); return l ? l.textContent : ''; }).join(' ');
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(' ');
    if (el.tagName === 'INPUT') return el.type === 'submit' || el.type === 'button' ? el.value : (el.getAttribute('title') || el.getAttribute('placeholder') || '');
    if (el.tagName === 'IMG') return el.alt || '';
    return el.textContent || el.getAttribute('title') || '';
  };
  const matches = (el) => { const n = norm(label(el)); return contains ? n.includes(norm(name)) : n === norm(name); };
  let root = document;
  if (scope) {
    const headings = [...document.querySelectorAll('[aria-label], h1, h2, h3, h4, h5, h6, [role=heading], legend, caption')]
      .filter((el) => shown(el) && norm(el.getAttribute('aria-label') || el.textContent) === norm(scope));
    if (!headings.length) return null;
    const h = headings[0];
    root = h.hasAttribute('aria-label') && !/^H[1-6]$/.test(h.tagName) ? h
      : (h.closest('section, aside, article, fieldset, [role=region], [role=group], nav, form') || h.parentElement);
  }
  for (const el of root.querySelectorAll(roles[role] || role)) {
    if (shown(el) && matches(el)) return el;
  }
  return null;
}`

// The steps, each finding its element by role and name.

// click presses the shown, enabled element of role named name.
func click(role, name string) chromedp.Action[chromedp.Void] {
	return clickOn(locate(role, name, "", false))
}

// clickOn presses the shown, enabled element sel selects. The console
// redraws a list when an event comes in, so the element found can be
// replaced before the press lands: then it is found again and pressed.
func clickOn(sel chromedp.JSPath) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			_, err := chromedp.Click(sel, chromedp.NodeVisible, chromedp.NodeEnabled)(ctx, t)
			if err == nil || !staleNode(err) || ctx.Err() != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// staleNode reports whether err says the element went from the page
// between finding and using it.
func staleNode(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not find node") || strings.Contains(s, "No node with given id") ||
		strings.Contains(s, "not attached") || strings.Contains(s, "detached") || strings.Contains(s, "does not have")
}

// fill types text into the field labelled label, after clearing it.
func fill(label, text string) chromedp.Action[chromedp.Void] {
	sel := locate("field", label, "", false)
	return chromedp.Steps(
		chromedp.WaitVisible(sel),
		chromedp.Evaluate[chromedp.Void](`(() => { const el = `+string(sel)+`; el.value = ''; el.dispatchEvent(new Event('input', { bubbles: true })); })()`),
		chromedp.SendKeys(sel, text),
	)
}

// seeRole waits until an element of role named name is shown.
func seeRole(role, name string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(locate(role, name, "", false))
}

// seeHeading waits until a heading whose name starts with name is shown
// (a heading may carry a count after its title: "Pool 3").
func seeHeading(name string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role=heading]')].find((el) =>
  el.getClientRects().length > 0 && (el.getAttribute('aria-label') || el.textContent).replace(/\s+/g, ' ').trim().startsWith(%q)) || null`, name)))
}

// valueIs waits until the field labelled label holds value.
func valueIs(label, value string) chromedp.Action[chromedp.Void] {
	sel := locate("field", label, "", false)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(v) => { const el = `+string(sel)+`; return !!el && el.value === v; }`,
			chromedp.WithPollingArgs(value), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))(ctx, t)
		if err != nil {
			got, _ := chromedp.Evaluate[string](`(() => { const el = `+string(sel)+`; return el ? el.value : '(no such field)'; })()`)(ctx, t)
			return fmt.Errorf("the field %q holds %q, want %q: %w", label, got, value, err)
		}
		return nil
	})
}

// seeText waits until the page's visible text contains s.
func seeText(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(s) => document.body && document.body.innerText.includes(s)`,
			chromedp.WithPollingArgs(s), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))(ctx, t)
		if err != nil {
			return fmt.Errorf("text %q not shown: %w", s, err)
		}
		return nil
	})
}

// cookies returns the tab's cookies for the console's address.
func (b *tab) cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	})
	if err != nil {
		b.fail("read the cookies", err)
	}
	return res.Cookies
}

// choose picks, in the select labelled label, the option whose text is
// option, as a user does: the select fires input and change.
func choose(label, option string) chromedp.Action[chromedp.Void] {
	sel := locate("combobox", label, "", false)
	return chromedp.Steps(
		chromedp.WaitVisible(sel),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			ok, err := chromedp.Evaluate[bool](fmt.Sprintf(`((el, text) => {
  const o = [...el.options].find((o) => o.textContent.replace(/\s+/g, ' ').trim() === text);
  if (!o) return false;
  el.focus();
  el.value = o.value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  return true;
})(%s, %q)`, string(sel), option))(ctx, t)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("the select %q has no option %q", label, option)
			}
			return nil
		}),
	)
}

// shown reports, at once, whether an element of role named name is shown.
func (b *tab) shown(role, name, scope string, contains bool) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!(%s)`, string(locate(role, name, scope, contains)))))
	if err != nil {
		b.fail("look for "+role+" "+name, err)
	}
	return ok
}

// eval evaluates a JavaScript expression in the page.
func evalIn[T any](b *tab, what, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail(what, err)
	}
	return v
}
