// live.js keeps one event stream (GET /api/v1/events, server-sent events)
// open for the whole console and hands its events to whichever screens
// listen. The browser reconnects a dropped stream by itself; a stream the
// server ended because the session did is noticed by the next API call.

const listeners = new Set();
let source = null;

/** start opens the stream if it is not open. */
export function start() {
  if (source) return;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  for (const type of ['message', 'state', 'status', 'presence']) {
    source.addEventListener(type, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      data.type = data.type || type;
      for (const fn of listeners) fn(data);
    });
  }
}

/** stop closes the stream (at logout). */
export function stop() {
  if (source) source.close();
  source = null;
}

/** on calls fn with every event until the returned function is called. */
export function on(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
