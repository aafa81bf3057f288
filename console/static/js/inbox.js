// inbox.js is the operator's day: the lists of their conversations and of
// the pools they may claim from, beside the open conversation. Both follow
// the event stream, so a new message, a claim by a colleague or a transfer
// shows without reloading; the server decides who sees what, and this
// screen only asks again when an event says something changed.
import * as api from './api.js';
import * as live from './live.js';
import * as notify from './notify.js';
import { t, duration } from './i18n.js';
import { h, replace, toast } from './dom.js';
import { register, session, typeName } from './state.js';
import { openConversation } from './conversation.js';
import { chip } from './tags.js';
import { viewsPanel } from './views.js';
import { breachBadge } from './sla.js';

const UNREAD = 'switchboard.unread';

/** unread counts, per conversation, the customer's messages not yet seen here. */
const unread = {
  all() { try { return JSON.parse(sessionStorage.getItem(UNREAD) || '{}'); } catch { return {}; } },
  get(id) { return this.all()[id] || 0; },
  bump(id) { const u = this.all(); u[id] = (u[id] || 0) + 1; sessionStorage.setItem(UNREAD, JSON.stringify(u)); },
  clear(id) { const u = this.all(); delete u[id]; sessionStorage.setItem(UNREAD, JSON.stringify(u)); },
};


function render(main, args) {
  const openID = args[0] || '';
  if (openID) unread.clear(openID);
  const me = session.user.id;
  // The server shows the pools of the types one serves to whoever may
  // take from them: with Claim (self_assign), or by replying, which
  // claims a pooled conversation (the built-in operator's way).
  const mayClaim = session.permissions.has('conversations.self_assign') || session.permissions.has('conversations.reply');
  const viewAll = session.permissions.has('conversations.view_all');

  const lists = [
    { key: 'mine', title: t('inbox.mine'), query: { state: 'assigned', assignee: me } },
    { key: 'pool', title: t('inbox.pool'), query: { state: 'pending' }, also: { state: 'inactive' }, hidden: !mayClaim && !viewAll },
    { key: 'others', title: t('inbox.others'), query: { state: 'assigned' }, exclude: me, hidden: !viewAll },
  ].filter((l) => !l.hidden);

  const listSection = h('section', { className: 'list-section', 'aria-label': t('inbox.lists') });
  const convSection = h('section', { className: 'conversation-section', 'aria-live': 'off' });
  const workspace = h('div', { className: `workspace${openID ? ' open' : ''}` }, listSection, convSection);
  replace(main, h('h1', { className: 'visually-hidden' }, t('nav.inbox')), presenceBanner(), workspace);

  // A tag narrows every list (GET /conversations?tag=), when the settings have tags.
  let tagFilter = '';
  const tags = session.team.tags || [];
  if (tags.length) {
    const sel = h('select', { className: 'tag-filter', onchange: () => { tagFilter = sel.value; refresh(); } },
      h('option', { value: '' }, t('tags.all')), tags.map((x) => h('option', { value: x.id }, x.name || x.id)));
    listSection.append(h('div', { className: 'field' }, h('label', { for: 'tag-filter' }, t('tags.filter')), sel));
    sel.id = 'tag-filter';
  }
  // Saved views, above the lists, for those who may keep them (views.js).
  const views = session.permissions.has('views.customize') ? viewsPanel({ item: (c) => item(c) }) : null;
  if (views) listSection.append(views.el);

  const state = {};
  const listEls = {};
  for (const l of lists) {
    listEls[l.key] = h('ul', { className: 'conv-list', 'aria-label': l.title });
    listSection.append(h('h2', {}, l.title, ' ', h('span', { className: 'badge', 'data-count': l.key }, '0')), listEls[l.key]);
  }

  async function fetchList(l) {
    const get = (query) => api.get(`/conversations${api.q({ ...query, ...(tagFilter ? { tag: tagFilter } : {}), limit: 100 })}`).then((r) => r.conversations);
    let items = await get(l.query);
    if (l.also) items = items.concat(await get(l.also));
    if (l.exclude) items = items.filter((c) => c.assignee !== l.exclude);
    // The longest-waiting first: who wrote last longest ago is most at risk.
    items.sort((a, b) => new Date(a.last_inbound_at) - new Date(b.last_inbound_at));
    return items;
  }

  function item(c) {
    const n = unread.get(c.id);
    const waited = Date.now() - new Date(c.last_inbound_at).getTime();
    return h('li', {},
      h('a', { href: `#/inbox/${encodeURIComponent(c.id)}`, 'aria-current': c.id === openID ? 'true' : null },
        h('span', { className: 'name' }, c.contact_name || c.contact_phone || t('inbox.unknown_customer')),
        n ? [' ', h('span', { className: 'badge unread', 'aria-label': t('inbox.unread', { count: n }) }, String(n))] : null,
        h('span', { className: 'meta' },
          h('span', {}, c.channel),
          c.query_type ? h('span', {}, typeName(c.query_type)) : null,
          c.state !== 'assigned' ? h('span', { className: `badge ${c.state}` }, t(`state.${c.state}`)) : null,
          breachBadge(c),
          h('span', { 'data-waiting': c.last_inbound_at, title: t('inbox.waiting_title') }, t('inbox.waiting', { time: duration(waited) }))),
        (c.tags || []).length ? h('span', { className: 'row tags' }, c.tags.map((id) => chip(id))) : null));
  }

  function draw() {
    for (const l of lists) {
      const items = state[l.key] || [];
      replace(listEls[l.key], items.length ? items.map(item) : h('li', { className: 'muted empty' }, t('inbox.empty')));
      listSection.querySelector(`[data-count="${l.key}"]`).textContent = String(items.length);
    }
  }

  let loading = null;
  let again = false;
  // refresh re-reads every list, one pass at a time: a burst of events
  // becomes one or two passes, not one per event.
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try {
          const results = await Promise.all(lists.map(fetchList));
          lists.forEach((l, i) => { state[l.key] = results[i]; });
          draw();
        } catch (e) {
          if (e.status !== 401) toast(t('error.generic', { message: e.message }), 'error');
        }
      } while (again);
      loading = null;
    })();
    return loading;
  }

  const known = () => new Set(lists.flatMap((l) => (state[l.key] || []).map((c) => c.id)));
  const inPool = (id) => (state.pool || []).some((c) => c.id === id);
  const off = live.on((ev) => {
    if (ev.type === 'message' && ev.direction === 'inbound' && ev.query_id !== openID) {
      if (known().has(ev.query_id) && !inPool(ev.query_id)) unread.bump(ev.query_id);
      notify.alert(t('notify.new_message'), t('notify.new_message_body'), () => { location.hash = `#/inbox/${ev.query_id}`; });
    }
    if (ev.type === 'state' && ev.state === 'pending' && ev.previous_state !== 'pending') {
      notify.alert(t('notify.pool_entry'), typeName(ev.query_type));
    }
    if (ev.type === 'state' && ev.assignee === me && ev.previous_assignee !== me && ev.state === 'assigned') {
      notify.alert(t('notify.assigned'), typeName(ev.query_type));
    }
    if (ev.type === 'note') {
      notify.alert(t('notify.mentioned'), t('notify.mentioned_body'), () => { location.hash = `#/inbox/${ev.query_id}`; });
      return;
    }
    if (ev.type !== 'status') { refresh(); if (views) views.refresh(); }
  });
  const tick = setInterval(() => {
    for (const el of listSection.querySelectorAll('[data-waiting]')) {
      el.textContent = t('inbox.waiting', { time: duration(Date.now() - new Date(el.dataset.waiting).getTime()) });
    }
  }, 30000);

  refresh();
  let closeConv = null;
  if (openID) {
    closeConv = openConversation(convSection, openID, { onChange: refresh });
  } else {
    replace(convSection, h('div', { className: 'placeholder' }, h('p', { className: 'muted' }, t('inbox.pick'))), settingsPanel());
  }
  return () => { off(); clearInterval(tick); if (closeConv) closeConv(); if (views) views.close(); };
}

