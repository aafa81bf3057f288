// attach.js is the composer's file attachment: a labelled file input for
// the kinds every channel can send (images, audio, video, PDFs and office
// documents), the chosen file's name and size with a way to remove it,
// and the multipart form the reply goes as. The server sniffs the file
// and caps it per kind; what it refuses (413, 415) is said in words here.
import { t } from './i18n.js';
import { h, replace } from './dom.js';

/** ACCEPT is what the file picker offers; the server decides what goes. */
export const ACCEPT = 'image/jpeg,image/png,audio/*,video/mp4,application/pdf,text/plain,text/csv,' +
  '.doc,.docx,.xls,.xlsx,.ppt,.pptx';

/** size says n bytes in the largest unit that keeps it short. */
export function size(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}

/**
 * attachment returns the control: el to place in the composer, file()
 * the chosen File or null, clear() to forget it. onChange runs when the
 * choice changes.
 */
export function attachment(onChange = () => {}) {
  const input = h('input', { type: 'file', accept: ACCEPT, className: 'visually-hidden' });
  input.id = `attach-${Math.random().toString(36).slice(2)}`;
  const label = h('label', { for: input.id, className: 'button attach', title: t('conv.attach_hint') }, t('conv.attach'));
  const chosen = h('span', { className: 'attached', 'aria-live': 'polite' });
  const el = h('div', { className: 'attach-row' }, input, label, chosen);

  const draw = () => {
    const f = input.files && input.files[0];
    if (!f) { replace(chosen); onChange(null); return; }
    replace(chosen,
      h('span', { className: 'file-name' }, t('conv.attached', { name: f.name, size: size(f.size) })),
      ' ',
      h('button', { type: 'button', className: 'link', 'aria-label': t('conv.attach_remove_named', { name: f.name }), onclick: clear }, t('conv.attach_remove')));
    onChange(f);
  };
  function clear() {
    input.value = '';
    draw();
  }
  input.addEventListener('change', draw);
  return { el, file: () => (input.files && input.files[0]) || null, clear };
}

/** form is the multipart body of a reply carrying file, text its caption. */
export function form(file, text) {
  const fd = new FormData();
  if (text) fd.append('text', text);
  fd.append('file', file, file.name);
  return fd;
}

/** templateForm is the multipart body of a template whose header is file. */
export function templateForm(file, template, language, params) {
  const fd = new FormData();
  fd.append('template', template);
  fd.append('language', language);
  for (const p of params) fd.append('params', p);
  fd.append('file', file, file.name);
  return fd;
}

/** errorKey is the string that explains a refused attachment, or ''. */
export function errorKey(err) {
  if (err.status === 413) return 'conv.attach_too_large';
  if (err.status === 415) return 'conv.attach_unsupported';
  return '';
}
