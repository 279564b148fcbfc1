// Alert pages from the API: the newest page (on sign-in, on a feed gap, after a conflict) and the
// next older one ("load older").
import { arr } from './dom.js';
import { api, setNotice, tokenRefused } from './http.js';
import { renderAll } from './list.js';
import { merge } from './model.js';
import { PAGE, state } from './state.js';

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
    if (e.status === 401) return tokenRefused();
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
    if (gen === state.session && e.status === 401) return tokenRefused();
    if (gen === state.session) setNotice('loadFailed');
  } finally {
    state.loadingOlder = false;
  }
}
