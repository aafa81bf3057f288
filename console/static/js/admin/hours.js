// hours.js: the team's opening hours — the weekly plan with split shifts,
// special dates, and what happens to a message out of hours. Saving sends
// the whole settings document with only opening_hours changed.
import { register } from '../state.js';
import { t } from '../i18n.js';
import { h, replace } from '../dom.js';
import { settingsScreen, input, select, labelled, uid } from '../forms.js';

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const CLOCK = /^([01][0-9]|2[0-4]):[0-5][0-9]$/;

/** split reads "09:00-13:00" as ["09:00", "13:00"]. */
function split(interval) {
  const [a = '', b = ''] = String(interval || '').split('-');
  return [a.trim(), b.trim()];
}

/** intervalRows is one day's (or date's) list of shifts, editable. */
function shifts(dayLabel, intervals) {
  const list = h('ol', { className: 'shifts' });
  const rows = [];
  function label(n, which) {
    return n === 1 ? t(`hours.${which}`, { day: dayLabel }) : t(`hours.${which}_n`, { day: dayLabel, n });
  }
  function renumber() {
    rows.forEach((r, i) => {
      r.open.setAttribute('aria-label', label(i + 1, 'opens'));
      r.close.setAttribute('aria-label', label(i + 1, 'closes'));
      r.remove.setAttribute('aria-label', t('hours.remove_shift', { day: dayLabel, n: i + 1 }));
    });
    empty.hidden = rows.length > 0;
  }
  function add(open = '', close = '') {
    const attrs = { inputmode: 'numeric', placeholder: 'HH:MM', maxLength: 5, size: 5, autocomplete: 'off', className: 'clock' };
    const r = { open: input(open, attrs), close: input(close, attrs) };
    r.remove = h('button', { type: 'button', className: 'link danger', onclick: () => {
      rows.splice(rows.indexOf(r), 1);
      r.li.remove();
      renumber();
      addBtn.focus();
    } }, t('hours.remove'));
    r.li = h('li', { className: 'row' }, r.open, h('span', { 'aria-hidden': 'true' }, '–'), r.close, r.remove);
    rows.push(r);
    list.appendChild(r.li);
    renumber();
    return r;
  }
  const empty = h('p', { className: 'muted closed-note' }, t('hours.closed_all_day'));
  const addBtn = h('button', { type: 'button', 'aria-label': t('hours.add_shift_to', { day: dayLabel }), onclick: () => add().open.focus() }, t('hours.add_shift'));
  (intervals || []).forEach((iv) => add(...split(iv)));
  renumber();
  return {
    el: h('div', { className: 'shift-list' }, list, empty, addBtn),
    value() {
      const out = [];
      rows.forEach((r, i) => {
        const a = r.open.value.trim();
        const b = r.close.value.trim();
        if (!a && !b) return;
        if (!CLOCK.test(a) || !CLOCK.test(b)) {
          r.open.focus();
          throw new Error(t('hours.bad_interval', { day: dayLabel, n: i + 1 }));
        }
        out.push(`${a}-${b}`);
      });
      return out;
    },
  };
}

