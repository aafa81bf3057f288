// lists.js edits a list of objects in the settings document (query types,
// canned responses, templates, resolution reasons, tags): one fieldset per
// item with a control per field, add and remove. Keys the form does not
// know (a query type's own opening hours, say) are kept as they were.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { input, listInput, splitList, select, labelled, checks, confirmAction } from '../forms.js';

/**
 * A field is {key, label (string key), type: text | textarea | list |
 * select | checks | number | color | rows, options (for select and checks: a list
 * of {value, label}, or a function of the item), hint, wide, required,
 * columns (for rows: a list of {key, label})}; or a field of its own,
 * {key, control(item) returning {el, get()}}.
 */
function control(f, item, itemName) {
  if (f.control) return f.control(item, itemName);
  const v = item[f.key];
  const label = t(f.label);
  switch (f.type) {
    case 'textarea': {
      const el = h('textarea', { value: v == null ? '' : String(v), rows: 3 });
      el.value = v == null ? '' : String(v);
      return { el: labelled(label, el, f.hint && t(f.hint)), get: () => el.value };
    }
    case 'list': {
      const el = listInput(v);
      return { el: labelled(label, el, t(f.hint || 'admin.list_hint')), get: () => splitList(el.value) };
    }
    case 'number': {
      const el = input(v == null ? '' : v, { type: 'number', min: 0 });
      return { el: labelled(label, el, f.hint && t(f.hint)), get: () => (el.value === '' ? undefined : Number(el.value)) };
    }
    case 'select': {
      const opts = typeof f.options === 'function' ? f.options(item) : f.options;
      const cur = v == null ? '' : String(v);
      const all = opts.some((o) => o.value === cur) ? opts : [...opts, { value: cur, label: cur }];
      const el = select(all, cur);
      return { el: labelled(label, el, f.hint && t(f.hint)), get: () => el.value };
    }
    case 'checks': {
      const opts = typeof f.options === 'function' ? f.options(item) : f.options;
      if (!opts) {
        const el = listInput(v);
        return { el: labelled(label, el, t('admin.ids_hint')), get: () => splitList(el.value) };
      }
      const c = checks(label, opts, v);
      return { el: c.el, get: c.value };
    }
    case 'color': {
      // The browser's picker gives #rrggbb, as the settings want.
      const el = input(/^#[0-9a-fA-F]{6}$/.test(v || '') ? v.toLowerCase() : '#64748b', { type: 'color' });
      return { el: labelled(label, el, f.hint && t(f.hint)), get: () => el.value };
    }
    case 'rows':
      return rows(f, v || [], itemName);
    default: {
      const el = input(v, { required: !!f.required });
      return { el: labelled(label, el, f.hint && t(f.hint)), get: () => el.value.trim() };
    }
  }
}

/** rows is a small table of sub-objects (a query type's entry points). */
function rows(f, list, itemName) {
  const tbody = h('tbody');
  const entries = [];
  function add(row = {}) {
    const e = { row, inputs: {} };
    const cells = f.columns.map((c) => {
      const el = input(row[c.key], { 'aria-label': `${t(c.label)} (${itemName()})` });
      e.inputs[c.key] = el;
      return h('td', {}, el);
    });
    const remove = h('button', { type: 'button', className: 'link danger', 'aria-label': t('admin.remove_item', { name: `${t(f.label)} (${itemName()})` }), onclick: () => {
      entries.splice(entries.indexOf(e), 1);
      e.tr.remove();
      addBtn.focus();
    } }, t('admin.remove'));
    e.tr = h('tr', {}, cells, h('td', {}, remove));
    entries.push(e);
    tbody.appendChild(e.tr);
    return e;
  }
  const addBtn = h('button', { type: 'button', onclick: () => add().tr.querySelector('input').focus() }, t(f.add || 'app.add'));
  list.forEach((r) => add(r));
  const el = h('fieldset', { className: 'wide' }, h('legend', {}, t(f.label)),
    f.hint ? h('p', { className: 'hint' }, t(f.hint)) : null,
    h('div', { className: 'table-wrap' }, h('table', { className: 'sub-rows' },
      h('thead', {}, h('tr', {}, f.columns.map((c) => h('th', { scope: 'col' }, t(c.label))), h('th', { scope: 'col' }, h('span', { className: 'muted' }, t('admin.actions'))))),
      tbody)),
    addBtn);
  return {
    el,
    get: () => entries.map((e) => {
      const out = { ...e.row };
      for (const c of f.columns) {
        const v = e.inputs[c.key].value.trim();
        if (v) out[c.key] = v; else delete out[c.key];
      }
      return out;
    }).filter((o) => Object.keys(o).length),
  };
}

/**
 * listEditor renders items (edited copies) and returns {el, value()}:
 * value() is the list as the form has it, each item with unknown keys kept.
 * name(item) names an item for its legend and the remove confirmation.
 */
export function listEditor({ items, fields, name, blank = () => ({}), addLabel }) {
  const box = h('div', { className: 'items' });
  const entries = [];
  function add(item, focus) {
    const e = { item };
    const legend = h('legend', {}, name(item) || t('admin.new_item'));
    const itemName = () => legend.textContent;
    e.controls = fields.map((f) => ({ f, c: control(f, item, itemName) }));
    const remove = h('button', { type: 'button', className: 'danger', onclick: async () => {
      if (!(await confirmAction(t('admin.confirm_remove', { name: itemName() }), t('admin.remove')))) return;
      entries.splice(entries.indexOf(e), 1);
      e.el.remove();
      addBtn.focus();
    } }, t('admin.remove'));
    remove.setAttribute('aria-label', t('admin.remove_item', { name: itemName() }));
    const grid = h('div', { className: 'grid' }, e.controls.map(({ f, c }) => {
      if (f.wide) c.el.classList.add('wide');
      return c.el;
    }));
    e.el = h('fieldset', { className: 'item' }, legend, grid, h('div', { className: 'actions start' }, remove));
    // the legend follows the item's name as it is typed
    e.el.addEventListener('input', () => {
      const now = name(collect(e));
      legend.textContent = now || t('admin.new_item');
      remove.setAttribute('aria-label', t('admin.remove_item', { name: legend.textContent }));
    });
    entries.push(e);
    box.appendChild(e.el);
    if (focus) { const first = e.el.querySelector('input, textarea, select'); if (first) first.focus(); }
  }
  function collect(e) {
    const out = { ...e.item };
    for (const { f, c } of e.controls) {
      const v = c.get();
      const empty = v === undefined || v === '' || (Array.isArray(v) && !v.length);
      if (empty) delete out[f.key]; else out[f.key] = v;
    }
    return out;
  }
  const addBtn = h('button', { type: 'button', onclick: () => add(blank(), true) }, t(addLabel || 'app.add'));
  (items || []).forEach((it) => add(it, false));
  const el = h('div', {}, box, h('div', { className: 'actions start' }, addBtn));
  return {
    el,
    value() {
      return entries.map((e) => {
        const out = collect(e);
        for (const { f } of e.controls) {
          if (f.required && !out[f.key]) throw new Error(t('admin.required', { field: t(f.label), item: name(out) || t('admin.new_item') }));
        }
        return out;
      });
    },
  };
}

/** setList puts list at doc[key], dropping the key when empty. */
export function setList(doc, key, list) {
  if (list.length) doc[key] = list; else delete doc[key];
  return doc;
}
