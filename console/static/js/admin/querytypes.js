// querytypes.js: the query types — what a customer writes about, how
// routing recognises it (menu key, keywords, entry points) and who serves
// it how (strategy, groups, accounts), and its first-response and
// resolution targets (sla.js). A type's own opening hours and no-reply
// timeout are kept as they are (edit them in the YAML).
import { register } from '../state.js';
import { t } from '../i18n.js';
import { h, replace } from '../dom.js';
import { settingsScreen, listOf, select, labelled } from '../forms.js';
import { listEditor, setList } from './lists.js';
import { targetsField } from '../sla.js';

const strategies = () => ['claim', 'round_robin', 'least_loaded'].map((s) => ({ value: s, label: t(`qt.strategy.${s}`) }));

function render(main) {
  return settingsScreen(main, {
    title: 'qt.title',
    intro: 'qt.intro',
    async build(doc, body) {
      const [groups, users] = await Promise.all([listOf('/groups', 'groups'), listOf('/users', 'users')]);
      const groupOpts = groups && groups.map((g) => ({ value: g.id, label: g.name === g.id ? g.id : `${g.name} (${g.id})` }));
      const userOpts = users && users.map((u) => ({ value: u.id, label: u.name || u.id }));
      const ed = listEditor({
        items: doc.query_types,
        name: (x) => x.name || x.id,
        blank: () => ({ strategy: 'claim' }),
        addLabel: 'qt.add',
        fields: [
          { key: 'id', label: 'qt.id', hint: 'qt.id_hint', required: true },
          { key: 'name', label: 'qt.name', required: true },
          { key: 'menu_key', label: 'qt.menu_key', hint: 'qt.menu_key_hint' },
          { key: 'strategy', label: 'qt.strategy', type: 'select', options: strategies(), hint: 'qt.strategy_hint' },
          { key: 'keywords', label: 'qt.keywords', type: 'list', wide: true },
          { key: 'groups', label: 'qt.groups', type: 'checks', options: () => groupOpts, wide: true },
          { key: 'accounts', label: 'qt.accounts', type: 'checks', options: () => userOpts, wide: true },
          {
            key: 'entry_points', label: 'qt.entry_points', type: 'rows', hint: 'qt.entry_points_hint', add: 'qt.add_entry_point',
            columns: [
              { key: 'channel', label: 'qt.ep.channel' },
              { key: 'referral_source_id', label: 'qt.ep.referral' },
              { key: 'ctwa_clid', label: 'qt.ep.ctwa' },
              { key: 'text', label: 'qt.ep.text' },
            ],
          },
          targetsField(),
        ],
      });
      const own = (doc.query_types || []).filter((q) => q.opening_hours).map((q) => q.name || q.id);
      const typeOpts = () => [{ value: '', label: t('app.none') }, ...(doc.query_types || []).map((q) => ({ value: q.id, label: q.name || q.id }))];
      const def = select(typeOpts(), doc.default_query_type || '');
      replace(body,
        labelled(t('qt.default'), def, t('qt.default_hint')),
        own.length ? h('p', { className: 'muted' }, t('qt.own_hours', { types: own.join(', ') })) : null,
        ed.el);
      return () => {
        setList(doc, 'query_types', ed.value());
        if (def.value) doc.default_query_type = def.value; else delete doc.default_query_type;
        return doc;
      };
    },
  });
}

register({ name: 'query-types', title: 'qt.title', permission: 'settings.manage', nav: true, admin: true, render });
