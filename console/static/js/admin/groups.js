// groups.js: agent groups — teams the settings name (a query type's
// groups) and bulk derivation spreads over. Create, rename, set members,
// delete; members are picked from the users when the caller may list
// them, typed as ids otherwise.
import { register } from '../state.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { input, statusLine, loading, failed, confirmAction, listOf, idPicker, uid } from '../forms.js';

function render(main) {
  let alive = true;
  const title = t('groups.title');

  async function load(flash) {
    loading(main, title);
    let groups;
    let users;
    try {
      [groups, users] = await Promise.all([api.get('/groups').then((r) => r.groups || []), listOf('/users', 'users')]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    const names = new Map((users || []).map((u) => [u.id, u.name]));
    const userOpts = users && users.map((u) => ({ value: u.id, label: u.status === 'disabled' ? `${u.name} (${t('users.status.disabled')})` : u.name }));
    const status = statusLine();
    if (flash) status.ok(flash);
    const editor = h('div');

    function form(g) {
      const name = input(g ? g.name : '', { required: true, maxLength: 100, autocomplete: 'off' });
      const id = g ? null : input('', { pattern: '[a-z0-9][a-z0-9_-]{0,63}', autocomplete: 'off', spellcheck: false });
      const members = idPicker(t('groups.members'), userOpts, g ? g.members : []);
      const local = statusLine();
      const heading = h('h2', { id: uid('gh') }, g ? t('groups.edit', { name: g.name }) : t('groups.new'));
      const f = h('form', { className: 'panel editing', 'aria-labelledby': heading.id, onsubmit: async (e) => {
        e.preventDefault();
        const body = { name: name.value.trim(), members: members.value() };
        if (!body.name) { local.fail(t('groups.name_required')); name.focus(); return; }
        local.busy();
        try {
          if (g) {
            await api.patch(`/groups/${encodeURIComponent(g.id)}`, body);
          } else {
            if (id.value.trim()) body.id = id.value.trim();
            await api.post('/groups', body);
          }
          load(t('app.saved'));
        } catch (err) {
          local.fail(err);
        }
      } },
      heading,
      field(t('groups.name'), name),
      id ? field(t('groups.id'), id, t('groups.id_hint')) : null,
      members.el,
      h('div', { className: 'actions start' },
        h('button', { type: 'submit', className: 'primary' }, g ? t('app.save') : t('groups.create')),
        h('button', { type: 'button', onclick: () => { replace(editor); newBtn.focus(); } }, t('app.cancel'))),
      local.el);
      replace(editor, f);
      name.focus();
    }

    async function remove(g) {
      if (!(await confirmAction(t('groups.confirm_delete', { name: g.name })))) return;
      try {
        await api.del(`/groups/${encodeURIComponent(g.id)}`);
        load(t('groups.deleted', { name: g.name }));
      } catch (err) {
        status.fail(err);
      }
    }

    const newBtn = h('button', { type: 'button', className: 'primary', onclick: () => form(null) }, t('groups.new'));
    const rows = groups.map((g) => h('tr', {},
      h('th', { scope: 'row' }, g.name),
      h('td', {}, h('code', {}, g.id)),
      h('td', {}, (g.members || []).length ? (g.members || []).map((m) => names.get(m) || m).join(', ') : h('span', { className: 'muted' }, t('app.none'))),
      h('td', { className: 'actions-cell' },
        h('button', { type: 'button', 'aria-label': t('groups.edit', { name: g.name }), onclick: () => form(g) }, t('app.edit')),
        h('button', { type: 'button', className: 'danger', 'aria-label': t('groups.delete', { name: g.name }), onclick: () => remove(g) }, t('app.delete')))));
    replace(main,
      h('h1', {}, title),
      h('p', { className: 'muted' }, t('groups.intro')),
      h('div', { className: 'actions start' }, newBtn),
      editor,
      status.el,
      groups.length
        ? h('div', { className: 'table-wrap panel' }, h('table', {},
          h('caption', { className: 'muted' }, t('groups.count', { count: groups.length })),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('groups.name')), h('th', { scope: 'col' }, t('groups.id')),
            h('th', { scope: 'col' }, t('groups.members')), h('th', { scope: 'col' }, t('admin.actions')))),
          h('tbody', {}, rows)))
        : h('p', { className: 'muted' }, t('groups.none')));
  }
  load();
  return () => { alive = false; };
}

register({ name: 'groups', title: 'groups.title', permission: 'groups.manage', nav: true, admin: true, render });
