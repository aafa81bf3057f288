// sla.js shows a conversation's service-level targets (its query type's
// first_response and resolution, in the conversation's `sla`): the time
// left to each in the conversation view, counting down like the 24-hour
// window, a mark on a listed conversation that missed one, and the
// targets' fields of the query types screen. A target past due counts as
// missed at once here, though the server records it when its timer runs.
import { t, duration } from './i18n.js';
import { h } from './dom.js';
import { input, select, labelled } from './forms.js';

const KINDS = ['first_response', 'resolution'];

/** missed reports whether target (of conv.sla) is missed by now. */
function missed(target, now) {
  return !target.met && (target.breached || new Date(target.due).getTime() <= now);
}

/** slaParts are the header's pieces for conv's open targets: one per target not yet met. */
export function slaParts(conv, now = Date.now()) {
  const s = conv && conv.sla;
  if (!s || conv.state === 'closed') return [];
  const out = [];
  for (const k of KINDS) {
    const target = s[k];
    if (!target || target.met) continue;
    if (missed(target, now)) out.push({ kind: k, missed: true, text: t(`sla.${k}_missed`) });
    else out.push({ kind: k, missed: false, text: t(`sla.${k}_left`, { time: duration(new Date(target.due).getTime() - now) }) });
  }
  return out;
}

/** drawSLA fills el (the header's timer) with conv's targets. */
export function drawSLA(el, conv) {
  const parts = slaParts(conv);
  el.hidden = !parts.length;
  el.replaceChildren(...parts.map((p) => h('span', { className: `sla ${p.missed ? 'missed' : 'open'}`, 'data-sla': p.kind }, p.text)));
}

/** breachBadge marks a listed conversation that missed a target, or is null. */
export function breachBadge(c) {
  const s = c.sla;
  if (!s || c.state === 'closed') return null;
  const now = Date.now();
  const kinds = KINDS.filter((k) => s[k] && missed(s[k], now));
  if (!kinds.length) return null;
  return h('span', { className: 'badge sla-missed', 'data-sla-missed': kinds.join(' '), title: kinds.map((k) => t(`sla.${k}_missed`)).join(' · ') }, t('sla.missed_badge'));
}

/** targetsField is the query types screen's field for a type's targets. */
export function targetsField() {
  return {
    key: 'targets', wide: true,
    control(item) {
      const cur = item.targets || {};
      const fr = input(cur.first_response == null ? '' : String(cur.first_response), { placeholder: '5m' });
      const res = input(cur.resolution == null ? '' : String(cur.resolution), { placeholder: '8h' });
      const on = select([
        { value: 'notify', label: t('sla.on_breach.notify') },
        { value: 'reassign', label: t('sla.on_breach.reassign') },
      ], cur.on_breach || 'notify');
      const el = h('fieldset', { className: 'targets wide' }, h('legend', {}, t('sla.targets')),
        h('div', { className: 'grid' },
          labelled(t('sla.first_response'), fr, t('sla.duration_hint')),
          labelled(t('sla.resolution'), res, t('sla.duration_hint')),
          labelled(t('sla.on_breach'), on, t('sla.on_breach_hint'))));
      return {
        el,
        get() {
          const out = {};
          if (fr.value.trim()) out.first_response = fr.value.trim();
          if (res.value.trim()) out.resolution = res.value.trim();
          if (!Object.keys(out).length) return undefined; // no targets
          if (on.value !== 'notify') out.on_breach = on.value;
          return out;
        },
      };
    },
  };
}
