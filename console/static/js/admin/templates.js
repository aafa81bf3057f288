// templates.js: the HSM templates approved at the provider, the only
// messages that may reach a customer 24 hours after their last one, and
// the auto-reply texts routing sends (menu, out of hours).
import { register } from '../state.js';
import { t } from '../i18n.js';
import { h, replace } from '../dom.js';
import { settingsScreen } from '../forms.js';
import { listEditor, setList } from './lists.js';

const categories = () => ['utility', 'marketing', 'authentication'].map((c) => ({ value: c, label: t(`tpl.category.${c}`) }));

function render(main) {
  return settingsScreen(main, {
    title: 'tpl.title',
    intro: 'tpl.intro',
    build(doc, body) {
      const hsm = listEditor({
        items: doc.hsm_templates,
        name: (x) => [x.name, x.language].filter(Boolean).join(' · '),
        blank: () => ({ category: 'utility' }),
        addLabel: 'tpl.add',
        fields: [
          { key: 'name', label: 'tpl.name', required: true },
          { key: 'language', label: 'tpl.language', hint: 'tpl.language_hint', required: true },
          { key: 'category', label: 'tpl.category', type: 'select', options: categories() },
          { key: 'provider_name', label: 'tpl.provider_name', hint: 'tpl.provider_name_hint' },
          { key: 'body', label: 'tpl.body', type: 'textarea', hint: 'tpl.body_hint', wide: true, required: true },
        ],
      });
      const auto = listEditor({
        items: doc.templates,
        name: (x) => [x.id, x.language].filter(Boolean).join(' · '),
        addLabel: 'tpl.add_auto',
        fields: [
          { key: 'id', label: 'tpl.id', required: true },
          { key: 'language', label: 'tpl.language', hint: 'tpl.language_hint' },
          { key: 'text', label: 'tpl.text', type: 'textarea', hint: 'tpl.text_hint', wide: true, required: true },
        ],
      });
      replace(body,
        h('section', { 'aria-labelledby': 'hsm-h' }, h('h2', { id: 'hsm-h' }, t('tpl.hsm')), hsm.el),
        h('section', { 'aria-labelledby': 'auto-h' }, h('h2', { id: 'auto-h' }, t('tpl.auto')),
          h('p', { className: 'muted' }, t('tpl.auto_intro')), auto.el));
      return () => {
        setList(doc, 'hsm_templates', hsm.value());
        setList(doc, 'templates', auto.value());
        return doc;
      };
    },
  });
}

register({ name: 'templates', title: 'tpl.title', permission: 'settings.manage', nav: true, admin: true, render });
