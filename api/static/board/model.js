// The alert model: merge page loads, apply live updates (newest revision wins), patch the list.
import { newer, rev } from './alert.js';
import { arr, fillDepts } from './dom.js';
import { matches } from './filters.js';
import { placeRow, scheduleChrome } from './list.js';
import { fillRow } from './rows.js';
import { state } from './state.js';

export function merge(a) {                     // store only (page loads); the caller re-renders
  if (!a || !a.alert_id) return false;
  const old = state.alerts.get(a.alert_id);
  if (old && (rev(a) < rev(old) || (state.pending.has(a.alert_id) && rev(a) === rev(old)))) return false;
  state.alerts.set(a.alert_id, a);
  noteDept(a);
  return true;
}

export function apply(a, force = false) {      // store and patch the DOM in place (or insert the row); false when stale
  const id = a.alert_id, old = state.alerts.get(id);
  if (!force && !newer(a, old)) return false;
  state.alerts.set(id, a);
  const isOpen = x => (x && x.status === 'open' ? 1 : 0);
  if (old) state.counts[old.severity] = (state.counts[old.severity] || 0) - isOpen(old);
  state.counts[a.severity] = (state.counts[a.severity] || 0) + isOpen(a);
  state.matchCount += (matches(a) ? 1 : 0) - (old && matches(old) ? 1 : 0);
  noteDept(a);
  const row = state.rows.get(id);
  if (row) {
    fillRow(row, a);
    if (old) flash(row);
  } else if (matches(a)) {
    placeRow(a);
  }
  scheduleChrome();
  return true;
}

const calm = window.matchMedia('(prefers-reduced-motion: reduce)');
function flash(row) {                   // Web Animations: restarting a CSS animation would force a layout per update
  if (!calm.matches && row.animate) row.animate([{ background: '#4a3f12' }, { background: '#161a1f' }], { duration: 2500, easing: 'ease-out' });
}

function noteDept(a) {
  let added = false;
  for (const d of arr(a.departments)) if (!state.depts.has(d)) { state.depts.add(d); added = true; }
  if (added) fillDepts();
}
