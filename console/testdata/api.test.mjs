// Run by TestConsoleScripts (live_test.go) with node: api.js's logout
// reports a session that is still alive rather than pretending, and a
// stale CSRF token is fetched again once.
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

test('a request refused for a stale CSRF token is retried once with the session\'s token', async () => {
  const api = await import('./api.js');
  api.setCSRF('old');
  const seen = [];
  globalThis.fetch = async (url, opts) => {
    const token = opts.headers['X-CSRF-Token'];
    seen.push(`${opts.method} ${url} ${token || '-'}`);
    let status = 200;
    let data = { ok: true };
    if (url === '/api/v1/me') data = { user: { id: 'u1' }, csrf_token: 'new' };
    else if (token !== 'new') { status = 403; data = { error: { code: 'csrf', message: 'csrf' } }; }
    return { status, ok: status === 200, headers: { get: () => 'application/json' }, json: async () => data };
  };
  assert.deepEqual(await api.post('/conversations/q1/claim'), { ok: true });
  assert.deepEqual(seen, ['POST /api/v1/conversations/q1/claim old', 'GET /api/v1/me -', 'POST /api/v1/conversations/q1/claim new']);

  // Refused again (a foreign Origin, say): once, then the error.
  seen.length = 0;
  globalThis.fetch = async (url, opts) => {
    seen.push(`${opts.method} ${url}`);
    if (url === '/api/v1/me') return { status: 200, ok: true, headers: { get: () => 'application/json' }, json: async () => ({ csrf_token: 'new' }) };
    return { status: 403, ok: false, headers: { get: () => 'application/json' }, json: async () => ({ error: { code: 'csrf', message: 'cross-origin request refused' } }) };
  };
  await assert.rejects(api.post('/x', {}), (e) => e.status === 403 && e.code === 'csrf');
  assert.deepEqual(seen, ['POST /api/v1/x', 'GET /api/v1/me', 'POST /api/v1/x']);
});
