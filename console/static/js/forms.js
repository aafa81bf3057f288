// forms.js holds what the administration screens share: reading and
// saving the settings document, a status line, error messages from the
// API, a confirmation dialog, and small builders for labelled controls.
// Everything is built with h(), so no data is ever parsed as HTML.
import * as api from './api.js';
import { t, setTimeZone } from './i18n.js';
import { h, replace, field } from './dom.js';
import { session } from './state.js';

/** may reports whether the signed-in user holds permission p. */
export const may = (p) => session.permissions.has(p);

/** message says what went wrong with an API call, in the user's language. */
export function message(err) {
  if (!err) return '';
  if (err.status === 0) return t('error.unavailable');
  if (err.status === 409 && err.code === 'conflict') return t('error.conflict');
  if (err.status === 409 && !err.message) return t('error.conflict');
  return t('error.generic', { message: err.message || err.code || `HTTP ${err.status}` });
}

/**
 * statusLine is a polite live region: ok() says "Saved" (or text),
 * fail(err) shows the API's message as an alert next to the form.
 */
export function statusLine() {
  const el = h('p', { className: 'form-status', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    ok(text = t('app.saved')) { el.className = 'form-status ok'; el.setAttribute('role', 'status'); el.textContent = text; },
    busy() { el.className = 'form-status'; el.setAttribute('role', 'status'); el.textContent = t('admin.saving'); },
    fail(err) { el.className = 'form-status error'; el.setAttribute('role', 'alert'); el.textContent = typeof err === 'string' ? err : message(err); },
    clear() { el.className = 'form-status'; el.textContent = ''; },
  };
}

/** confirmAction asks with a native modal dialog; resolves true on OK. */
export function confirmAction(text, okLabel = t('app.delete')) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, text),
      h('form', { method: 'dialog', className: 'actions' },
        h('button', { type: 'submit', value: 'cancel' }, t('app.cancel')),
        h('button', { type: 'submit', value: 'ok', className: 'primary danger-fill' }, okLabel)));
    dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); });
    document.body.appendChild(dlg);
    if (typeof dlg.showModal === 'function') dlg.showModal();
    else { dlg.remove(); resolve(window.confirm(text)); }
  });
}

/** loading replaces main's content with a loading line. */
export function loading(main, title) {
  replace(main, h('h1', {}, title), h('p', { className: 'muted' }, t('app.loading')));
}

/** failed shows a load error on main. */
export function failed(main, title, err) {
  replace(main, h('h1', {}, title), h('p', { role: 'alert', className: 'form-status error' }, message(err)));
}

/**
 * loadSettings reads GET /settings. The answer's document is the YAML as a
 * JSON object; a server without it cannot be edited with forms (the
 * YAML screen still works), which is reported as an error with code
 * no_document.
 */
export async function loadSettings() {
  const s = await api.get('/settings');
  if (!s || typeof s.document !== 'object' || s.document === null) {
    if (s && !s.yaml) return { version: s.version || 0, document: {}, yaml: '' };
    const e = new Error(t('admin.no_document'));
    e.status = -1;
    e.code = 'no_document';
    e.message = t('admin.no_document');
    throw e;
  }
  return s;
}

/** saveSettings applies document as a new version made from version. */
export function saveSettings(version, document) {
  return api.put('/settings', { version, document });
}

/**
 * settingsScreen renders a form over part of the settings document: build
 * (doc, form) appends the controls (editing doc in place or returning a
 * collect function), and Save sends the whole document, only that part
 * changed. A 409 reloads nothing by itself: the user reads the message,
 * and Reload fetches the document in force.
 */
