// Signing in and out, and loading the assignee list.
import { fillAssignees } from './actions.js';
import { closeSocket, connect, setConn } from './connection.js';
import { $, arr, t } from './dom.js';
import { closeDrawer } from './drawer.js';
import { api } from './http.js';
import { renderAll } from './list.js';
import { loadAlerts } from './pages.js';
import { clearShadow, loadShadow } from './shadow.js';
import { ROW_CAP, TOKEN_KEY, state } from './state.js';

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
