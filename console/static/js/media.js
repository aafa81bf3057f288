// media.js shows what a message carries besides text: its file (images
// inline, audio and video with the browser's controls, documents as a
// download with their name and size), a location with a map link,
// contact cards, a sticker, a reaction. Files come from the API
// (/api/v1/media/{id}), which answers only to whoever may see the
// conversation; one still being fetched shows as loading, one that could
// not be kept says so.
import { t } from './i18n.js';
import { h } from './dom.js';

/** size formats a byte count for people. */
function size(n) {
  if (n == null) return '';
  if (n < 1024) return t('media.bytes', { n });
  if (n < 1024 * 1024) return t('media.kb', { n: (n / 1024).toFixed(0) });
  return t('media.mb', { n: (n / (1024 * 1024)).toFixed(1) });
}

/** fileEl shows a message's file, by its type. */
function fileEl(m) {
  const f = m.media;
  if (f.error) return h('span', { className: 'media-missing', role: 'note' }, t('media.unavailable'));
  // size is absent until the worker fetched the file.
  if (f.size == null) return h('span', { className: 'media-loading', 'aria-busy': 'true' }, t('media.loading'));
  const mime = f.mime_type || '';
  if ((m.type === 'image' || m.type === 'sticker') && mime.startsWith('image/') && !mime.includes('svg')) {
    const label = m.type === 'sticker' ? t('media.sticker') : (m.text || t('media.image'));
    return h('a', { href: f.url, target: '_blank', rel: 'noopener', className: `media-image ${m.type}` },
      h('img', { src: f.url, alt: label, loading: 'lazy' }));
  }
  if (m.type === 'audio' && mime.startsWith('audio/')) {
    return h('audio', { controls: true, preload: 'none', src: f.url, className: 'media-audio', 'aria-label': t('media.audio') });
  }
  if (m.type === 'video' && mime.startsWith('video/')) {
    return h('video', { controls: true, preload: 'metadata', src: f.url, className: 'media-video', 'aria-label': t('media.video') });
  }
  const name = f.filename || t('media.file');
  return h('a', { href: f.url, download: f.filename || '', className: 'media-document' },
    t('media.download', { name, size: size(f.size) }));
}

/** locationEl shows a shared pin with a map link. */
function locationEl(l) {
  const lat = Number(l.latitude), lon = Number(l.longitude);
  const href = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(lon)}#map=16/${lat}/${lon}`;
  return h('div', { className: 'media-location' },
    h('strong', {}, l.name || t('media.location')),
    l.address ? h('span', {}, ' ', l.address) : null,
    h('span', {}, ' ', `${lat}, ${lon} `),
    h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, t('media.map')));
}

/** contactsEl shows shared contact cards. */
function contactsEl(cards) {
  return h('ul', { className: 'media-contacts', 'aria-label': t('media.contacts') },
    ...cards.map((c) => h('li', {},
      h('strong', {}, c.name || ''),
      ...(c.phones || []).map((p) => h('span', {}, ' ', h('a', { href: `tel:${p}` }, p))),
      ...(c.emails || []).map((e) => h('span', {}, ' ', h('a', { href: `mailto:${e}` }, e))))));
}

/** attachmentEl is what m carries besides its text, or null. */
export function attachmentEl(m) {
  if (m.purged) return null;
  if (m.media) return fileEl(m);
  if (m.type === 'location' && m.location) return locationEl(m.location);
  if (m.type === 'contacts' && m.contacts && m.contacts.length) return contactsEl(m.contacts);
  if (m.type === 'reaction' && m.reaction) {
    return h('span', { className: 'media-reaction' },
      m.reaction.emoji ? t('media.reacted', { emoji: m.reaction.emoji }) : t('media.unreacted'));
  }
  return null;
}

/** shown reports whether attachmentEl says what the message is, so no "[type]" placeholder is needed. */
export function shown(m) {
  return !!(m.media || (m.type === 'location' && m.location) || (m.type === 'contacts' && m.contacts && m.contacts.length) ||
    (m.type === 'reaction' && m.reaction));
}
