// api.js is the console's one way to the JSON API. The session lives in an
// HttpOnly cookie no script can read; what a script holds is the CSRF
// token, in memory only, sent with every request that changes something.

let csrf = '';
let onUnauthorized = () => {};

/** APIError is a refused request: status, the API's code and message. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

/** setCSRF keeps the session's CSRF token for later requests. */
export function setCSRF(token) { csrf = token || ''; }

/** whenUnauthorized sets what happens when the session has ended. */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/** api calls method path (under /api/v1) with an optional JSON body, or a FormData one. */
export async function api(method, path, body, { quiet401 = false, retried = false } = {}) {
  const headers = { Accept: 'application/json' };
  const opts = { method, credentials: 'same-origin', headers };
  if (body instanceof FormData) {
    // The browser writes the multipart Content-Type, with its boundary.
    opts.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, opts);
  } catch (e) {
    throw new APIError(0, 'network', e.message);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    if (res.status === 401 && !quiet401) onUnauthorized();
    const err = (data && data.error) || {};
    if (res.status === 403 && err.code === 'csrf' && method !== 'GET' && !retried) {
      // The token is derived from the session with the server's secret,
      // so a secret rotated while the session lives makes the one held
      // here stale: every change would fail until a reload. Ask for the
      // session's token again, and try once more.
      const me = await api('GET', '/me', undefined, { quiet401 }).catch(() => null);
      if (me && me.csrf_token) {
        csrf = me.csrf_token;
        return api(method, path, body, { quiet401, retried: true });
      }
    }
    throw new APIError(res.status, err.code, err.message);
  }
  return data;
}

/**
 * endSession logs out on the server and reports whether the session is
 * over: true when it was ended or had ended already (401), false when the
 * server could not be reached or refused. Only the server can remove the
 * HttpOnly cookie, so a console that signs out on false leaves a live
 * session behind in the browser for whoever uses it next.
 */
export async function endSession() {
  try {
    await api('POST', '/auth/logout', {}, { quiet401: true });
  } catch (e) {
    if (e.status !== 401) return false;
  }
  csrf = '';
  return true;
}

/** get, post, put, patch and del are api with the method named. */
export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b === undefined ? {} : b, o);
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

/** q builds a query string from an object, skipping empty values. */
export function q(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const str = s.toString();
  return str ? `?${str}` : '';
}
