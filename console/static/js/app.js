// app.js starts the console: it loads the translations, finds out whether
// a session exists (GET /me with the cookie), and routes the hash
// (#/inbox, #/c/ID, #/admin/hours...) to a screen. Screens register
// themselves in screens.js; each names the permission it needs, so the
// navigation shows only what the server would allow (it refuses anyway).
import * as api from './api.js';
import * as i18n from './i18n.js';
import * as live from './live.js';
import { h, replace, toast } from './dom.js';
import { screens, session } from './state.js';
import { loginScreen } from './login.js';
import './screens.js';

const { t } = i18n;
const root = () => document.getElementById('app');
let cleanup = null;
let config = {};

async function boot() {
  config = await (await fetch('/console/config.json', { credentials: 'same-origin' })).json();
  await i18n.load(config.languages || ['en']);
  document.querySelector('.skip').textContent = t('app.skip');
  api.whenUnauthorized(() => { if (session.user) signedOut(); });
  window.addEventListener('hashchange', route);
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
  await resume();
  route();
}

/** resume reads the session the cookie carries, if any. */
async function resume() {
  try {
    const me = await api.get('/me', { quiet401: true });
    await signedIn(me);
  } catch (e) {
    if (e.status !== 401) toast(t('error.unavailable'), 'error');
  }
}

/** signedIn keeps who is logged in and what the team looks like. */
export async function signedIn(me) {
  session.user = me.user;
  session.permissions = new Set(me.permissions || []);
  session.presence = me.presence || session.presence || 'offline';
  if (me.csrf_token) api.setCSRF(me.csrf_token);
  try {
    session.team = await api.get('/team');
  } catch {
    session.team = { timezone: '', query_types: [], resolution_reasons: [], templates: [], channels: [] };
  }
  i18n.setTimeZone(session.team.timezone);
  live.start();
}

function signedOut() {
  live.stop();
  session.user = null;
  session.permissions = new Set();
  api.setCSRF('');
  // The next person at this browser must not inherit unread marks.
  sessionStorage.clear();
  location.hash = '#/login';
  route();
}

/** logout ends the session on the server, then here; if the server could
 * not end it, the console stays signed in and says so. */
export async function logout() {
  if (!(await api.endSession())) {
    toast(t('error.logout_failed'), 'error');
    return;
  }
  signedOut();
}

/** may reports whether the user holds permission p. */
export const may = (p) => session.permissions.has(p);

function parse() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || '', args: parts.slice(1) };
}

/** route shows the screen the hash names, or the login when signed out. */
export function route() {
  if (cleanup) { try { cleanup(); } catch { /* a screen's cleanup must not block the next */ } }
  cleanup = null;
  if (!session.user) {
    cleanup = loginScreen(root(), { simulatorURL: config.simulator_url, onSignedIn: async (me) => { await signedIn(me); location.hash = '#/inbox'; route(); } });
    document.title = `${t('login.title')} · Switchboard`;
    return;
  }
  let { name, args } = parse();
  if (!name || name === 'login') { name = 'inbox'; history.replaceState(null, '', '#/inbox'); }
  const screen = screens.get(name);
  const main = h('main', { id: 'main', tabIndex: -1 });
  replace(root(), layout(name), main);
  if (!screen) {
    replace(main, h('h1', {}, t('error.not_found')));
    return;
  }
  if (screen.permission && !allowed(screen.permission)) {
    replace(main, h('h1', {}, t('error.forbidden_title')), h('p', { className: 'muted' }, t('error.forbidden')));
    document.title = `${t('error.forbidden_title')} · Switchboard`;
    return;
  }
  document.title = `${t(screen.title)} · Switchboard`;
  cleanup = screen.render(main, args) || null;
}

function allowed(p) {
  return Array.isArray(p) ? p.some(may) : may(p);
}

function layout(current) {
  const links = [...screens.values()].filter((s) => s.nav && (!s.permission || allowed(s.permission)));
  const primary = links.filter((s) => !s.admin);
  const admin = links.filter((s) => s.admin);
  const link = (s) => h('li', {}, h('a', { href: `#/${s.name}`, 'aria-current': s.name === current ? 'page' : null }, t(s.title)));
  const lang = h('select', { 'aria-label': t('app.language'), onchange: (e) => { i18n.use(e.target.value); route(); } },
    i18n.all().map((l) => h('option', { value: l, selected: l === i18n.current() }, t(`lang.${l}`))));
  return h('header', { className: 'top' },
    h('a', { className: 'brand', href: '#/inbox' }, t('app.name')),
    h('nav', { 'aria-label': t('app.navigation') },
      h('ul', {}, primary.map(link)),
      admin.length ? h('details', { className: 'admin-menu' }, h('summary', {}, t('nav.admin')), h('ul', {}, admin.map(link))) : null),
    h('div', { className: 'me' },
      session.presenceControl ? session.presenceControl() : null,
      lang,
      h('span', { className: 'who' }, session.user.name),
      h('button', { type: 'button', className: 'link', onclick: logout }, t('app.logout'))));
}

boot().catch((e) => {
  replace(root(), h('p', { role: 'alert' }, `Switchboard could not start: ${e.message}`));
});
