// Signing in and out, and loading alert pages and the assignee list.
import { fillAssignees } from './actions.js';
import { closeSocket, connect, setConn } from './connection.js';
import { $, arr, t } from './dom.js';
import { closeDrawer } from './drawer.js';
import { api, setNotice } from './http.js';
import { renderAll } from './list.js';
import { merge } from './model.js';
import { clearShadow, loadShadow } from './shadow.js';
import { PAGE, ROW_CAP, TOKEN_KEY, state } from './state.js';

export function showSignIn(errKey) {
  $('board').hidden = true; $('signout').hidden = true; $('counts').hidden = true;
  $('signin').hidden = false;
  const err = $('signin-err');
  err.hidden = !errKey;
  if (errKey) err.dataset.i18n = errKey; else delete err.dataset.i18n;   // re-translated on language switch
  err.textContent = errKey ? t(errKey) : '';
  $('token').focus();
}

export function startSession(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true; $('board').hidden = false; $('signout').hidden = false; $('counts').hidden = false;
  renderAll();
  connect();
  loadAlerts();
  loadAssignees();
  loadShadow(state.session);
}

async function loadAssignees() {              // the department's active accounts, for the "assign to" picker
  const gen = state.session;
  try {
    const data = await api('/api/v1/accounts/assignees');
    if (gen !== state.session) return;
    state.assignees = arr(data && data.items).filter(x => x && x.account_id && !x.revoked);
    fillAssignees();
  } catch (_) { /* optional: typing an account id still works */ }
}

export function signOut(errKey) {
  state.session++;
  closeSocket();
  clearTimeout(state.retryTimer); state.retryTimer = null;
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { token: null, lastSeq: null, retry: 0, cursor: undefined, limit: ROW_CAP, critical: [], newer: 0 });
  for (const m of [state.alerts, state.rows, state.expanded, state.pending, state.drafts, state.msgs]) m.clear();
  closeDrawer();
  clearShadow();
  setConn('disconnected');
  renderAll();
  showSignIn(errKey);
}

export async function loadAlerts() {
  const gen = state.session;
  try {
    const data = await api('/api/v1/alerts?limit=' + PAGE);
    if (gen !== state.session) return;
    for (const a of arr(data.items)) merge(a);
    if (state.cursor === undefined) state.cursor = data.next || null;
    renderAll();
    setNotice(null);
  } catch (e) {
    if (gen !== state.session) return;
    if (e.status === 401) return signOut('badToken');
    setNotice('loadFailed');
  }
}

export async function loadOlder() {                   // the next page after the oldest loaded alert
  if (!state.cursor || state.loadingOlder) return;
  const gen = state.session;
  state.loadingOlder = true;
  try {
    const data = await api(`/api/v1/alerts?limit=${PAGE}&cursor=${encodeURIComponent(state.cursor)}`);
    if (gen !== state.session) return;
    for (const a of arr(data.items)) merge(a);
    state.cursor = data.next || null;
    renderAll();
  } catch (e) {
    if (gen === state.session && e.status === 401) return signOut('badToken');
    if (gen === state.session) setNotice('loadFailed');
  } finally {
    state.loadingOlder = false;
  }
}
