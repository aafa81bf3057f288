// yaml.js: the settings document as YAML, for coordinators, the escape
// hatch for what no form covers. Saved as by `switchboard apply`: a 422
// names the bad key, a 409 says someone saved meanwhile.
import { register } from '../state.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, replace, field } from '../dom.js';
import { statusLine, loading, failed } from '../forms.js';

function render(main) {
  let alive = true;
  async function load() {
    loading(main, t('yaml.title'));
    let s;
    try {
      s = await api.get('/settings');
    } catch (err) {
      if (alive) failed(main, t('yaml.title'), err);
      return;
    }
    if (!alive) return;
    let version = s.version || 0;
    const status = statusLine();
    const versionLine = h('p', { className: 'muted' }, t('yaml.version', { version }));
    const text = h('textarea', { className: 'yaml-doc', spellcheck: false, autocomplete: 'off', 'autocapitalize': 'off' });
    text.value = s.yaml || '';
    const save = h('button', { type: 'submit', className: 'primary' }, t('app.save'));
    const form = h('form', { className: 'panel', onsubmit: async (e) => {
      e.preventDefault();
      save.disabled = true;
      status.busy();
      try {
        const res = await api.put('/settings', { version, yaml: text.value });
        if (res && res.version) version = res.version;
        versionLine.textContent = t('yaml.version', { version });
        status.ok();
      } catch (err) {
        status.fail(err);
      } finally {
        save.disabled = false;
      }
    } },
    field(t('yaml.label'), text, t('yaml.hint')),
    h('div', { className: 'actions start' }, save, h('button', { type: 'button', onclick: load }, t('admin.reload'))),
    status.el);
    replace(main, h('h1', {}, t('yaml.title')), versionLine, form);
  }
  load();
  return () => { alive = false; };
}

register({ name: 'settings', title: 'yaml.title', permission: 'settings.manage', nav: true, admin: true, render });
