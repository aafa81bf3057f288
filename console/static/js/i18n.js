// i18n.js picks the console's language (the one chosen before, else the
// browser's) and formats strings, dates and durations in it. Times are
// shown in the team's timezone, not the browser's: a coordinator in one
// city reads opening hours and waiting times as the team keeps them.

const STORE = 'switchboard.lang';
let strings = {};
let lang = 'en';
let languages = ['en'];
let timeZone;

/** load fetches the translations and settles the language. */
export async function load(available) {
  languages = available;
  const res = await fetch('/console/strings.json', { credentials: 'same-origin' });
  strings = await res.json();
  lang = pick(localStorage.getItem(STORE), navigator.languages || [navigator.language]);
  document.documentElement.lang = lang;
}

function pick(saved, preferred) {
  if (saved && languages.includes(saved)) return saved;
  for (const p of preferred) {
    if (!p) continue;
    if (languages.includes(p)) return p;
    const base = p.toLowerCase().split('-')[0];
    if (base === 'pt') return 'pt-BR';
    if (base === 'in') return 'id';
    const m = languages.find((l) => l.toLowerCase().split('-')[0] === base);
    if (m) return m;
  }
  return 'en';
}

/** current returns the language in use. */
export function current() { return lang; }

/** all returns the languages the console ships. */
export function all() { return languages; }

/** use switches language and remembers the choice. */
export function use(l) {
  lang = l;
  localStorage.setItem(STORE, l);
  document.documentElement.lang = l;
}

/**
 * setTimeZone makes dates show in the team's zone. A name the server takes
 * but the browser's Intl does not ("Local", which Go's time package reads
 * as the server's own zone) would make every date formatting throw, and
 * with it the conversation's history: such a zone is left out, so dates
 * show in the browser's zone instead of not at all.
 */
export function setTimeZone(tz) {
  timeZone = undefined;
  if (!tz) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    timeZone = tz;
  } catch { /* RangeError: unknown to this browser */ }
}

/** zone returns the team's time zone, if known. */
export function zone() { return timeZone; }

/**
 * t returns the string for key with {placeholders} filled from vars; a
 * missing key shows as itself so it is noticed, never as an empty label.
 */
export function t(key, vars = {}) {
  const s = (strings[lang] && strings[lang][key]) || (strings.en && strings.en[key]) || key;
  return s.replace(/\{([a-z_]+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** dateTime formats a time for lists and histories. */
export function dateTime(d, opts = { dateStyle: 'medium', timeStyle: 'short' }) {
  if (!d) return '';
  return new Intl.DateTimeFormat(lang, { ...opts, timeZone }).format(new Date(d));
}

/** time formats the time of day only. */
export function time(d) {
  return dateTime(d, { hour: '2-digit', minute: '2-digit' });
}

/** duration says how long ms is, roughly: "3 min", "2 h 5 min". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d > 0) return t('duration.days_hours', { days: d, hours: hh });
  if (hh > 0) return t('duration.hours_minutes', { hours: hh, minutes: mm });
  if (mm > 0) return t('duration.minutes', { minutes: mm });
  return t('duration.seconds', { seconds: s % 60 });
}
