// reports.js: the Reports screen (reports.view) — the conversations opened
// from one date to another, both included, in the team's time zone, with
// their totals (volume, first-response and resolution times, reopened
// within 24 hours), a table by day or hour and the satisfaction survey's
// figures per operator and query type (csat.js), narrowed by channel, query
// type, operator, agent group, resolution, tag and out of hours. The CSV and
// XLSX exports are plain links to the same report: the session is a
// cookie and a GET needs no CSRF token, so the browser streams the file
// to disk however many rows it holds.
import { register, session } from './state.js';
import * as api from './api.js';
import { t, dateTime, duration, zone } from './i18n.js';
import { h, replace, field } from './dom.js';
import { input, select, teamOptions, listOf, loading, failed, message } from './forms.js';
import { csatPanel } from './csat.js';

/** today is the date in the team's zone as YYYY-MM-DD. */
function today() {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone(), year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** seconds shows a report's time in seconds as a duration; — when null. */
function seconds(s) {
  return s === null || s === undefined ? '—' : duration(s * 1000);
}

function render(main) {
  let alive = true;
  const title = t('reports.title');

  async function start() {
    loading(main, title);
    let users; let groups;
    try {
      [users, groups] = await Promise.all([listOf('/users', 'users'), listOf('/groups', 'groups')]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    const any = { value: '', label: t('reports.any') };
    const end = today();
    const from = input(`${end.slice(0, 8)}01`, { type: 'date', required: true });
    const to = input(end, { type: 'date', required: true });
    const channel = select([any, ...teamOptions('channels')], '');
    const queryType = select([any, ...teamOptions('query_types')], '');
    const resolution = select([any, ...teamOptions('resolution_reasons')], '');
    // The settings' tags; none, no filter (GET /reports/conversations?tag=).
    const tag = (session.team && (session.team.tags || []).length) ? select([any, ...teamOptions('tags')], '') : null;
    // Without users.manage or groups.manage the lists are not readable:
    // an id is typed instead.
    const operator = users
      ? select([any, ...users.map((u) => ({ value: u.id, label: u.name }))], '')
      : input('', { autocomplete: 'off', placeholder: 'u_…' });
    const group = groups
      ? select([any, ...groups.map((g) => ({ value: g.id, label: g.name }))], '')
      : input('', { autocomplete: 'off', placeholder: 'g_…' });
    const outOfHours = select([any, { value: 'true', label: t('reports.out_of_hours_yes') }, { value: 'false', label: t('reports.out_of_hours_no') }], '');
    const groupBy = select([{ value: 'day', label: t('reports.by_day') }, { value: 'hour', label: t('reports.by_hour') }], 'day');
    const status = h('p', { className: 'form-status', role: 'status', 'aria-live': 'polite' });
    const totals = h('div', { className: 'panel' });
    const table = h('div', { className: 'table-wrap panel' });
    const csat = h('div');
    const csv = h('a', { className: 'button', download: '' }, t('reports.download_csv'));
    const xlsx = h('a', { className: 'button', download: '' }, t('reports.download_xlsx'));

    const params = () => ({
      from: from.value, to: to.value, channel: channel.value, query_type: queryType.value,
      operator: operator.value.trim(), group: group.value.trim(), resolution: resolution.value, out_of_hours: outOfHours.value,
      tag: tag ? tag.value : '',
    });
    const names = new Map((users || []).map((u) => [u.id, u.name]));

    function showTotals(s) {
      const item = (label, value) => h('div', { className: 'stat' }, h('dt', {}, label), h('dd', {}, value));
      replace(totals,
        h('h2', {}, t('reports.totals')),
        h('dl', { className: 'stats' },
          item(t('reports.volume'), String(s.volume)),
          item(t('reports.first_response_median'), seconds(s.first_response.median_seconds)),
          item(t('reports.first_response_average'), seconds(s.first_response.average_seconds)),
          item(t('reports.resolution_median'), seconds(s.resolution.median_seconds)),
          item(t('reports.resolution_average'), seconds(s.resolution.average_seconds)),
          item(t('reports.reopened'), String(s.reopened_within_24h))));
    }

    function showBuckets(r) {
      const by = r.group_by === 'hour'
        ? (b) => dateTime(b.start, { dateStyle: 'short', timeStyle: 'short' })
        : (b) => dateTime(b.start, { dateStyle: 'medium' });
      const rows = (r.buckets || []).map((b) => h('tr', {},
        h('td', {}, h('time', { dateTime: b.start }, by(b))),
        h('td', { className: 'num' }, String(b.volume)),
        h('td', { className: 'num' }, seconds(b.first_response.median_seconds)),
        h('td', { className: 'num' }, seconds(b.resolution.median_seconds)),
        h('td', { className: 'num' }, String(b.reopened_within_24h))));
      const head = [r.group_by === 'hour' ? 'reports.hour' : 'reports.day', 'reports.volume', 'reports.first_response_median',
        'reports.resolution_median', 'reports.reopened'];
      replace(table, h('table', {},
        h('caption', {}, t(r.group_by === 'hour' ? 'reports.by_hour' : 'reports.by_day')),
        h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows)));
    }

    async function run(e) {
      if (e) e.preventDefault();
      const p = params();
      const base = `/api/v1/reports/conversations${api.q(p)}`;
      csv.href = `${base}&format=csv`;
      xlsx.href = `${base}&format=xlsx`;
      status.className = 'form-status';
      status.textContent = t('app.loading');
      let r;
      try {
        r = await api.get(`/reports/conversations${api.q({ ...p, group_by: groupBy.value })}`);
      } catch (err) {
        if (!alive) return;
        status.className = 'form-status error';
        status.setAttribute('role', 'alert');
        status.textContent = message(err);
        return;
      }
      if (!alive) return;
      status.setAttribute('role', 'status');
      status.textContent = t('reports.range', { from: r.from, to: r.to, timezone: r.timezone })
        + (p.operator && names.has(p.operator) ? ` · ${names.get(p.operator)}` : '');
      showTotals(r.totals);
      showBuckets(r);
      const types = new Map(teamOptions('query_types').map((o) => [o.value, o.label]));
      replace(csat, csatPanel(r.csat, (id) => names.get(id) || id, (id) => types.get(id) || id));
    }

    replace(main,
      h('h1', {}, title),
      h('p', { className: 'muted' }, t('reports.intro')),
      h('form', { className: 'panel', onsubmit: run },
        h('div', { className: 'row' },
          field(t('reports.from'), from), field(t('reports.to'), to),
          field(t('reports.channel'), channel), field(t('reports.query_type'), queryType),
          field(t('reports.operator'), operator), field(t('reports.group'), group),
          field(t('reports.resolution'), resolution), tag ? field(t('tags.filter'), tag) : null, field(t('reports.out_of_hours'), outOfHours),
          field(t('reports.group_by'), groupBy)),
        h('div', { className: 'row' },
          h('button', { type: 'submit', className: 'primary' }, t('reports.show')), csv, xlsx),
        h('small', { className: 'hint' }, t('reports.export_hint')),
        status),
      totals,
      table,
      csat);
    if (session.team && !session.team.timezone) status.textContent = t('reports.utc');
    run();
  }
  start();
  return () => { alive = false; };
}

register({ name: 'reports', title: 'reports.title', permission: 'reports.view', nav: true, render });
