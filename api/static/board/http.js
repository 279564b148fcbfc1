// The API client (bearer token, X-Purpose for the audit log), what a refused token does, the
// notice line and toasts.
import { $, t } from './dom.js';
import { state } from './state.js';

export async function api(path, { method = 'GET', body, purpose } = {}) {
  const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
  if (purpose) headers['X-Purpose'] = encodeURIComponent(purpose);     // "why", for the audit log
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    const e = new Error('HTTP ' + res.status);
    e.status = res.status;
    try { e.body = await res.json(); } catch (_) { e.body = null; }
    throw e;
  }
  return res.status === 204 ? null : res.json();
}

// A 401 means the token is no longer good: sign out. The session sits above every module that
// calls the API, so main.js hands the sign-out in here rather than each caller importing it.
let onTokenRefused = () => {};
export function whenTokenRefused(fn) { onTokenRefused = fn; }
export function tokenRefused() { return onTokenRefused(); }

export function setNotice(key) {
  $('notice').hidden = !key;
  $('notice').textContent = key ? t(key) : '';
}

let toastTimer;
export function toast(text, kind = 'warn') {
  const n = $('toast');
  n.textContent = text;
  n.className = kind;
  n.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { n.hidden = true; }, 8000);
}
