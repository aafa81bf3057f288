// login.js is the sign-in: a phone number, then the code sent to it over
// WhatsApp. Its answers never tell whether a number has an account.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, field, replace } from './dom.js';

/** loginScreen renders the two steps into root. */
export function loginScreen(root, { simulatorURL, onSignedIn }) {
  let phone = '';
  const status = h('p', { className: 'status', role: 'status', 'aria-live': 'polite' });
  const card = h('div', { className: 'login-card' });
  const main = h('main', { id: 'main', className: 'login' },
    h('h1', {}, t('app.name')),
    h('p', { className: 'muted' }, t('login.intro')),
    card,
    status,
    simulatorURL ? h('p', { className: 'simulator-link' }, h('a', { href: simulatorURL, target: '_blank', rel: 'noopener' }, t('login.simulator'))) : null);
  replace(root, main);

  const busy = (form, on) => form.querySelectorAll('button, input').forEach((el) => { el.disabled = on; });

  function phoneStep() {
    const input = h('input', { type: 'tel', name: 'phone', autocomplete: 'tel', required: true, value: phone, placeholder: '+55 11 91234-5678' });
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      phone = input.value.trim();
      busy(form, true);
      try {
        await api.post('/auth/otp', { phone }, { quiet401: true });
        status.textContent = t('login.code_sent');
        codeStep();
      } catch (err) {
        status.textContent = err.status === 429 ? t('login.too_many') : t('error.unavailable');
        busy(form, false);
      }
    } }, field(t('login.phone'), input), h('button', { type: 'submit', className: 'primary' }, t('login.send_code')));
    replace(card, form);
    input.focus();
  }

  function codeStep() {
    const input = h('input', { type: 'text', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', maxLength: 6, required: true });
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      busy(form, true);
      try {
        const s = await api.post('/auth/verify', { phone, code: input.value.trim(), session: 'cookie' }, { quiet401: true });
        api.setCSRF(s.csrf_token);
        const me = await api.get('/me');
        status.textContent = '';
        await onSignedIn(me);
      } catch (err) {
        status.textContent = err.status === 401 ? t('login.invalid_code') : err.status === 429 ? t('login.too_many') : t('error.unavailable');
        busy(form, false);
        input.select();
      }
    } },
    h('p', {}, t('login.code_to', { phone })),
    field(t('login.code'), input),
    h('button', { type: 'submit', className: 'primary' }, t('login.log_in')),
    h('button', { type: 'button', className: 'link', onclick: () => { status.textContent = ''; phoneStep(); } }, t('login.other_number')));
    replace(card, form);
    input.focus();
  }

  phoneStep();
  return null;
}
