// derivation.js: bulk derivation — every active conversation of an absent
// operator moves to one colleague, or is spread over a group (least
// loaded first). Safe to repeat: a second run finds nothing to move.
import { register } from '../state.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { input, select, statusLine, loading, failed, confirmAction, listOf, uid } from '../forms.js';

function render(main) {
  let alive = true;
  const title = t('derive.title');

  async function load() {
    loading(main, title);
    let users; let groups;
    try {
      [users, groups] = await Promise.all([listOf('/users', 'users'), listOf('/groups', 'groups')]);
    } catch (err) {
      if (alive) failed(main, title, err);
      return;
    }
    if (!alive) return;
    const active = (users || []).filter((u) => u.status !== 'disabled');
    const userOpts = [{ value: '', label: t('derive.choose') }, ...(users || []).map((u) => ({ value: u.id, label: `${u.name}${u.status === 'disabled' ? ` (${t('users.status.disabled')})` : ''}` }))];
    const targetOpts = [{ value: '', label: t('derive.choose') }, ...active.map((u) => ({ value: u.id, label: u.name }))];
    const nameOf = (id) => ((users || []).find((u) => u.id === id) || { name: id }).name;
    // without the users list (no users.manage), ids are typed
    const from = users ? select(userOpts, '') : input('', { autocomplete: 'off', placeholder: 'u_…' });
    const to = users ? select(targetOpts, '') : input('', { autocomplete: 'off', placeholder: 'u_…' });
    const group = groups ? select([{ value: '', label: t('derive.choose') }, ...groups.map((g) => ({ value: g.id, label: g.name }))], '') : input('', { autocomplete: 'off' });
    const name = uid('mode');
    const toUser = h('input', { type: 'radio', name, value: 'user', checked: true });
    const toGroup = h('input', { type: 'radio', name, value: 'group' });
    const toField = field(t('derive.to'), to);
    const groupField = field(t('derive.group'), group);
    const sync = () => { toField.hidden = !toUser.checked; groupField.hidden = !toGroup.checked; };
    toUser.addEventListener('change', sync);
    toGroup.addEventListener('change', sync);
    sync();
    const status = statusLine();
    const result = h('p', { className: 'result', role: 'status', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', className: 'primary' }, t('derive.submit'));
    const form = h('form', { className: 'panel', onsubmit: async (e) => {
      e.preventDefault();
      result.textContent = '';
      status.clear();
      const body = { from: from.value.trim() };
      if (toUser.checked) body.to = to.value.trim(); else body.group = group.value.trim();
      if (!body.from) { status.fail(t('derive.need_from')); from.focus(); return; }
      if (!body.to && !body.group) { status.fail(t('derive.need_target')); (toUser.checked ? to : group).focus(); return; }
      if (body.to && body.to === body.from) { status.fail(t('derive.same')); to.focus(); return; }
      const target = body.to ? nameOf(body.to) : (group.selectedOptions ? group.selectedOptions[0].textContent : body.group);
      if (!(await confirmAction(t('derive.confirm', { from: nameOf(body.from), to: target }), t('derive.submit')))) return;
      submit.disabled = true;
      status.busy();
      try {
        const r = await api.post('/derivations', body);
        status.clear();
        result.textContent = t('derive.moved', { count: r.moved, from: nameOf(body.from), to: target });
      } catch (err) {
        status.fail(err);
      } finally {
        submit.disabled = false;
      }
    } },
    field(t('derive.from'), from, t('derive.from_hint')),
    h('fieldset', {}, h('legend', {}, t('derive.target')),
      h('label', { className: 'check' }, toUser, ` ${t('derive.to_user')}`),
      h('label', { className: 'check' }, toGroup, ` ${t('derive.to_group')}`),
      toField, groupField),
    h('div', { className: 'actions start' }, submit),
    status.el,
    result);
    replace(main, h('h1', {}, title), h('p', { className: 'muted' }, t('derive.intro')), form);
  }
  load();
  return () => { alive = false; };
}

register({ name: 'derivation', title: 'derive.title', permission: 'derivations.bulk', nav: true, admin: true, render });
