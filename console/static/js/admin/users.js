// users.js: the team's accounts — who logs in, with which role, serving
// which query types and channels, in which groups, how many conversations
// at once. Create, edit, disable (their sessions end), enable again,
// delete.
import { register } from '../state.js';
import * as api from '../api.js';
import { t, dateTime } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { input, select, checks, statusLine, loading, failed, confirmAction, listOf, idPicker, teamOptions, uid } from '../forms.js';

function render(main) {
  let alive = true;
  const title = t('users.title');

  async function load(flash) {
    loading(main, title);
    let users; let roles; let groups;
    try {
      [users, roles, groups] = await Promise.all([
        api.get('/users').then((r) => r.users || []),
        listOf('/roles', 'roles'),
        listOf('/groups', 'groups'),
      ]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    const roleOpts = (roles || [{ name: 'admin' }, { name: 'coordinator' }, { name: 'supervisor' }, { name: 'operator' }, { name: 'collaborator' }])
      .map((r) => ({ value: r.name, label: r.built_in ? t(`role.${r.name}`) : r.name }));
    const groupOpts = groups && groups.map((g) => ({ value: g.id, label: g.name }));
    const groupNames = new Map((groups || []).map((g) => [g.id, g.name]));
    const status = statusLine();
    if (flash) status.ok(flash);
    const editor = h('div');

    function form(u) {
      const name = input(u ? u.name : '', { required: true, autocomplete: 'off' });
      const phone = input(u ? u.phone : '', { type: 'tel', required: true, autocomplete: 'off', placeholder: '+5511912345678' });
      const email = input(u ? u.email : '', { type: 'email', autocomplete: 'off' });
      const roleVal = u ? u.role : 'operator';
      const role = select(roleOpts.some((o) => o.value === roleVal) ? roleOpts : [...roleOpts, { value: roleVal, label: roleVal }], roleVal);
      const capacity = input(u && u.capacity ? u.capacity : 5, { type: 'number', min: 1, max: 100 });
      const qts = checks(t('users.query_types'), teamOptions('query_types'), u ? u.query_types : []);
      const chans = checks(t('users.channels'), teamOptions('channels'), u ? u.channels : []);
      const grps = idPicker(t('users.groups'), groupOpts, u ? u.groups : []);
      const local = statusLine();
      const heading = h('h2', { id: uid('uh') }, u ? t('users.edit', { name: u.name }) : t('users.new'));
      const f = h('form', { className: 'panel editing', 'aria-labelledby': heading.id, onsubmit: async (e) => {
        e.preventDefault();
        const body = {
          name: name.value.trim(),
          phone: phone.value.trim(),
          email: email.value.trim(),
          role: role.value,
          query_types: qts.value(),
          channels: chans.value(),
          groups: grps.value(),
        };
        if (capacity.value !== '') body.capacity = Number(capacity.value);
        if (!body.name || !body.phone) { local.fail(t('users.required')); (body.name ? phone : name).focus(); return; }
        local.busy();
        try {
          if (u) await api.patch(`/users/${encodeURIComponent(u.id)}`, body);
          else await api.post('/users', body);
          load(u ? t('app.saved') : t('users.created', { name: body.name }));
        } catch (err) {
          local.fail(err);
        }
      } },
      heading,
      h('div', { className: 'form-grid' },
        field(t('users.name'), name),
        field(t('users.phone'), phone, t('users.phone_hint')),
        field(t('users.email'), email),
        field(t('users.role'), role),
        field(t('users.capacity'), capacity, t('users.capacity_hint'))),
      qts.el,
      h('p', { className: 'hint' }, t('users.query_types_hint')),
      grps.el,
      chans.el,
      h('p', { className: 'hint' }, t('users.channels_hint')),
      h('div', { className: 'actions start' },
        h('button', { type: 'submit', className: 'primary' }, u ? t('app.save') : t('users.create')),
        h('button', { type: 'button', onclick: () => { replace(editor); newBtn.focus(); } }, t('app.cancel'))),
      local.el);
      replace(editor, f);
      name.focus();
    }

    async function act(u, kind) {
      const ok = await confirmAction(t(`users.confirm_${kind}`, { name: u.name }), t(`users.${kind}`));
      if (!ok) return;
      try {
        if (kind === 'delete') await api.del(`/users/${encodeURIComponent(u.id)}`);
        else await api.post(`/users/${encodeURIComponent(u.id)}/${kind}`);
        load(t(`users.${kind}d`, { name: u.name }));
      } catch (err) {
        status.fail(err);
      }
    }

    const newBtn = h('button', { type: 'button', className: 'primary', onclick: () => form(null) }, t('users.new'));
    const roleLabel = (r) => (roleOpts.find((o) => o.value === r) || { label: r }).label;
    const rows = users.map((u) => h('tr', { className: u.status === 'disabled' ? 'status-disabled' : null },
      h('th', { scope: 'row' }, u.name, h('br'), h('small', { className: 'muted' }, u.id)),
      h('td', {}, u.phone || ''),
      h('td', {}, roleLabel(u.role)),
      h('td', {}, h('span', { className: `badge ${u.status === 'disabled' ? 'closed' : 'assigned'}` }, t(`users.status.${u.status || 'active'}`))),
      h('td', {}, (u.query_types || []).join(', ') || h('span', { className: 'muted' }, '—')),
      h('td', {}, (u.groups || []).map((g) => groupNames.get(g) || g).join(', ') || h('span', { className: 'muted' }, '—')),
      h('td', {}, String(u.capacity || '')),
      h('td', {}, u.created_at ? dateTime(u.created_at, { dateStyle: 'medium' }) : ''),
      h('td', { className: 'actions-cell' },
        h('button', { type: 'button', 'aria-label': t('users.edit', { name: u.name }), onclick: () => form(u) }, t('app.edit')),
        u.status !== 'disabled'
          ? h('button', { type: 'button', 'aria-label': t('users.disable_who', { name: u.name }), onclick: () => act(u, 'disable') }, t('users.disable'))
          : h('button', { type: 'button', 'aria-label': t('users.enable_who', { name: u.name }), onclick: () => act(u, 'enable') }, t('users.enable')),
        h('button', { type: 'button', className: 'danger', 'aria-label': t('users.delete_who', { name: u.name }), onclick: () => act(u, 'delete') }, t('app.delete')))));
    replace(main,
      h('h1', {}, title),
      h('div', { className: 'actions start' }, newBtn, h('a', { href: '#/roles' }, t('roles.title'))),
      editor,
      status.el,
      h('div', { className: 'table-wrap panel' }, h('table', {},
        h('caption', { className: 'muted' }, t('users.count', { count: users.length })),
        h('thead', {}, h('tr', {}, ['users.name', 'users.phone', 'users.role', 'users.status', 'users.query_types', 'users.groups', 'users.capacity', 'users.created_at', 'admin.actions']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows))));
  }
  load();
  return () => { alive = false; };
}

register({ name: 'users', title: 'users.title', permission: 'users.manage', nav: true, admin: true, render });
