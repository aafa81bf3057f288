// csat.js: the satisfaction survey (settings' csat) as the console shows
// it — a conversation's rating in its panel, and the Reports screen's
// figures per operator and per query type (GET /reports/conversations'
// csat).
import { t } from './i18n.js';
import { h } from './dom.js';

/** rating is a conversation's survey as one line: "4 of 5", "no answer yet", or null when never surveyed. */
export function rating(conv) {
  const c = conv && conv.csat;
  if (!c) return null;
  return c.score ? t('csat.score', { score: c.score }) : t('csat.unanswered');
}

/** share shows 0..1 as a whole percentage; — when null. */
function share(v) {
  return v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`;
}

/** average shows a mean score with one decimal; — when null. */
export function average(v) {
  return v === null || v === undefined ? '—' : v.toFixed(1);
}

/**
 * csatPanel is the report's survey figures: totals, then a table per
 * operator and one per query type. nameOf(id) names an operator,
 * typeOf(id) a query type.
 */
export function csatPanel(csat, nameOf, typeOf) {
  if (!csat || !csat.totals) return null;
  const cols = ['csat.asked', 'csat.answered', 'csat.average', 'csat.satisfied'];
  const cells = (s) => [String(s.asked), String(s.answered), average(s.average_score), share(s.satisfied_share)]
    .map((v) => h('td', { className: 'num' }, v));
  const table = (caption, head, groups, label) => h('table', {},
    h('caption', {}, t(caption)),
    h('thead', {}, h('tr', {}, [t(head), ...cols.map(t)].map((k) => h('th', { scope: 'col' }, k)))),
    h('tbody', {}, groups.length
      ? groups.map((g) => h('tr', {}, h('td', {}, label(g)), cells(g)))
      : h('tr', {}, h('td', { colSpan: 5, className: 'muted' }, t('csat.none')))));
  const item = (label, value) => h('div', { className: 'stat' }, h('dt', {}, label), h('dd', {}, value));
  const s = csat.totals;
  return h('div', { className: 'panel table-wrap' },
    h('h2', {}, t('csat.title')),
    h('dl', { className: 'stats' },
      item(t('csat.asked'), String(s.asked)), item(t('csat.answered'), String(s.answered)),
      item(t('csat.average'), average(s.average_score)), item(t('csat.satisfied'), share(s.satisfied_share))),
    table('csat.by_operator', 'csat.operator', csat.by_operator || [], (g) => (g.operator ? nameOf(g.operator) : t('csat.nobody'))),
    table('csat.by_query_type', 'csat.query_type', csat.by_query_type || [], (g) => typeOf(g.query_type)));
}
