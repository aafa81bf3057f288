// live.js keeps one event stream (GET /api/v1/events, server-sent events)
// open for the whole console and hands its events to whichever screens
// listen. The browser reconnects a dropped connection by itself, but gives
// up for good on any answer that is not a stream: a 401 once the session
// has ended, a 429, a proxy's 502 while the server restarts. Then the
// stream is reopened here, after asking /me (whose 401 signs the console
// out), so an operator is never left on a screen that silently stopped
// updating and, with no stream, stopped counting them present. Events
// missed while disconnected are not replayed: a "reconnect" event tells
// screens to fetch again what they show.
import * as api from './api.js';

const listeners = new Set();
let source = null;
let wanted = false;
let retry = null;
let delay = 0;
const MIN_DELAY = 1000;
const MAX_DELAY = 30000;

function emit(data) {
  for (const fn of listeners) {
    try { fn(data); } catch { /* one screen's mistake must not starve the others */ }
  }
}

function open() {
  const s = new EventSource('/api/v1/events', { withCredentials: true });
  source = s;
  let opened = false;
  s.addEventListener('open', () => {
    // Every open after the first of this console's stream follows a gap.
    if (opened || delay > 0) emit({ type: 'reconnect' });
    opened = true;
    delay = 0;
  });
  for (const type of ['message', 'state', 'status', 'presence', 'tags', 'note', 'sla']) {
    s.addEventListener(type, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      data.type = data.type || type;
      emit(data);
    });
  }
  s.addEventListener('error', () => {
    if (s !== source || s.readyState !== EventSource.CLOSED) return; // the browser is retrying
    s.close();
    source = null;
    if (!wanted) return;
    delay = Math.min(MAX_DELAY, Math.max(MIN_DELAY, delay * 2));
    retry = setTimeout(async () => {
      retry = null;
      try {
        await api.get('/me');
      } catch (e) {
        // 401: the session ended and api.js signed out, which stopped us.
        if (e.status === 401) return;
      }
      if (wanted && !source && !retry) open();
    }, delay);
  });
}

/** start opens the stream if it is not open. */
export function start() {
  wanted = true;
  if (source || retry) return;
  delay = 0;
  open();
}

/** stop closes the stream (at logout) and gives up reopening it. */
export function stop() {
  wanted = false;
  if (retry) clearTimeout(retry);
  retry = null;
  if (source) source.close();
  source = null;
}

/** on calls fn with every event until the returned function is called. */
export function on(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
