// roles.js: the roles — the built-in ones (fixed) and custom ones, each a
// set of permissions from the catalogue. Listing needs users.manage;
// creating, changing and deleting a custom role, roles.manage (and the
// server refuses a role that would hold more than the caller does).
import { register } from '../state.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { input, checks, statusLine, loading, failed, confirmAction, may, uid } from '../forms.js';

const ROLE_NAME = /^[a-z][a-z0-9_-]{1,39}$/;

/** permLabel names a permission in the user's language, the catalogue's text otherwise. */
function permLabel(p, catalogue) {
  const key = `perm.${p}`;
  const s = t(key);
  return s === key ? `${p}: ${catalogue[p] || ''}` : `${s} (${p})`;
}

function render(main) {
  let alive = true;
  const title = t('roles.title');

  async function load(flash) {
    loading(main, title);
    let roles; let catalogue;
    try {
      [roles, catalogue] = await Promise.all([
        api.get('/roles').then((r) => r.roles || []),
        api.get('/permissions').then((r) => r.permissions || {}),
      ]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    const canEdit = may('roles.manage');
    const perms = Object.keys(catalogue).sort();
    const permOpts = perms.map((p) => ({ value: p, label: permLabel(p, catalogue) }));
    const status = statusLine();
    if (flash) status.ok(flash);
    const editor = h('div');

    function form(r) {
      const name = r ? null : input('', { required: true, pattern: ROLE_NAME.source, autocomplete: 'off', spellcheck: false });
      const set = checks(t('roles.permissions'), permOpts, r ? r.permissions : []);
      const local = statusLine();
      const heading = h('h2', { id: uid('rh') }, r ? t('roles.edit', { name: r.name }) : t('roles.new'));
      const f = h('form', { className: 'panel editing', 'aria-labelledby': heading.id, onsubmit: async (e) => {
        e.preventDefault();
        const roleName = r ? r.name : name.value.trim();
        if (!ROLE_NAME.test(roleName)) { local.fail(t('roles.bad_name')); name.focus(); return; }
        if (!r && roles.some((x) => x.name === roleName)) { local.fail(t('roles.taken', { name: roleName })); name.focus(); return; }
        local.busy();
        try {
          await api.put(`/roles/${encodeURIComponent(roleName)}`, { permissions: set.value() });
          load(t('app.saved'));
        } catch (err) {
          local.fail(err);
        }
      } },
      heading,
      name ? field(t('roles.name'), name, t('roles.name_hint')) : null,
      set.el,
      h('div', { className: 'actions start' },
        h('button', { type: 'submit', className: 'primary' }, r ? t('app.save') : t('roles.create')),
        h('button', { type: 'button', onclick: () => { replace(editor); if (newBtn) newBtn.focus(); } }, t('app.cancel'))),
      local.el);
      replace(editor, f);
      (name || f.querySelector('input')).focus();
    }

    async function remove(r) {
      if (!(await confirmAction(t('roles.confirm_delete', { name: r.name })))) return;
      try {
        await api.del(`/roles/${encodeURIComponent(r.name)}`);
        load(t('roles.deleted', { name: r.name }));
      } catch (err) {
        status.fail(err);
      }
    }

    const newBtn = canEdit ? h('button', { type: 'button', className: 'primary', onclick: () => form(null) }, t('roles.new')) : null;
    const rows = roles.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r.built_in ? t(`role.${r.name}`) : r.name, h('br'), h('small', { className: 'muted' }, r.name)),
      h('td', {}, r.built_in ? t('roles.built_in') : t('roles.custom')),
      h('td', {}, h('ul', { className: 'perm-list' }, (r.permissions || []).map((p) => h('li', {}, permLabel(p, catalogue))))),
      h('td', { className: 'actions-cell' }, !r.built_in && canEdit ? [
        h('button', { type: 'button', 'aria-label': t('roles.edit', { name: r.name }), onclick: () => form(r) }, t('app.edit')),
        h('button', { type: 'button', className: 'danger', 'aria-label': t('roles.delete', { name: r.name }), onclick: () => remove(r) }, t('app.delete')),
      ] : null)));
    replace(main,
      h('h1', {}, title),
      h('p', { className: 'muted' }, t('roles.intro')),
      newBtn ? h('div', { className: 'actions start' }, newBtn) : h('p', { className: 'muted' }, t('roles.read_only')),
      editor,
      status.el,
      h('div', { className: 'table-wrap panel' }, h('table', {},
        h('thead', {}, h('tr', {}, ['roles.name', 'roles.kind', 'roles.permissions', 'admin.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, rows))));
  }
  load();
  return () => { alive = false; };
}

register({ name: 'roles', title: 'roles.title', permission: 'users.manage', nav: true, admin: true, render });
