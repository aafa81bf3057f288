// knowledge.js: the knowledge base, the canned responses operators insert
// in a chat by typing / and a shortcut.
import { register } from '../state.js';
import { h, replace } from '../dom.js';
import { settingsScreen } from '../forms.js';
import { listEditor, setList } from './lists.js';

const typeOptions = (doc) => (doc.query_types || []).map((q) => ({ value: q.id, label: q.name ? `${q.name} (${q.id})` : q.id }));

function render(main) {
  return settingsScreen(main, {
    title: 'kb.title',
    intro: 'kb.intro',
    build(doc, body) {
      const ed = listEditor({
        items: doc.canned_responses,
        name: (x) => x.shortcut,
        blank: () => ({ shortcut: '/' }),
        addLabel: 'kb.add',
        fields: [
          { key: 'shortcut', label: 'kb.shortcut', hint: 'kb.shortcut_hint', required: true },
          { key: 'text', label: 'kb.text', type: 'textarea', wide: true, required: true },
          { key: 'query_types', label: 'kb.query_types', type: 'checks', options: () => typeOptions(doc), wide: true },
        ],
      });
      replace(body, h('div', {}, ed.el));
      return () => setList(doc, 'canned_responses', ed.value());
    },
  });
}

register({ name: 'knowledge', title: 'kb.title', permission: 'settings.manage', nav: true, admin: true, render });
