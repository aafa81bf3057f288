// monitor.js: the monitoring table (GET /api/v1/reports/operators, with
// reports.view). Per operator: presence, conversations held against
// capacity, handled today, median first-response and resolution times
// today, the service-level targets missed today, the satisfaction
// survey's answers today, and the customer who has waited longest for
// them; per query type, the pool's size, its oldest wait, and the type's
// targets missed and survey answers today. It is read again on every
// event of the stream (at most once a second) and every 10 seconds.
import * as api from './api.js';
import * as live from './live.js';
import { t, duration, time } from './i18n.js';
import { h, replace } from './dom.js';
import { register } from './state.js';
import { message } from './forms.js';
import { average } from './csat.js';

const EVERY = 10000;

const secs = (s) => (s === null || s === undefined ? '—' : duration(s * 1000));

// todayCells are a row's targets missed and survey answers today: the
// average score with how many answered, "—" when nobody did.
function todayCells(row) {
  const c = row.csat_today || { answered: 0 };
  return [
    h('td', { className: row.sla_missed_today > 0 ? 'missed' : null }, String(row.sla_missed_today)),
    h('td', {}, c.answered
      ? h('span', { title: t('monitor.csat_title', { answered: c.answered, average: average(c.average) }) },
        t('monitor.csat_value', { answered: c.answered, average: average(c.average) }))
      : h('span', { className: 'muted' }, '—')),
  ];
}

function operatorRow(o) {
  const w = o.longest_waiting;
  return h('tr', {},
    h('th', { scope: 'row' }, o.name),
    h('td', {}, h('span', { className: `presence-dot ${o.presence}` }, t(`presence.${o.presence}`))),
    h('td', { className: o.assigned >= o.capacity ? 'full' : null }, t('monitor.load', { assigned: o.assigned, capacity: o.capacity })),
    h('td', {}, String(o.handled_today)),
    h('td', {}, secs(o.median_first_response_seconds)),
    h('td', {}, secs(o.median_resolution_seconds)),
    todayCells(o),
    h('td', {}, w
      ? h('a', { href: `#/inbox/${encodeURIComponent(w.conversation_id)}`, title: t('monitor.since', { time: time(w.since) }) }, duration(w.wait_seconds * 1000))
      : h('span', { className: 'muted' }, t('monitor.nobody_waits'))));
}

function poolRow(p) {
  return h('tr', {},
    h('th', { scope: 'row' }, p.name || p.id),
    h('td', {}, String(p.pool_size)),
    h('td', {}, p.oldest_since
      ? h('span', { title: t('monitor.since', { time: time(p.oldest_since) }) }, duration(p.oldest_wait_seconds * 1000))
      : h('span', { className: 'muted' }, '—')),
    todayCells(p));
}

function table(caption, heads, rows, empty) {
  return h('table', { className: 'monitor' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colSpan: heads.length, className: 'muted' }, empty))));
}

function render(main) {
  let alive = true;
  const status = h('p', { className: 'muted', 'aria-live': 'polite' });
  const body = h('div', {});
  replace(main, h('h1', {}, t('monitor.title')), h('p', { className: 'muted' }, t('monitor.intro')), status, body);

  let loading = false;
  let last = 0;
  let pending = null;
  async function load() {
    if (loading || !alive) return;
    loading = true;
    last = Date.now();
    try {
      const m = await api.get('/reports/operators');
      if (!alive) return;
      status.textContent = t('monitor.as_of', { time: time(m.now), zone: m.timezone });
      replace(body,
        table(t('monitor.operators'), ['monitor.operator', 'monitor.presence', 'monitor.assigned', 'monitor.handled',
          'monitor.first_response', 'monitor.resolution', 'monitor.sla_missed', 'monitor.csat', 'monitor.longest_wait'],
        m.operators.map(operatorRow), t('monitor.no_operators')),
        table(t('monitor.pools'), ['monitor.query_type', 'monitor.pool_size', 'monitor.oldest_wait', 'monitor.sla_missed', 'monitor.csat'],
          m.query_types.map(poolRow), t('monitor.no_pools')));
    } catch (err) {
      if (alive && err.status !== 401) status.textContent = message(err);
    } finally { loading = false; }
  }
  // soon loads on an event, at most once a second however many arrive.
  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; load(); }, Math.max(0, 1000 - (Date.now() - last)));
  }
  const off = live.on((ev) => { if (ev.type !== 'status') soon(); });
  const every = setInterval(load, EVERY);
  load();
  return () => { alive = false; off(); clearInterval(every); if (pending) clearTimeout(pending); };
}

register({ name: 'monitor', title: 'nav.monitor', permission: 'reports.view', nav: true, render });
