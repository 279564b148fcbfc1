// The live feed: a single-use ticket, the WebSocket, resume with since= after a drop, a watchdog.
import { beep } from './cues.js';
import { $, t } from './dom.js';
import { api, tokenRefused } from './http.js';
import { noteArrival } from './list.js';
import { apply } from './model.js';
import { loadAlerts } from './pages.js';
import { BACKOFF_MAX, STALE_MS, state } from './state.js';

export function setConn(s) {
  state.conn = s;
  const n = $('conn');
  n.dataset.state = s;
  n.querySelector('.lbl').textContent = t('conn', s);
}

export function closeSocket() {
  clearTimeout(state.watchdog);
  const ws = state.ws;
  state.ws = null;                      // detach first: its onclose is then ignored
  if (ws) try { ws.close(); } catch (_) { /* already closed */ }
}

export async function connect() {
  const gen = state.session;
  clearTimeout(state.retryTimer); state.retryTimer = null;
  if (state.retry < 4) setConn('reconnecting');
  let ticket;
  try {
    ticket = (await api('/api/v1/ws-tickets', { method: 'POST' })).ticket;   // single-use: a fresh one every time
  } catch (e) {
    if (gen !== state.session) return;
    if (e.status === 401) return tokenRefused();
    return scheduleReconnect();
  }
  if (gen !== state.session) return;
  const since = state.lastSeq;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let url = `${proto}//${location.host}/ws/alerts?ticket=${encodeURIComponent(ticket)}`;
  if (since !== null) url += `&since=${since}`;
  let ws;
  try { ws = new WebSocket(url); } catch (_) { return scheduleReconnect(); }
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  ws.onopen = () => {
    if (ws !== state.ws) return;
    state.retry = 0;
    setConn('connected');
    armWatchdog();
    // Without `since` the feed starts "now": (re)load the list after subscribing so nothing falls in between.
    if (since === null) loadAlerts();
  };
  ws.onmessage = ev => {
    if (ws !== state.ws) return;
    armWatchdog();
    const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data);
    let msg;
    try { msg = JSON.parse(text); } catch (_) { return; }
    handleMessage(msg);
  };
  ws.onclose = () => {                 // 4401 (ticket refused), 4008 (too slow) and the rest: new ticket, resume with since
    if (ws !== state.ws) return;
    state.ws = null;
    clearTimeout(state.watchdog);
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!state.token || state.retryTimer) return;
  const delay = Math.min(1000 * 2 ** state.retry, BACKOFF_MAX);
  state.retry++;
  setConn(state.retry > 4 ? 'disconnected' : 'reconnecting');
  state.retryTimer = setTimeout(connect, delay);
}

function armWatchdog() {                // heartbeats arrive every ~15 s; silence means a dead link
  clearTimeout(state.watchdog);
  state.watchdog = setTimeout(() => { closeSocket(); scheduleReconnect(); }, STALE_MS);
}

function handleMessage(msg) {
  if (typeof msg.seq === 'number' && (state.lastSeq === null || msg.seq > state.lastSeq)) state.lastSeq = msg.seq;
  if (msg.type === 'gap') loadAlerts();
  else if (msg.type === 'alert' && msg.alert && msg.alert.alert_id) onLiveAlert(msg.alert, msg.change);
}

function onLiveAlert(a, change) {
  const old = state.alerts.get(a.alert_id);
  if (!apply(a)) return;
  if (!old) noteArrival(a.alert_id);
  // Cue a critical alert that is new to this board (or newly escalated), not a status change of one.
  if (a.severity === 'critical' && a.status === 'open' && (!old || old.severity !== 'critical') && change !== 'status') {
    state.critical = state.critical.filter(id => id !== a.alert_id);
    state.critical.push(a.alert_id);
    beep();
  }
}
