// dom.js builds elements from data without ever parsing it as HTML: every
// customer-written string reaches the page as text, never as markup.

/**
 * h creates an element. attrs sets properties (className, value, hidden,
 * disabled...), attributes when the name has a dash or is "for"/"role"
 * ("aria-label", "data-id"), and listeners for on* functions. Children are
 * nodes, strings (as text), arrays of them, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k.includes('-') || k === 'for' || k === 'role' || k === 'autocomplete' || k === 'inputmode' || k === 'list') {
      el.setAttribute(k, v === true ? '' : String(v));
    } else {
      el[k] = v;
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** clear removes every child of el and appends children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldSeq = 0;

/**
 * field is a labelled control: the label's for names the control's id, so
 * a screen reader (and a test looking up "Phone number") finds it.
 */
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('small', { className: 'hint', id: `${id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { className: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/** toast shows a short message in the live region for screen readers too. */
export function toast(text, kind = 'info') {
  const el = document.getElementById('toast');
  const item = h('div', { className: `toast ${kind}` }, text);
  el.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}
