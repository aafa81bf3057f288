// Run by TestConsoleScripts (live_test.go) with node, on a copy of the
// console's scripts: live.js must reopen an event stream the browser gave
// up on, sign out when /me says the session ended, and tell screens to
// fetch again after a gap.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';

class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.handlers = {};
    this.closed = false;
    FakeEventSource.all.push(this);
  }
  addEventListener(type, fn) { (this.handlers[type] ||= []).push(fn); }
  fire(type, data) { for (const fn of this.handlers[type] || []) fn(data ? { data: JSON.stringify(data) } : {}); }
  close() { this.closed = true; this.readyState = FakeEventSource.CLOSED; }
}
globalThis.EventSource = FakeEventSource;

let meStatus = 200;
const fetched = [];
globalThis.fetch = async (url) => {
  fetched.push(url);
  return {
    status: meStatus,
    ok: meStatus >= 200 && meStatus < 300,
    headers: { get: () => 'application/json' },
    json: async () => (meStatus === 200 ? { user: { id: 'u1' } } : { error: { code: 'unauthorized' } }),
  };
};

const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

test('the stream is reopened after the browser gives up, and signs out on 401', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const api = await import('./api.js');
  const live = await import('./live.js');
  let signedOut = 0;
  api.whenUnauthorized(() => { signedOut++; live.stop(); });
  const events = [];
  live.on((ev) => events.push(ev.type));

  live.start();
  assert.equal(FakeEventSource.all.length, 1);
  const first = FakeEventSource.all[0];
  first.fire('open');
  first.fire('message', { query_id: 'q1' });
  assert.deepEqual(events, ['message'], 'the first open is no gap');

  // A dropped connection the browser retries by itself: nothing to do.
  first.fire('error');
  mock.timers.tick(60000);
  await flush();
  assert.equal(FakeEventSource.all.length, 1);
  assert.equal(fetched.length, 0);
  first.readyState = FakeEventSource.OPEN;
  first.fire('open');
  assert.deepEqual(events, ['message', 'reconnect'], 'a browser reconnect is a gap');

  // The browser gave up (a 502 while the server restarted): reopened
  // after asking /me, and screens told to fetch again.
  first.readyState = FakeEventSource.CLOSED;
  first.fire('error');
  assert.equal(FakeEventSource.all.length, 1, 'not reopened at once');
  mock.timers.tick(1000);
  await flush();
  assert.deepEqual(fetched, ['/api/v1/me']);
  assert.equal(FakeEventSource.all.length, 2, 'reopened');
  const second = FakeEventSource.all[1];
  second.fire('open');
  assert.deepEqual(events, ['message', 'reconnect', 'reconnect']);

  // The session ended: the stream's reconnect got a 401, so EventSource
  // closed; /me says 401 too, which signs out, and nothing reopens.
  meStatus = 401;
  second.readyState = FakeEventSource.CLOSED;
  second.fire('error');
  mock.timers.tick(1000);
  await flush();
  assert.equal(signedOut, 1, 'signed out');
  mock.timers.tick(120000);
  await flush();
  assert.equal(FakeEventSource.all.length, 2, 'not reopened after the session ended');

  // Signed in again: one stream; a stop while a retry waits cancels it.
  meStatus = 200;
  live.start();
  assert.equal(FakeEventSource.all.length, 3);
  const third = FakeEventSource.all[2];
  third.readyState = FakeEventSource.CLOSED;
  third.fire('error');
  live.stop();
  mock.timers.tick(120000);
  await flush();
  assert.equal(FakeEventSource.all.length, 3, 'no reopen after stop');
  mock.timers.reset();
});
