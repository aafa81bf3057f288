// Run by TestConsoleScripts (live_test.go) with node: a team time zone
// the browser does not know must not break every date on the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('a time zone Intl refuses falls back to the browser zone', async () => {
  const i18n = await import('./i18n.js');
  i18n.setTimeZone('America/Sao_Paulo');
  assert.equal(i18n.zone(), 'America/Sao_Paulo');
  assert.match(i18n.dateTime('2026-12-01T12:00:00Z', { hour: '2-digit', hourCycle: 'h23' }), /09/);
  i18n.setTimeZone('Local'); // valid in Go's time.LoadLocation, not in Intl
  assert.equal(i18n.zone(), undefined);
  assert.doesNotThrow(() => i18n.dateTime('2026-12-01T12:00:00Z'));
  i18n.setTimeZone('');
  assert.equal(i18n.zone(), undefined);
});