function render(main) {
  return settingsScreen(main, {
    title: 'hours.title',
    intro: 'hours.intro',
    build(doc, body) {
      const oh = doc.opening_hours || {};
      const weekly = oh.weekly || {};
      const days = DAYS.map((d) => {
        const name = t(`day.${d}`);
        const s = shifts(name, weekly[d]);
        return { d, s, el: h('fieldset', { className: 'day' }, h('legend', {}, name), s.el) };
      });

      // special dates: a date, closed all day or its own shifts
      const specialList = h('div', { className: 'special-list' });
      const specials = [];
      function addSpecial(sp = {}) {
        const date = input(sp.date || '', { type: 'date', id: uid('date') });
        const closed = h('input', { type: 'checkbox', checked: !!sp.closed });
        const entry = {};
        const heading = h('legend', {}, sp.date || t('hours.new_date'));
        date.addEventListener('change', () => { heading.textContent = date.value || t('hours.new_date'); });
        const daySh = shifts(sp.date ? t('hours.special_day', { date: sp.date }) : t('hours.new_date'), sp.hours);
        entry.shifts = daySh;
        const toggle = () => { entry.shifts.el.hidden = closed.checked; };
        closed.addEventListener('change', toggle);
        const remove = h('button', { type: 'button', className: 'danger', onclick: () => {
          specials.splice(specials.indexOf(entry), 1);
          entry.el.remove();
          addSpecialBtn.focus();
        } }, t('hours.remove_date'));
        entry.el = h('fieldset', { className: 'special' }, heading,
          labelled(t('hours.date'), date),
          h('label', { className: 'check' }, closed, ` ${t('hours.closed')}`),
          daySh.el, remove);
        entry.value = () => {
          if (!date.value) throw new Error(t('hours.date_missing'));
          const out = { ...sp, date: date.value };
          delete out.closed; delete out.hours;
          if (closed.checked) out.closed = true;
          else out.hours = entry.shifts.value();
          return out;
        };
        toggle();
        specials.push(entry);
        specialList.appendChild(entry.el);
        return entry;
      }
      const addSpecialBtn = h('button', { type: 'button', onclick: () => { const e = addSpecial(); e.el.querySelector('input').focus(); } }, t('hours.add_date'));
      (oh.special || []).forEach(addSpecial);

      // out of hours: the reply template and whether to queue until open
      const ooh = oh.out_of_hours || {};
      const templates = (doc.templates || []).map((x) => ({ value: x.id, label: x.language ? `${x.id} (${x.language})` : x.id }));
      const replyValue = ooh.reply == null ? '' : ooh.reply;
      if (replyValue && !templates.some((o) => o.value === replyValue)) templates.push({ value: replyValue, label: replyValue });
      const reply = select([{ value: '', label: t('hours.no_reply') }, ...templates], replyValue);
      const queue = h('input', { type: 'checkbox', checked: ooh.queue_until_open == null ? true : !!ooh.queue_until_open });

      replace(body,
        doc.timezone ? h('p', {}, t('hours.timezone', { zone: doc.timezone })) : null,
        // Routing reads a plan with no shift and no special date as open
        // around the clock, not as closed: say so, or the empty week
        // below would read as the opposite.
        !Object.keys(weekly).length && !(oh.special || []).length ? h('p', { className: 'banner', role: 'note' }, t('hours.always_open')) : null,
        h('section', { 'aria-labelledby': 'weekly-h' }, h('h2', { id: 'weekly-h' }, t('hours.weekly')),
          h('div', { className: 'week' }, days.map((x) => x.el))),
        h('section', { 'aria-labelledby': 'special-h' }, h('h2', { id: 'special-h' }, t('hours.special')),
          h('p', { className: 'muted' }, t('hours.special_intro')), specialList, addSpecialBtn),
        h('section', { 'aria-labelledby': 'ooh-h' }, h('h2', { id: 'ooh-h' }, t('hours.out_of_hours')),
          labelled(t('hours.reply'), reply, t('hours.reply_hint')),
          h('label', { className: 'check' }, queue, ` ${t('hours.queue_until_open')}`)));

      return () => {
        const next = { ...(doc.opening_hours || {}) };
        const w = {};
        days.forEach((x) => { const v = x.s.value(); if (v.length) w[x.d] = v; });
        next.weekly = w;
        next.special = specials.map((e) => e.value());
        if (!next.special.length) delete next.special;
        const o = { ...(next.out_of_hours || {}) };
        if (reply.value) o.reply = reply.value; else delete o.reply;
        o.queue_until_open = queue.checked;
        next.out_of_hours = o;
        doc.opening_hours = next;
        return doc;
      };
    },
  });
}

register({ name: 'hours', title: 'hours.title', permission: 'settings.manage', nav: true, admin: true, render });