// presenceBanner tells an operator who is not online that routing gives
// them nothing, with the one click that changes it: a newcomer who logs in
// and waits for conversations would otherwise wait for ever.
function presenceBanner() {
  if (session.presence === 'online' || !session.permissions.has('conversations.reply')) return null;
  const banner = h('div', { className: 'banner', role: 'status' },
    h('span', {}, t(session.presence === 'away' ? 'presence.banner_away' : 'presence.banner_offline')), ' ',
    h('button', { type: 'button', className: 'primary', onclick: async () => {
      try {
        await api.put('/me/presence', { presence: 'online' });
        session.presence = 'online';
        banner.remove();
        const sel = document.querySelector('.presence select');
        if (sel) sel.value = 'online';
      } catch (err) { toast(t('error.generic', { message: err.message }), 'error'); }
    } }, t('presence.go_online')));
  return banner;
}

// settingsPanel lets the operator turn the sound and desktop notices off.
function settingsPanel() {
  const sound = h('input', { type: 'checkbox', checked: notify.soundOn(), onchange: (e) => notify.setSound(e.target.checked) });
  const desk = h('input', { type: 'checkbox', checked: notify.desktopOn(), onchange: (e) => notify.setDesktop(e.target.checked) });
  return h('fieldset', { className: 'notify-settings' },
    h('legend', {}, t('notify.settings')),
    h('label', {}, sound, ' ', t('notify.sound')),
    h('br'),
    h('label', {}, desk, ' ', t('notify.desktop')));
}

// presenceControl is the header's switch between online, away and offline.
session.presenceControl = () => {
  const sel = h('select', { 'aria-label': t('presence.label'), onchange: async (e) => {
    const want = e.target.value;
    try {
      await api.put('/me/presence', { presence: want });
      session.presence = want;
      const banner = document.querySelector('.banner');
      if (banner && want === 'online') banner.remove();
      toast(t('presence.now', { presence: t(`presence.${want}`) }));
    } catch (err) {
      toast(t('error.generic', { message: err.message }), 'error');
      e.target.value = session.presence || 'offline';
    }
  } }, ['online', 'away', 'offline'].map((p) => h('option', { value: p, selected: (session.presence || 'offline') === p }, t(`presence.${p}`))));
  return h('span', { className: `presence ${session.presence || 'offline'}` }, sel);
};

register({ name: 'inbox', title: 'nav.inbox', nav: true, render });
