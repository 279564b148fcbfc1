// The alert list: full renders, placing one row, showing more, applying the filters, revealing
// one alert, noting an arrival, the counters and empty state.
import { renderBanner, updateTitle } from './cues.js';
import { $, el, focusedRowId, list, t } from './dom.js';
import { filtersActive, matches } from './filters.js';
import { buildRow, toggleRow } from './rows.js';
import { ROW_CAP, SEVS, state } from './state.js';

const byIdDesc = (x, y) => (x.alert_id < y.alert_id ? 1 : x.alert_id > y.alert_id ? -1 : 0);

export function renderAll() {                  // full rebuild of at most `limit` rows: page loads, filter and language changes
  const focusId = focusedRowId();
  state.counts = {};
  const matching = [];
  for (const a of state.alerts.values()) {
    if (a.status === 'open') state.counts[a.severity] = (state.counts[a.severity] || 0) + 1;
    if (matches(a)) matching.push(a);
  }
  matching.sort(byIdDesc);
  state.matchCount = matching.length;
  state.rows.clear();
  const frag = document.createDocumentFragment();
  for (const a of matching.slice(0, state.limit)) {
    const row = buildRow(a);
    state.rows.set(a.alert_id, row);
    frag.append(row);
  }
  list.replaceChildren(frag);
  if (focusId && state.rows.has(focusId)) state.rows.get(focusId).focus({ preventScroll: true });
  scheduleChrome();
}

export function placeRow(a) {                  // insert one row at its place (newest first), keeping at most `limit` rows
  let next = list.firstElementChild;
  while (next && next.dataset.alertId > a.alert_id) next = next.nextElementSibling;
  if (!next && list.childElementCount >= state.limit) return;   // older than every shown row: under "show more"
  const row = buildRow(a);
  list.insertBefore(row, next);
  state.rows.set(a.alert_id, row);
  if (list.childElementCount > state.limit) {
    const last = list.lastElementChild;
    state.rows.delete(last.dataset.alertId);
    last.remove();
  }
}

export function showMore() {                   // true when the rows loaded run short: the caller loads an older page
  state.limit += ROW_CAP;
  const last = list.lastElementChild;
  const after = last ? last.dataset.alertId : '\uffff';
  const older = [...state.alerts.values()].filter(a => a.alert_id < after && matches(a) && !state.rows.has(a.alert_id));
  older.sort(byIdDesc);
  const frag = document.createDocumentFragment();
  for (const a of older.slice(0, state.limit - list.childElementCount)) {
    const row = buildRow(a);
    state.rows.set(a.alert_id, row);
    frag.append(row);
  }
  list.append(frag);
  scheduleChrome();
  return older.length < ROW_CAP && !!state.cursor;
}

export function applyFilters() {
  state.limit = ROW_CAP;
  renderAll();
}

export function resetFilters() {
  state.filters = { rule: '', severity: '', status: '', department: '', text: '' };
  for (const id of ['f-rule', 'f-sev', 'f-status', 'f-dept', 'f-text']) $(id).value = '';
  applyFilters();
}

export function revealAlert(id) {
  if (!state.alerts.has(id)) return;
  if (!state.rows.has(id) || state.rows.get(id).hidden) resetFilters();
  if (!state.rows.has(id)) { state.limit = Math.max(state.limit, state.matchCount); renderAll(); }
  const row = state.rows.get(id);
  if (!row) return;
  toggleRow(row, true);
  row.scrollIntoView({ block: 'center' });
  row.focus({ preventScroll: true });
}

export function noteArrival(id) {
  if (document.hidden) state.unseen++;
  if (state.scrolled && state.rows.has(id) && !state.rows.get(id).hidden) state.newer++;
  scheduleChrome();
}

let chromeQueued = false;
export function scheduleChrome() {             // counters, empty state, "show more", banner: at most once a frame
  if (chromeQueued) return;
  chromeQueued = true;
  const run = () => { chromeQueued = false; renderCounts(); updateEmpty(); updateMore(); renderBanner(); updateTitle(); };
  if (document.hidden) setTimeout(run, 250); else requestAnimationFrame(run);
}


function renderCounts() {
  const box = $('counts');
  box.replaceChildren(el('span', 'lbl', t('openCounts')), ...SEVS.map(s => {
    const b = el('button', 'cnt sev-' + s + (state.filters.severity === s ? ' on' : ''));
    b.dataset.sev = s;
    b.setAttribute('data-testid', 'count-' + s);
    b.append(t('sev', s), el('b', null, state.counts[s] || 0));
    return b;
  }));
}

function updateEmpty() {
  const any = !!list.querySelector('.row:not([hidden])');
  $('empty').hidden = any;
  $('empty').textContent = t(filtersActive() && state.alerts.size ? 'emptyFiltered' : 'empty');
  $('f-clear').hidden = !filtersActive();
  for (const [id, key] of [['f-rule', 'rule'], ['f-sev', 'severity'], ['f-status', 'status'], ['f-dept', 'department']]) {
    $(id).classList.toggle('on', !!state.filters[key]);
  }
}

function updateMore() {
  let shown = 0;
  for (const [id] of state.rows) if (matches(state.alerts.get(id))) shown++;
  const left = Math.max(0, state.matchCount - shown);
  state.left = left;
  const b = $('more');
  b.hidden = !left && !state.cursor;
  b.textContent = left ? t('showMore')(left) : t('loadOlder');
}