export function settingsScreen(main, { title, intro, build }) {
  let alive = true;
  async function load() {
    loading(main, t(title));
    let s;
    try {
      s = await loadSettings();
    } catch (err) {
      if (alive) failed(main, t(title), err.code === 'no_document' ? err.message : err);
      return;
    }
    if (!alive) return;
    let version = s.version;
    const doc = structuredClone(s.document || {});
    const status = statusLine();
    const body = h('div', { className: 'settings-form' });
    let collect;
    try {
      collect = await build(doc, body, status);
    } catch (err) {
      if (alive) failed(main, t(title), err);
      return;
    }
    if (!alive) return;
    const save = h('button', { type: 'submit', className: 'primary' }, t('app.save'));
    const form = h('form', { className: 'panel', noValidate: true, onsubmit: async (e) => {
      e.preventDefault();
      let next;
      try {
        next = collect ? collect() : doc;
      } catch (err) {
        status.fail(err.message);
        return;
      }
      save.disabled = true;
      status.busy();
      try {
        const res = await saveSettings(version, next);
        if (res && res.version) version = res.version;
        status.ok();
        // the inbox reads templates, reasons and query types from the team
        api.get('/team').then((team) => { if (team) { session.team = team; setTimeZone(team.timezone); } }).catch(() => {});
      } catch (err) {
        status.fail(err);
      } finally {
        save.disabled = false;
      }
    } },
    body,
    h('div', { className: 'actions start' }, save,
      h('button', { type: 'button', onclick: load }, t('admin.reload'))),
    status.el);
    replace(main, h('h1', {}, t(title)), intro ? h('p', { className: 'muted' }, t(intro)) : null, form);
  }
  load();
  return () => { alive = false; };
}

let seq = 0;
/** uid makes an element id unique on the page. */
export const uid = (p = 'x') => `${p}-${++seq}`;

/** input is a text input (or type) with a value. */
export function input(value, attrs = {}) {
  return h('input', { type: 'text', value: value == null ? '' : String(value), ...attrs });
}

/** listInput is a text input holding a list as "a, b, c". */
export function listInput(list, attrs = {}) {
  return input((list || []).join(', '), attrs);
}

/** splitList reads "a, b, c" (commas or new lines) back into a list. */
export function splitList(text) {
  return String(text || '').split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
}

/** select builds a select of options [{value, label}] with one selected. */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
}

/**
 * checks is a fieldset of checkboxes, one per option [{value, label}];
 * value() returns the checked values in option order (plus any chosen
 * value not offered, so nothing the form does not know is dropped).
 */
export function checks(legend, options, chosen = []) {
  const set = new Set(chosen || []);
  const boxes = options.map((o) => {
    const box = h('input', { type: 'checkbox', value: o.value, checked: set.has(o.value) });
    return { box, el: h('label', { className: 'check' }, box, ` ${o.label}`) };
  });
  const unknown = [...set].filter((v) => !options.some((o) => o.value === v));
  const el = h('fieldset', { className: 'checks' }, h('legend', {}, legend),
    boxes.length ? boxes.map((b) => b.el) : h('span', { className: 'muted' }, t('app.none')));
  return { el, value: () => [...boxes.filter((b) => b.box.checked).map((b) => b.box.value), ...unknown] };
}

/** labelled wraps control in a labelled .field (dom.js's field). */
export const labelled = (label, control, hint) => field(label, control, hint);

/** option lists of the team: query types, channels, templates, as {value, label}. */
export function teamOptions(kind) {
  const list = (session.team && session.team[kind]) || [];
  return list.map((x) => (typeof x === 'string'
    ? { value: x, label: x }
    : { value: x.id || x.name, label: optionLabel(x) }));
}

function optionLabel(x) {
  if (x.name && x.id && x.name !== x.id) return `${x.name} (${x.id})`;
  if (x.kind && x.id) return `${x.id} (${x.kind})`;
  return x.name || x.id;
}

/**
 * listOf fetches an optional list (users, groups) the screen can do
 * without: a 403 gives null, so the screen falls back to typing ids.
 */
export async function listOf(path, key) {
  try {
    const r = await api.get(path);
    return (r && r[key]) || [];
  } catch (err) {
    if (err.status === 403 || err.status === 404) return null;
    throw err;
  }
}

/** idPicker picks ids from options as checkboxes, or types them when there are none to offer. */
export function idPicker(legend, options, chosen, hint) {
  if (options) return checks(legend, options, chosen);
  const el = listInput(chosen, { 'aria-describedby': null });
  const f = field(legend, el, hint || t('admin.ids_hint'));
  return { el: f, value: () => splitList(el.value) };
}
