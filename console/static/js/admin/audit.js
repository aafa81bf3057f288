// audit.js: the audit log — who did what to whom, when (in the team's
// time zone) and how it ended. The API answers it newest first, 200
// entries a request; older ones are loaded on demand, and what is loaded
// is shown a page at a time, filtered as typed.
import { register } from '../state.js';
import * as api from '../api.js';
import { t, dateTime } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { input, loading, failed, listOf, statusLine } from '../forms.js';

const PAGE = 50;

function render(main) {
  let alive = true;
  const title = t('audit.title');

  async function load() {
    loading(main, title);
    let first; let users;
    try {
      [first, users] = await Promise.all([api.get('/audit'), listOf('/users', 'users')]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    let entries = first.entries || [];
    let cursor = first.next_cursor || '';
    const names = new Map((users || []).map((u) => [u.id, u.name]));
    const who = (id) => (id && names.has(id) ? `${names.get(id)} (${id})` : id || '—');
    let page = 0;
    const filter = input('', { type: 'search', autocomplete: 'off' });
    const tbody = h('tbody');
    const pageLine = h('span', { 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', onclick: () => { page -= 1; show(); } }, t('admin.previous'));
    const next = h('button', { type: 'button', onclick: () => { page += 1; show(); } }, t('admin.next'));
    function matching() {
      const q = filter.value.trim().toLowerCase();
      if (!q) return entries;
      return entries.filter((e) => [e.action, e.actor, names.get(e.actor), e.target, names.get(e.target), e.outcome, e.ip]
        .some((v) => v && String(v).toLowerCase().includes(q)));
    }
    function show() {
      const list = matching();
      const pages = Math.max(1, Math.ceil(list.length / PAGE));
      page = Math.min(Math.max(0, page), pages - 1);
      replace(tbody, list.slice(page * PAGE, (page + 1) * PAGE).map((e) => h('tr', {},
        h('td', {}, h('time', { dateTime: e.at }, dateTime(e.at, { dateStyle: 'medium', timeStyle: 'medium' }))),
        h('td', {}, who(e.actor)),
        h('td', {}, h('code', {}, e.action || '')),
        h('td', {}, who(e.target)),
        h('td', {}, e.outcome || '—'),
        h('td', {}, e.ip || ''))));
      if (!list.length) tbody.appendChild(h('tr', {}, h('td', { colSpan: 6, className: 'muted' }, t('audit.none'))));
      pageLine.textContent = t('admin.page', { page: page + 1, pages });
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    const loaded = h('span', { className: 'muted', 'aria-live': 'polite' });
    const older = h('button', { type: 'button' }, t('audit.older'));
    const olderStatus = statusLine();
    function showLoaded() {
      loaded.textContent = t('audit.loaded', { count: entries.length });
      older.hidden = !cursor;
    }
    older.addEventListener('click', async () => {
      older.disabled = true;
      olderStatus.clear();
      try {
        const r = await api.get('/audit?cursor=' + encodeURIComponent(cursor));
        if (!alive) return;
        entries = entries.concat(r.entries || []);
        cursor = r.next_cursor || '';
        showLoaded();
        show();
      } catch (err) {
        if (alive) olderStatus.fail(err);
      } finally {
        older.disabled = false;
      }
    });
    filter.addEventListener('input', () => { page = 0; show(); });
    replace(main,
      h('h1', {}, title),
      h('p', { className: 'muted' }, t('audit.intro')),
      h('div', { className: 'row' }, field(t('audit.filter'), filter),
        h('button', { type: 'button', onclick: load }, t('admin.reload'))),
      h('div', { className: 'table-wrap panel' }, h('table', {},
        h('thead', {}, h('tr', {}, ['audit.at', 'audit.actor', 'audit.action', 'audit.target', 'audit.outcome', 'audit.ip']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        tbody)),
      h('nav', { className: 'pager', 'aria-label': t('audit.pages') }, prev, pageLine, next),
      h('div', { className: 'row' }, loaded, older), olderStatus.el);
    showLoaded();
    show();
  }
  load();
  return () => { alive = false; };
}

register({ name: 'audit', title: 'audit.title', permission: 'audit.view', nav: true, admin: true, render });
