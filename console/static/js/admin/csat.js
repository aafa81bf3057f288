// csat.js: the satisfaction survey (settings' csat) — asked when an
// operator closes a conversation: its question and thanks (texts of the
// Templates screen), the list button's label, the approved template for
// outside the 24-hour window, how long an answer is taken, and the query
// types never surveyed (query_types[].csat: false).
import { register } from '../state.js';
import { t } from '../i18n.js';
import { h, replace } from '../dom.js';
import { settingsScreen, select, input, checks, labelled } from '../forms.js';

function render(main) {
  return settingsScreen(main, {
    title: 'csat.admin_title',
    intro: 'csat.admin_intro',
    build(doc, body) {
      const c = doc.csat || {};
      const none = { value: '', label: t('app.none') };
      const textIds = [...new Set((doc.templates || []).map((x) => x.id).filter(Boolean))].map((id) => ({ value: id, label: id }));
      const hsm = (doc.hsm_templates || []).map((x) => ({ value: `${x.name}\n${x.language}`, label: `${x.name} (${x.language})` }));
      const enabled = h('input', { type: 'checkbox', checked: !!c.enabled });
      const question = select([none, ...textIds], c.question || '');
      const thanks = select([none, ...textIds], c.thanks || '');
      const button = input(c.button || '', { maxLength: 20, placeholder: 'Rate' });
      const tpl = c.template ? `${c.template.name}\n${c.template.language}` : '';
      const template = select([none, ...hsm], tpl);
      const within = input(c.answer_within || '', { placeholder: '24h', pattern: '[0-9hms.]+' });
      const types = (doc.query_types || []).map((q) => ({ value: q.id, label: q.name || q.id }));
      const optOut = checks(t('csat.opt_out'), types, (doc.query_types || []).filter((q) => q.csat === false).map((q) => q.id));
      replace(body, h('div', {},
        h('label', { className: 'check' }, enabled, ` ${t('csat.enabled')}`),
        labelled(t('csat.question'), question, t('csat.question_hint')),
        labelled(t('csat.button'), button, t('csat.button_hint')),
        labelled(t('csat.template'), template, t('csat.template_hint')),
        labelled(t('csat.thanks'), thanks),
        labelled(t('csat.answer_within'), within, t('csat.answer_within_hint')),
        optOut.el));
      return () => {
        const next = { enabled: enabled.checked };
        if (question.value) next.question = question.value;
        if (button.value.trim()) next.button = button.value.trim();
        if (template.value) {
          const [name, language] = template.value.split('\n');
          next.template = { name, language };
        }
        if (thanks.value) next.thanks = thanks.value;
        if (within.value.trim()) next.answer_within = within.value.trim();
        doc.csat = next;
        // Opting out is only allowed with the survey on; the server says so
        // by key, and the form keeps what it was told.
        const out = new Set(optOut.value());
        for (const q of doc.query_types || []) {
          if (out.has(q.id)) q.csat = false;
          else delete q.csat;
        }
        return doc;
      };
    },
  });
}

register({ name: 'csat', title: 'csat.admin_title', permission: 'settings.manage', nav: true, admin: true, render });
