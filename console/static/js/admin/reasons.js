// reasons.js: the resolution reasons an operator picks from when closing.
import { register } from '../state.js';
import { h, replace } from '../dom.js';
import { settingsScreen } from '../forms.js';
import { listEditor, setList } from './lists.js';

function render(main) {
  return settingsScreen(main, {
    title: 'reasons.title',
    intro: 'reasons.intro',
    build(doc, body) {
      const ed = listEditor({
        items: doc.resolution_reasons,
        name: (x) => x.name || x.id,
        addLabel: 'reasons.add',
        fields: [
          { key: 'id', label: 'reasons.id', hint: 'reasons.id_hint', required: true },
          { key: 'name', label: 'reasons.name', required: true },
        ],
      });
      replace(body, h('div', {}, ed.el));
      return () => setList(doc, 'resolution_reasons', ed.value());
    },
  });
}

register({ name: 'reasons', title: 'reasons.title', permission: 'settings.manage', nav: true, admin: true, render });
