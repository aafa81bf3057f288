// Run by TestConsoleScripts (live_test.go) with node: api.js's logout
// reports a session that is still alive rather than pretending.
import { test } from 'node:test';
import assert from 'node:assert/strict';

let answer = { status: 204 };
const calls = [];
globalThis.fetch = async (url, opts) => {
  calls.push({ url, opts });
  if (answer.throws) throw new TypeError('Failed to fetch');
  return {
    status: answer.status,
    ok: answer.status >= 200 && answer.status < 300,
    headers: { get: () => 'application/json' },
    json: async () => ({ error: { code: answer.code || '' } }),
  };
};

test('endSession is true only once the server has no session', async () => {
  const api = await import('./api.js');
  let unauthorized = 0;
  api.whenUnauthorized(() => { unauthorized++; });
  api.setCSRF('tok');

  answer = { throws: true };
  assert.equal(await api.endSession(), false, 'network error: the cookie still holds a live session');
  answer = { status: 403, code: 'csrf' };
  assert.equal(await api.endSession(), false, 'refused: still logged in');
  answer = { status: 503 };
  assert.equal(await api.endSession(), false, 'server error: still logged in');
  const last = calls[calls.length - 1];
  assert.equal(last.url, '/api/v1/auth/logout');
  assert.equal(last.opts.method, 'POST');
  assert.equal(last.opts.headers['X-CSRF-Token'], 'tok', 'the CSRF token is sent');

  answer = { status: 401 };
  assert.equal(await api.endSession(), true, 'already ended');
  assert.equal(unauthorized, 0, 'a 401 here is the answer sought, not a lost session');
  api.setCSRF('tok');
  answer = { status: 204 };
  assert.equal(await api.endSession(), true);
  answer = { status: 200 };
  await api.get('/me');
  assert.equal(calls[calls.length - 1].opts.headers['X-CSRF-Token'], undefined);
  await api.post('/x', {}).catch(() => {});
  assert.equal(calls[calls.length - 1].opts.headers['X-CSRF-Token'], undefined, 'the token is forgotten at logout');
});
