// tags.js: the tags staff with tags.update put on conversations, each
// with an id (what conversations carry and lists filter by), a name and
// a colour.
import { register } from '../state.js';
import { h, replace } from '../dom.js';
import { settingsScreen } from '../forms.js';
import { listEditor, setList } from './lists.js';

function render(main) {
  return settingsScreen(main, {
    title: 'tagset.title',
    intro: 'tagset.intro',
    build(doc, body) {
      const ed = listEditor({
        items: doc.tags,
        name: (x) => x.name || x.id,
        addLabel: 'tagset.add',
        fields: [
          { key: 'id', label: 'tagset.id', hint: 'tagset.id_hint', required: true },
          { key: 'name', label: 'tagset.name', required: true },
          { key: 'color', label: 'tagset.color', type: 'color' },
        ],
      });
      replace(body, h('div', {}, ed.el));
      return () => setList(doc, 'tags', ed.value());
    },
  });
}

register({ name: 'tags', title: 'tagset.title', permission: 'settings.manage', nav: true, admin: true, render });
