// conversation.js shows one conversation: its history (paged upward), the
// delivery of each reply, the customer service window counting down, the
// actions the operator may take, and the box to answer in. Inside the
// 24-hour window the box takes free text; outside it only an approved
// template may go, so the box becomes a template picker (Meta's rule,
// which the server enforces too). Its tags (tags.js) sit under the
// header; its internal notes (notes.js) under the contact panel.
import * as api from './api.js';
import * as live from './live.js';
import { t, dateTime, time, duration } from './i18n.js';
import { h, field, replace, toast } from './dom.js';
import { session, typeName } from './state.js';
import { tagsEl } from './tags.js';
import { rating } from './csat.js';
import { notesPanel } from './notes.js';
import { drawSLA } from './sla.js';
import * as attach from './attach.js';
import { attachmentEl, shown } from './media.js';

const WINDOW_MS = 24 * 3600 * 1000;
// How far along its delivery a reply is: a status never goes back.
const STATUS_RANK = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const may = (p) => session.permissions.has(p);

/** openConversation renders conversation id into root; it returns its cleanup. */
export function openConversation(root, id, { onChange }) {
  let conv = null;
  let messages = [];
  let hasMore = false;
  let composerMode = '';
  const path = `/conversations/${encodeURIComponent(id)}`;

  const title = h('h2', {});
  const badges = h('span', { className: 'row' });
  const tagsRow = h('div', { className: 'tags-row' });
  const notes = notesPanel(path);
  const windowEl = h('span', { className: 'window', role: 'timer', 'aria-live': 'off' });
  // The time left to its type's targets (sla.js), beside the window's.
  const slaEl = h('span', { className: 'sla-left', role: 'timer', 'aria-live': 'off', hidden: true });
  const actions = h('div', { className: 'row actions-bar' });
  const older = h('button', { type: 'button', className: 'link', hidden: true, onclick: loadOlder }, t('conv.older'));
  const historyList = h('ol', { className: 'history-list', 'aria-label': t('conv.history') });
  const history = h('div', { className: 'history', tabIndex: 0 }, older, historyList);
  const panel = h('aside', { className: 'contact-panel', 'aria-label': t('conv.contact') });
  const composer = h('div', { className: 'composer' });
  const back = h('a', { href: '#/inbox', className: 'back' }, t('conv.back'));
  replace(root, h('div', { className: 'conversation' },
    h('header', {}, back, title, badges, windowEl, slaEl, actions, tagsRow),
    h('div', { className: 'body' }, history, panel),
    composer));

  // --- history ---

  function tick(m) {
    if (m.direction !== 'outbound') return null;
    const status = m.status || 'queued';
    // Plain characters every system font has: an emoji tick shows as a box where no emoji font is installed.
    const marks = { queued: '…', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' };
    return h('span', { className: `tick ${status}`, 'aria-label': t(`tick.${status}`), title: t(`tick.${status}`) }, marks[status] || '');
  }

  function messageEl(m) {
    let text = m.text;
    if (m.purged) text = t('conv.purged');
    else if (!text && m.type !== 'text' && !shown(m)) text = t('conv.non_text', { type: m.type });
    const inbound = m.direction === 'inbound';
    return h('li', { className: `msg ${inbound ? 'in' : 'out'}`, 'data-id': m.id, 'data-status': inbound ? null : (m.status || 'queued') },
      h('span', { className: 'visually-hidden' }, inbound ? t('conv.from_customer') : t('conv.from_team')),
      attachmentEl(m),
      h('span', { className: 'text' }, text || ''),
      m.error ? h('span', { className: 'error', role: 'note' }, t('conv.failed', { reason: m.error })) : null,
      h('span', { className: 'when' }, h('time', { dateTime: m.at, title: dateTime(m.at) }, time(m.at)), ' ', tick(m)));
  }

  function drawHistory(keepBottom) {
    const atBottom = keepBottom || history.scrollHeight - history.scrollTop - history.clientHeight < 40;
    replace(historyList, messages.map(messageEl));
    older.hidden = !hasMore;
    if (atBottom) history.scrollTop = history.scrollHeight;
  }

  async function loadHistory() {
    const r = await api.get(`${path}/messages?limit=50`);
    messages = r.messages;
    hasMore = r.has_more;
    drawHistory(true);
  }

  async function loadOlder() {
    if (!messages.length) return;
    const before = history.scrollHeight;
    const r = await api.get(`${path}/messages${api.q({ before: messages[0].id, limit: 50 })}`);
    messages = r.messages.concat(messages);
    hasMore = r.has_more;
    drawHistory(false);
    history.scrollTop = history.scrollHeight - before;
  }

  async function loadNewer() {
    if (!messages.length) return loadHistory();
    const r = await api.get(`${path}/messages${api.q({ after: messages[messages.length - 1].id, limit: 100 })}`);
    // A message already shown may come again with news of its delivery:
    // two reads can cross (a reply's own, and a status event's for a
    // message not shown yet), so the copy furthest along is kept.
    const byID = new Map(r.messages.map((m) => [m.id, m]));
    messages = messages.map((m) => further(m, byID.get(m.id)));
    const seen = new Set(messages.map((m) => m.id));
    messages = messages.concat(r.messages.filter((m) => !seen.has(m.id)));
    drawHistory(false);
  }

  function further(shown, fetched) {
    if (!fetched) return shown;
    const rank = (m) => STATUS_RANK[m.status || 'queued'] || 0;
    return rank(fetched) >= rank(shown) ? fetched : shown;
  }

  // --- header, window, actions ---

  function windowLeft() {
    if (!conv || !conv.last_inbound_at) return 0;
    return new Date(conv.last_inbound_at).getTime() + WINDOW_MS - Date.now();
  }

  function drawWindow() {
    const left = windowLeft();
    const open = conv.window_open && left > 0;
    windowEl.className = `window ${open ? 'open' : 'closed'}`;
    windowEl.textContent = open ? t('conv.window_left', { time: duration(left) }) : t('conv.window_closed');
    drawSLA(slaEl, conv);
    const mode = conv.state === 'closed' ? 'closed' : open ? 'text' : 'template';
    if (mode !== composerMode) drawComposer(mode);
  }

  function drawHeader() {
    title.textContent = conv.contact_name || conv.contact_phone || t('inbox.unknown_customer');
    replace(badges,
      h('span', { className: `badge ${conv.state}` }, t(`state.${conv.state}`)),
      conv.query_type ? h('span', { className: 'badge' }, typeName(conv.query_type)) : null,
      h('span', { className: 'badge' }, conv.channel));
    replace(tagsRow, tagsEl(conv, path, (tags) => { conv.tags = tags; drawHeader(); onChange(); }));
    // The server lets the assignee act on a conversation, and whoever may
    // refer any query; the buttons follow the same rule.
    const mine = conv.assignee === session.user.id;
    const holds = mine || may('conversations.refer');
    const open = conv.state !== 'closed';
    const inPool = conv.state === 'pending' || conv.state === 'inactive';
    replace(actions,
      open && inPool && may('conversations.self_assign') ? h('button', { type: 'button', className: 'primary', onclick: () => act('claim') }, t('conv.claim')) : null,
      open && holds && may('conversations.transfer') ? h('button', { type: 'button', onclick: transferDialog }, t('conv.transfer')) : null,
      open && holds && conv.state === 'assigned' && may('conversations.return') ? h('button', { type: 'button', onclick: () => act('return') }, t('conv.return')) : null,
      open && holds && may('conversations.close') ? h('button', { type: 'button', onclick: closeDialog }, t('conv.close')) : null);
    drawPanel();
    drawWindow();
  }

  function drawPanel() {
    const rows = [
      [t('conv.name'), conv.contact_name || '—'],
      [t('conv.phone'), conv.contact_phone || '—'],
      [t('conv.channel'), conv.channel],
      [t('conv.query_type'), typeName(conv.query_type) || '—'],
      [t('conv.portfolio'), conv.portfolio_owner_name || conv.portfolio_owner || t('app.none')],
      [t('conv.assignee'), conv.assignee_name || conv.assignee || t('app.none')],
      [t('conv.last_inbound'), dateTime(conv.last_inbound_at)],
    ];
    if (rating(conv)) rows.push([t('csat.rating'), rating(conv)]);
    replace(panel, h('h3', {}, t('conv.contact')), h('dl', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])), notesEl(), notes.el);
  }

  // notesEl shows what staff keep about the customer; who may edit
  // contacts edits the name shown and the notes here.
  function notesEl() {
    if (!may('contacts.edit')) {
      return conv.contact_notes ? [h('h4', {}, t('conv.notes')), h('p', { className: 'notes' }, conv.contact_notes)] : null;
    }
    const name = h('input', { type: 'text', maxLength: 200, value: conv.contact_name || '' });
    const notes = h('textarea', { rows: 4, maxLength: 4000, value: conv.contact_notes || '' });
    return h('form', { className: 'contact-edit', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.put(`/contacts/${encodeURIComponent(conv.contact_id)}`, { display_name: name.value.trim(), notes: notes.value });
        toast(t('app.saved'));
        await loadConversation();
        onChange();
      } catch (err) { showError(err); }
    } }, field(t('conv.display_name'), name), field(t('conv.notes'), notes), h('button', { type: 'submit' }, t('conv.save_contact')));
  }

  async function loadConversation() {
    try {
      conv = await api.get(path);
    } catch (e) {
      if (e.status === 404) {
        replace(root, h('div', { className: 'placeholder' }, h('p', { role: 'status' }, t('conv.gone')), h('a', { href: '#/inbox' }, t('conv.back'))));
        stop();
        return false;
      }
      throw e;
    }
    drawHeader();
    return true;
  }

  async function act(what, body) {
    try {
      await api.post(`${path}/${what}`, body);
      toast(t(`conv.done_${what}`));
      if (what === 'close' || what === 'transfer') {
        // Once closed or handed on, an operator may no longer see it:
        // back to the inbox rather than to a "not yours" notice.
        onChange();
        if (!may('conversations.view_all')) { location.hash = '#/inbox'; return; }
      }
      await loadConversation();
      onChange();
    } catch (e) {
      showError(e);
    }
  }

  function showError(e) {
    const known = { assigned_to_other: 'conv.err_taken', window_closed: 'conv.err_window', closed: 'conv.err_closed', conflict: 'error.conflict' };
    toast(known[e.code] ? t(known[e.code]) : t('error.generic', { message: e.message }), 'error');
    if (e.code === 'assigned_to_other' || e.code === 'closed') { loadConversation().then(onChange); }
  }

  function dialog(heading, body, confirmLabel, onConfirm) {
    const d = h('dialog', { 'aria-label': heading });
    const form = h('form', { method: 'dialog', onsubmit: async (e) => {
      e.preventDefault();
      if (await onConfirm()) d.close();
    } }, h('h3', {}, heading), body,
    h('div', { className: 'actions' },
      h('button', { type: 'button', onclick: () => d.close() }, t('app.cancel')),
      h('button', { type: 'submit', className: 'primary' }, confirmLabel)));
    d.append(form);
    d.addEventListener('close', () => d.remove());
    document.body.append(d);
    d.showModal();
    return d;
  }

  function closeDialog() {
    const reasons = session.team.resolution_reasons || [];
    const sel = h('select', { required: true }, h('option', { value: '' }, t('conv.pick_reason')),
      reasons.map((r) => h('option', { value: r.id }, r.name || r.id)));
    dialog(t('conv.close_title'), field(t('conv.reason'), sel), t('conv.close_confirm'), async () => {
      if (!sel.value) { sel.focus(); return false; }
      await act('close', { reason: sel.value });
      return true;
    });
  }

  async function transferDialog() {
    let targets = [];
    try {
      const r = await api.get(`${path}/transfer-targets`);
      targets = (r.targets || r.accounts || []).filter((a) => a.id !== session.user.id);
    } catch (e) {
      showError(e);
      return;
    }
    if (!targets.length) { toast(t('conv.no_targets')); return; }
    const sel = h('select', { required: true }, h('option', { value: '' }, t('conv.pick_colleague')),
      targets.map((a) => h('option', { value: a.id }, a.presence ? `${a.name} (${t(`presence.${a.presence}`)})` : a.name)));
    dialog(t('conv.transfer_title'), field(t('conv.colleague'), sel), t('conv.transfer_confirm'), async () => {
      if (!sel.value) { sel.focus(); return false; }
      await act('transfer', { to: sel.value });
      return true;
    });
  }

  // --- composer ---

  function drawComposer(mode) {
    composerMode = mode;
    if (mode === 'closed') {
      replace(composer, h('p', { className: 'muted' }, t('conv.is_closed')));
      return;
    }
    if (!may('conversations.reply')) {
      replace(composer, h('p', { className: 'muted' }, t('conv.read_only')));
      return;
    }
    if (mode === 'template') drawTemplatePicker();
    else drawTextBox();
  }

  function drawTextBox() {
    const box = h('textarea', { name: 'message', rows: 3, maxLength: 4096, placeholder: t('conv.placeholder') });
    const suggestions = h('ul', { className: 'canned', role: 'listbox', 'aria-label': t('conv.canned'), hidden: true });
    box.setAttribute('aria-controls', 'canned-list');
    suggestions.id = 'canned-list';
    let options = [];
    let selected = 0;
    let lookup = 0;

    const pick = (cr) => {
      box.value = cr.text;
      suggestions.hidden = true;
      box.focus();
    };
    const drawSuggestions = () => {
      replace(suggestions, options.map((cr, i) => h('li', { role: 'option', 'aria-selected': i === selected ? 'true' : 'false', onmousedown: (e) => { e.preventDefault(); pick(cr); } },
        h('strong', {}, `/${cr.shortcut}`), ' ', cr.text)));
      suggestions.hidden = options.length === 0;
    };
    box.addEventListener('input', async () => {
      const m = /^\/(\S*)$/.exec(box.value);
      if (!m) { suggestions.hidden = true; options = []; return; }
      const n = ++lookup;
      try {
        const r = await api.get(`/canned-responses${api.q({ q: m[1] })}`);
        if (n !== lookup) return;
        options = r.canned_responses.filter((cr) => !cr.query_types || !cr.query_types.length || cr.query_types.includes(conv.query_type)).slice(0, 8);
        selected = 0;
        drawSuggestions();
      } catch { /* suggestions are a convenience; typing goes on */ }
    });
    box.addEventListener('keydown', (e) => {
      if (!suggestions.hidden && options.length) {
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
          e.preventDefault();
          selected = (selected + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
          drawSuggestions();
          return;
        }
        if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); pick(options[selected]); return; }
        if (e.key === 'Escape') { suggestions.hidden = true; return; }
      }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    const send = h('button', { type: 'submit', className: 'primary' }, t('conv.send'));
    // With a file the text is its caption, and may be empty.
    const file = attach.attachment((f) => { box.placeholder = f ? t('conv.caption_placeholder') : t('conv.placeholder'); });
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      const text = box.value.trim();
      const f = file.file();
      if (!text && !f) return;
      send.disabled = true;
      try {
        await api.post(`${path}/messages`, f ? attach.form(f, text) : { text });
        box.value = '';
        file.clear();
        await loadNewer();
        if (conv.state !== 'assigned') { await loadConversation(); onChange(); }
      } catch (err) {
        const key = attach.errorKey(err);
        if (key) toast(t(key), 'error');
        else showError(err);
        if (err.code === 'window_closed') await loadConversation();
      } finally {
        send.disabled = false;
        box.focus();
      }
    } }, suggestions, field(t('conv.message'), box, t('conv.message_hint')), h('div', { className: 'row' }, file.el, send));
    replace(composer, form);
  }

  function drawTemplatePicker() {
    const templates = session.team.templates || [];
    if (!templates.length) {
      replace(composer, h('p', { className: 'muted' }, t('conv.window_closed_no_templates')));
      return;
    }
    const params = h('div', { className: 'params' });
    const preview = h('p', { className: 'preview muted' });
    const sel = h('select', { required: true, onchange: drawParams },
      templates.map((tp, i) => h('option', { value: String(i) }, `${tp.name} (${tp.language})`)));
    const inputs = [];
    function drawParams() {
      const tp = templates[Number(sel.value)];
      inputs.length = 0;
      const count = typeof tp.params === 'number' ? tp.params : (tp.params || []).length;
      for (let i = 0; i < count; i++) {
        inputs.push(h('input', { type: 'text', required: true, oninput: drawPreview }));
      }
      replace(params, inputs.map((inp, i) => field(t('conv.param', { n: i + 1 }), inp)));
      drawPreview();
    }
    function drawPreview() {
      const tp = templates[Number(sel.value)];
      preview.textContent = (tp.body || '').replace(/\{\{(\d+)\}\}/g, (m, n) => (inputs[n - 1] && inputs[n - 1].value) || m);
    }
    // A template approved with a media header takes a file for it.
    const header = attach.attachment();
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      const tp = templates[Number(sel.value)];
      const f = header.file();
      try {
        await api.post(`${path}/templates`, f
          ? attach.templateForm(f, tp.name, tp.language, inputs.map((i) => i.value))
          : { template: tp.name, language: tp.language, params: inputs.map((i) => i.value) });
        header.clear();
        toast(t('conv.template_sent'));
        await loadNewer();
      } catch (err) {
        const key = attach.errorKey(err);
        if (key) toast(t(key), 'error');
        else showError(err);
      }
    } },
    h('p', { className: 'window closed' }, t('conv.only_templates')),
    field(t('conv.template'), sel), params, preview,
    h('div', { className: 'row' }, header.el, h('button', { type: 'submit', className: 'primary' }, t('conv.send_template'))));
    replace(composer, form);
    drawParams();
  }

  // --- live ---

  const off = live.on(async (ev) => {
    // After a gap in the stream anything may have changed: as a message.
    if (ev.type !== 'reconnect' && ev.query_id !== id) return;
    try {
      // The event of a message shown with its file still being fetched is
      // news of that file (kept, or not available): read the history
      // again in place. Only then: a re-read on every event of a shown
      // message delayed the views' other updates (see 40edd8b).
      const pending = ev.type === 'message' && messages.find((x) => x.id === ev.message_id && x.media && x.media.size == null && !x.media.error);
      if (pending) await refreshStatuses();
      else if (ev.type === 'message' || ev.type === 'reconnect') await loadNewer();
      if (ev.type === 'status') {
        const m = messages.find((x) => x.id === ev.message_id);
        if (m) {
          // A status may carry a failure's reason only in the history.
          if (ev.status === 'failed') await refreshStatuses();
          else { m.status = ev.status; drawHistory(false); }
        } else {
          await loadNewer();
        }
      }
      if (ev.type === 'note' || ev.type === 'reconnect') await notes.reload();
      if (ev.type === 'state' || ev.type === 'message' || ev.type === 'tags' || ev.type === 'sla' || ev.type === 'reconnect') await loadConversation();
    } catch (e) {
      if (e.status !== 401) toast(t('error.generic', { message: e.message }), 'error');
    }
  });

  async function refreshStatuses() {
    const r = await api.get(`${path}/messages?limit=${Math.min(500, Math.max(50, messages.length))}`);
    const byID = new Map(r.messages.map((m) => [m.id, m]));
    messages = messages.map((m) => byID.get(m.id) || m);
    drawHistory(false);
  }

  const timer = setInterval(() => { if (conv) drawWindow(); }, 30000);
  function stop() { off(); clearInterval(timer); }

  (async () => {
    try {
      if (await loadConversation()) await loadHistory();
    } catch (e) {
      if (e.status !== 401) toast(t('error.generic', { message: e.message }), 'error');
    }
  })();
  return stop;
}
