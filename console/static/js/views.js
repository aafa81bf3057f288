// views.js: the user's saved views in the inbox. A view is a named filter
// of the conversation list (state, query type, channel, tag, only mine,
// waiting longer than) kept by the server (GET/POST/DELETE /api/v1/me/views),
// each shown with how many conversations it matches among those the user
// may see. Choosing one lists its matches; "Save view" keeps the filter
// being tried. The inbox mounts it above its lists and calls refresh when
// an event says something changed.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, replace, field, toast } from './dom.js';
import { session } from './state.js';
import { message, confirmAction } from './forms.js';

const CHOSEN = 'switchboard.view';
const WAITS = ['', '5m', '15m', '30m', '1h', '4h', '24h'];

/** describe says what a filter keeps, in words. */
function describe(f) {
  const parts = [];
  if (f.state) parts.push(t(`state.${f.state}`));
  if (f.query_type) parts.push((session.team.query_types.find((q) => q.id === f.query_type) || {}).name || f.query_type);
  if (f.channel) parts.push(f.channel);
  if (f.tag) parts.push(((session.team.tags || []).find((x) => x.id === f.tag) || {}).name || f.tag);
  if (f.assignee) parts.push(f.assignee === session.user.id ? t('views.only_mine') : f.assignee);
  if (f.waiting_longer_than) parts.push(t('views.waiting_more', { time: f.waiting_longer_than }));
  return parts.join(' · ') || t('views.everything');
}

/**
 * viewsPanel builds the saved views' section. item renders one
 * conversation as the inbox's lists do. It returns {el, refresh, close}.
 */
export function viewsPanel({ item }) {
  let views = [];
  let chosen = sessionStorage.getItem(CHOSEN) || '';
  let trying = null; // a filter being tried, not saved yet
  let alive = true;

  const listEl = h('ul', { className: 'view-list', 'aria-label': t('views.title') });
  const matchesTitle = h('h2', {});
  const matchesEl = h('ul', { className: 'conv-list', 'aria-label': t('views.matches') });
  const matches = h('div', { className: 'view-matches', hidden: true }, matchesTitle, matchesEl);

  const opt = (value, label) => h('option', { value }, label);
  const state = h('select', {}, opt('', t('views.any')), ['pending', 'assigned', 'inactive', 'closed'].map((s) => opt(s, t(`state.${s}`))));
  const type = h('select', {}, opt('', t('views.any')), session.team.query_types.map((q) => opt(q.id, q.name)));
  const channel = h('select', {}, opt('', t('views.any')), (session.team.channels || []).map((c) => opt(c.id, c.id)));
  const teamTags = session.team.tags || [];
  const tag = teamTags.length ? h('select', {}, opt('', t('views.any')), teamTags.map((x) => opt(x.id, x.name || x.id))) : null;
  const mine = h('input', { type: 'checkbox' });
  const wait = h('select', {}, WAITS.map((w) => opt(w, w ? t('views.waiting_more', { time: w }) : t('views.any'))));
  const name = h('input', { type: 'text', maxLength: 60, autocomplete: 'off' });
  const current = () => {
    const f = {};
    if (state.value) f.state = state.value;
    if (type.value) f.query_type = type.value;
    if (channel.value) f.channel = channel.value;
    if (tag && tag.value) f.tag = tag.value;
    if (mine.checked) f.assignee = session.user.id;
    if (wait.value) f.waiting_longer_than = wait.value;
    return f;
  };
  const form = h('form', { className: 'view-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const v = await api.post('/me/views', { name: name.value.trim(), filter: current() });
      name.value = '';
      trying = null;
      form.closest('details').open = false;
      choose(v.id);
      toast(t('views.saved', { name: v.name }));
    } catch (err) { toast(message(err), 'error'); }
  } },
  field(t('views.state'), state), field(t('views.query_type'), type), field(t('views.channel'), channel),
  tag ? field(t('views.tag'), tag) : null,
  h('label', { className: 'check' }, mine, ' ', t('views.only_mine')), field(t('views.waiting'), wait),
  field(t('views.name'), name),
  h('div', { className: 'row' },
    h('button', { type: 'button', onclick: () => { trying = current(); chosen = ''; sessionStorage.removeItem(CHOSEN); draw(); show(); } }, t('views.try')),
    h('button', { type: 'submit', className: 'primary' }, t('views.save'))));
  const el = h('div', { className: 'views' },
    h('h2', {}, t('views.title')), listEl,
    h('details', { className: 'view-new' }, h('summary', {}, t('views.new')), form),
    matches);

  function choose(id) {
    chosen = chosen === id ? '' : id;
    trying = null;
    if (chosen) sessionStorage.setItem(CHOSEN, chosen); else sessionStorage.removeItem(CHOSEN);
    refresh();
  }

  async function remove(v) {
    if (!await confirmAction(t('views.delete_confirm', { name: v.name }))) return;
    try {
      await api.del(`/me/views/${encodeURIComponent(v.id)}`);
      if (chosen === v.id) { chosen = ''; sessionStorage.removeItem(CHOSEN); }
      refresh();
    } catch (err) { toast(message(err), 'error'); }
  }

  function draw() {
    replace(listEl, views.length ? views.map((v) => h('li', {},
      h('button', { type: 'button', className: 'view', 'aria-pressed': v.id === chosen ? 'true' : 'false', title: describe(v.filter), onclick: () => choose(v.id) },
        v.name, ' ', h('span', { className: 'badge', 'aria-label': t('views.count', { count: v.count }) }, String(v.count))),
      h('button', { type: 'button', className: 'link', 'aria-label': t('views.delete', { name: v.name }), onclick: () => remove(v) }, '×')))
      : h('li', { className: 'muted empty' }, t('views.none')));
  }

  // show lists the matches of the chosen view (or the filter being tried).
  async function show() {
    const v = views.find((x) => x.id === chosen);
    const f = v ? v.filter : trying;
    matches.hidden = !f;
    if (!f) return;
    matchesTitle.textContent = v ? v.name : describe(f);
    try {
      const r = await api.get(`/conversations${api.q({ ...f, limit: 100 })}`);
      if (alive) replace(matchesEl, r.conversations.length ? r.conversations.map(item) : h('li', { className: 'muted empty' }, t('inbox.empty')));
    } catch (err) { if (err.status !== 401) toast(message(err), 'error'); }
  }

  let loading = null;
  let again = false;
  // refresh re-reads the views' counts and the matches, one pass at a
  // time: events arriving meanwhile make one more pass, not one each.
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try {
          views = (await api.get('/me/views')).views || [];
          if (!alive) return;
          if (chosen && !views.some((v) => v.id === chosen)) { chosen = ''; sessionStorage.removeItem(CHOSEN); }
          draw();
          await show();
        } catch (err) {
          if (err.status !== 401) toast(message(err), 'error');
        }
      } while (again && alive);
      loading = null;
    })();
    return loading;
  }

  refresh();
  return { el, refresh, close: () => { alive = false; } };
}
