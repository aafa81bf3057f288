// tags.js shows a conversation's tags as chips, coloured as the settings
// say; who holds tags.update removes one with its chip's button and adds
// one from the settings' list. Every change replaces the conversation's
// tags (PUT /conversations/{id}/tags) and the view redraws from the
// answer.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, toast } from './dom.js';
import { session } from './state.js';

const teamTags = () => session.team.tags || [];
const tagOf = (id) => teamTags().find((x) => x.id === id) || { id, name: id, color: '' };

/** chip is one tag; onRemove, when given, adds a button that removes it. */
export function chip(id, onRemove) {
  const tag = tagOf(id);
  const el = h('span', { className: 'tag-chip', 'data-tag': id }, tag.name || id,
    onRemove ? h('button', { type: 'button', className: 'link tag-remove', 'aria-label': t('tags.remove', { tag: tag.name || id }),
      title: t('tags.remove', { tag: tag.name || id }), onclick: () => onRemove(id) }, '×') : null);
  // Through the CSSOM, which the console's style policy allows.
  if (/^#[0-9a-fA-F]{6}$/.test(tag.color)) el.style.setProperty('--tag-color', tag.color);
  return el;
}

/**
 * tagsEl shows conv's tags. path is the conversation's API path; saved is
 * called with the new tags after a change.
 */
export function tagsEl(conv, path, saved) {
  const current = conv.tags || [];
  const editable = session.permissions.has('tags.update') && teamTags().length > 0;
  const save = async (tags) => {
    try {
      const r = await api.put(`${path}/tags`, { tags });
      saved(r.tags);
    } catch (e) {
      toast(e.code === 'unknown_tag' ? t('tags.unknown') : t('error.generic', { message: e.message }), 'error');
    }
  };
  const chips = current.map((id) => chip(id, editable ? (gone) => save(current.filter((x) => x !== gone)) : null));
  let adder = null;
  const left = teamTags().filter((x) => !current.includes(x.id));
  if (editable && left.length) {
    adder = h('select', { className: 'tag-add', 'aria-label': t('tags.add'), onchange: (e) => { if (e.target.value) save(current.concat(e.target.value)); } },
      h('option', { value: '' }, t('tags.add')),
      left.map((x) => h('option', { value: x.id }, x.name || x.id)));
  }
  if (!chips.length && !adder) return null;
  return h('div', { className: 'tags row', role: 'group', 'aria-label': t('tags.label') },
    chips.length ? chips : h('span', { className: 'muted' }, t('tags.none')), adder);
}
