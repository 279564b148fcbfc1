// Officers' actions on an alert: optimistic, rolled back on error; the assignee picker.
import { assigneeOf, newer } from './alert.js';
import { $, arr, el, t } from './dom.js';
import { api, toast, tokenRefused } from './http.js';
import { apply } from './model.js';
import { loadAlerts } from './pages.js';
import { focusIn, refreshRow } from './rows.js';
import { ACTIONS, ASSIGNEES_KEY, TERMINAL, state } from './state.js';

function setMsg(id, kind, text) {
  if (text) state.msgs.set(id, { kind, text }); else state.msgs.delete(id);
  refreshRow(id);
}

function conflictState(body) {          // a 409 should carry the alert as it is now; accept a few shapes
  if (!body || typeof body !== 'object') return null;
  for (const c of [body.alert, body.current, body.detail && body.detail.alert, body.detail && body.detail.current, body.detail, body]) {
    if (c && typeof c === 'object' && c.alert_id && c.status) return c;
  }
  return null;
}

export async function doAction(id, action) {
  const a = state.alerts.get(id);
  if (!a || !ACTIONS[action] || state.pending.has(id) || TERMINAL.has(a.status)) return;
  if (action === 'acknowledge' && a.status !== 'open') return;
  const draft = state.drafts.get(id) || {};
  const body = { note: (draft.note || '').trim() };
  if (action === 'assign') {
    const who = resolveAssignee(draft.assignee || '');
    if (!who) {
      state.msgs.set(id, { kind: 'err', text: () => t('assigneeRequired') });
      focusIn(id, 'input.assignee');
      return;
    }
    body.account_id = who;
  }
  const optimistic = { ...a, status: ACTIONS[action] };
  if (action === 'assign') {
    const known = state.assignees.find(x => x.account_id === body.account_id);
    optimistic.assignee = known ? { account_id: known.account_id, name: known.name, department: known.department } : body.account_id;
  }
  state.pending.set(id, { action });
  state.msgs.delete(id);
  apply(optimistic, true);
  const gen = state.session;
  try {
    const updated = await api(`/api/v1/alerts/${encodeURIComponent(id)}/${action}`, { method: 'POST', body });
    if (gen !== state.session) return;
    state.pending.delete(id);
    state.drafts.set(id, { ...draft, note: '' });
    const noteInput = state.rows.get(id) && state.rows.get(id).querySelector('input.note');
    if (noteInput) noteInput.value = '';
    if (action === 'assign') rememberAssignee(body.account_id);
    const cur = state.alerts.get(id);
    if (updated && updated.alert_id === id && (cur === optimistic || newer(updated, cur))) apply(updated, true);
    else refreshRow(id);
  } catch (e) {
    if (gen !== state.session) return;
    if (e.status === 401) return tokenRefused();
    const rollback = () => { if (state.alerts.get(id) === optimistic) apply(a, true); };
    let kind = 'err', text;
    if (e.status === 409) {                 // someone changed it first: show the alert as it is now
      kind = 'warn';
      let now = conflictState(e.body);
      if (!now) { try { now = await api(`/api/v1/alerts/${encodeURIComponent(id)}`); } catch (_) { now = null; } }
      if (gen !== state.session) return;
      state.pending.delete(id);
      if (now && now.alert_id === id) {
        const latest = state.alerts.get(id);
        if (latest === optimistic || newer(now, latest)) apply(now, true);
        const by = lastActor(now);
        text = () => t('err', '409')(t('status', now.status) + (by ? ` · ${by}` : ''));
      } else {
        rollback();
        text = () => t('err', 'conflict');
        loadAlerts();
      }
    } else {
      state.pending.delete(id);
      rollback();
      const known = e.status === 403 || e.status === 404;
      const detail = e.body && typeof e.body.detail === 'string' ? e.body.detail : '';
      if (e.status === 422 && detail) text = () => `${t('err', 'invalid')}：${detail}`;   // e.g. not an account of this department
      else text = () => t('err', known ? String(e.status) : 'other');
    }
    state.msgs.set(id, { kind, text });
    refreshRow(id);
    toast(`${t('act', action)}: ${text()}`, kind);
  }
}

function recentAssignees() {
  try { return arr(JSON.parse(localStorage.getItem(ASSIGNEES_KEY) || '[]')).filter(x => typeof x === 'string'); } catch (_) { return []; }
}

function lastActor(a) {                     // who last changed the alert's status
  const steps = arr(a.timeline);
  const by = steps.length ? steps[steps.length - 1].by : null;
  if (by && typeof by === 'object') return by.name || by.account_id;
  return a.status === 'assigned' ? assigneeOf(a) : null;
}

function rememberAssignee(who) {
  const seen = recentAssignees().filter(x => x !== who);
  seen.unshift(who);
  localStorage.setItem(ASSIGNEES_KEY, JSON.stringify(seen.slice(0, 12)));
  fillAssignees();
}

export function fillAssignees() {                   // recent first, then the department's accounts; labelled by name
  let dl = $('assignees');
  if (!dl) { dl = el('datalist'); dl.id = 'assignees'; document.body.append(dl); }
  const names = new Map(state.assignees.map(x => [x.account_id, x.name || '']));
  const ids = [...new Set([...recentAssignees(), ...names.keys()])];
  dl.replaceChildren(...ids.map(id => new Option(names.get(id) || '', id)));
}

function resolveAssignee(text) {            // an account id as typed, or the one account with that name
  const v = text.trim();
  if (state.assignees.some(x => x.account_id === v)) return v;
  const named = state.assignees.filter(x => (x.name || '').toLowerCase() === v.toLowerCase());
  return named.length === 1 ? named[0].account_id : v;
}
