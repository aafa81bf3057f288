// notes.js is a conversation's internal notes: what staff write to each
// other about it, never sent to the customer, and marked so. Whoever may
// see the conversation reads them, oldest first; who holds notes.write
// adds one, and may mention colleagues who can see the conversation
// (GET .../mention-targets): each is told by an event, without the text.
import * as api from './api.js';
import { t, dateTime, time } from './i18n.js';
import { h, field, replace, toast } from './dom.js';
import { session } from './state.js';

/**
 * notesPanel builds the panel of the conversation at path. It returns the
 * element and reload, which fetches the notes again (a note event, a
 * reconnect).
 */
export function notesPanel(path) {
  const list = h('ol', { className: 'notes-list', 'aria-label': t('notes.list') });
  const mayWrite = session.permissions.has('notes.write');
  let form = null;
  let mentioned = [];
  let targets = null;

  const box = h('textarea', { name: 'note', rows: 3, maxLength: 4000 });
  const chosen = h('div', { className: 'row mentions', 'aria-live': 'polite' });
  const picker = h('select', { name: 'mention', onchange: () => { pick(picker.value); picker.value = ''; } });
  const add = h('button', { type: 'submit' }, t('notes.add'));

  function noteEl(n) {
    const who = n.author_name || t('notes.former_colleague');
    const names = (n.mentions || []).map((id) => ((targets || []).find((c) => c.id === id) || {}).name || (id === session.user.id ? session.user.name : id));
    return h('li', { className: 'note', 'data-id': n.id },
      h('span', { className: 'note-meta' }, h('strong', {}, who), ' · ', h('time', { dateTime: n.at, title: dateTime(n.at) }, time(n.at))),
      h('p', { className: 'text' }, n.purged ? t('notes.purged') : n.text),
      names.length ? h('small', { className: 'muted' }, t('notes.mentions', { names: names.join(', ') })) : null);
  }

  let shown = [];
  function draw() {
    replace(list, shown.length ? shown.map(noteEl) : h('li', { className: 'muted' }, t('notes.empty')));
  }

  async function reload() {
    try {
      shown = (await api.get(`${path}/notes`)).notes;
      draw();
    } catch (e) {
      if (e.status !== 401 && e.status !== 404) toast(t('error.generic', { message: e.message }), 'error');
    }
  }

  function drawChosen() {
    replace(chosen, mentioned.map((c) => h('span', { className: 'tag-chip' }, `@${c.name}`,
      h('button', { type: 'button', className: 'link tag-remove', 'aria-label': t('notes.unmention', { name: c.name }),
        onclick: () => { mentioned = mentioned.filter((x) => x.id !== c.id); drawChosen(); drawPicker(); } }, '×'))));
  }

  function drawPicker() {
    const left = (targets || []).filter((c) => !mentioned.some((m) => m.id === c.id));
    replace(picker, h('option', { value: '' }, targets && !targets.length ? t('notes.nobody_to_mention') : t('notes.mention')),
      left.map((c) => h('option', { value: c.id }, c.name)));
    picker.disabled = !left.length;
  }

  function pick(id) {
    const c = (targets || []).find((x) => x.id === id);
    if (!c || mentioned.some((m) => m.id === id)) return;
    mentioned.push(c);
    drawChosen();
    drawPicker();
  }

  async function loadTargets() {
    try {
      targets = (await api.get(`${path}/mention-targets`)).colleagues;
    } catch {
      targets = []; // mentions are a convenience; the note goes on
    }
    drawPicker();
    draw(); // mentions by name now
  }

  if (mayWrite) {
    form = h('form', { className: 'note-form', onsubmit: async (e) => {
      e.preventDefault();
      const text = box.value.trim();
      if (!text) { box.focus(); return; }
      add.disabled = true;
      try {
        await api.post(`${path}/notes`, { text, mentions: mentioned.map((c) => c.id) });
        box.value = '';
        mentioned = [];
        drawChosen();
        drawPicker();
        toast(t('notes.added'));
        await reload();
      } catch (err) {
        toast(t('error.generic', { message: err.message }), 'error');
      } finally {
        add.disabled = false;
      }
    } }, field(t('notes.note'), box, t('notes.hint')), field(t('notes.mention_label'), picker), chosen, h('div', { className: 'row' }, add));
    drawPicker();
    loadTargets();
  }

  const el = h('section', { className: 'notes-panel', 'aria-label': t('notes.title') },
    h('h3', {}, t('notes.title')),
    h('p', { className: 'internal-mark', role: 'note' }, t('notes.internal')),
    list, form);
  reload();
  return { el, reload };
}
