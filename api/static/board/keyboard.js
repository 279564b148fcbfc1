// Keyboard shortcuts: moving between rows, acting, opening the drill-down.
import { doAction } from './actions.js';
import { bannerAlerts, hideBanner, unlockAudio } from './cues.js';
import { $, arr, focusedRowId, list } from './dom.js';
import { closeDrawer, openEnterprise } from './drawer.js';
import { I18N } from './i18n.js';
import { revealAlert } from './list.js';
import { focusIn, siblingRow, toggleRow } from './rows.js';
import { state } from './state.js';

function moveFocus(dir) {
  const id = focusedRowId(), cur = id && state.rows.get(id);
  const next = cur ? siblingRow(cur, dir) : list.querySelector('.row:not([hidden])');
  if (next) { next.focus({ preventScroll: true }); next.scrollIntoView({ block: 'nearest' }); }
}

export function alertPurpose(id) {                // recorded with the query in the audit log (zh-CN, like the log)
  const a = state.alerts.get(id);
  return a ? `值班看板核查告警 ${id}（${I18N.zh.rules[a.rule_id] || a.rule_id}）` : '值班看板核查';
}

function firstEnterprise(a) {
  if (a.subject && a.subject.kind === 'enterprise') return a.subject.id;
  return arr(a.enterprises)[0];
}

export function onKey(ev) {
  unlockAudio();
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const tgt = ev.target, typing = tgt.matches && tgt.matches('input, textarea, select');
  if (ev.key === 'Escape') {
    if (!$('help').hidden) $('help').hidden = true;
    else if (typing) { const row = tgt.closest('.row'); tgt.blur(); if (row) row.focus(); }
    else if (!$('drawer').hidden) closeDrawerAndReturn();
    else if (focusedRowId() && state.expanded.has(focusedRowId())) toggleRow(state.rows.get(focusedRowId()), false);
    else if (!$('banner').hidden) hideBanner();
    return;
  }
  if (typing) {
    if (ev.key === 'Enter' && tgt.classList.contains('assignee')) { ev.preventDefault(); doAction(tgt.closest('.row').dataset.alertId, 'assign'); }
    else if (ev.key === 'Enter' && tgt.classList.contains('note')) ev.preventDefault();
    return;
  }
  if ($('board').hidden) return;
  const id = focusedRowId(), onRow = id && tgt === state.rows.get(id);
  switch (ev.key) {
    case 'j': case 'ArrowDown': if (!id || onRow) moveFocus(1); else return; break;
    case 'k': case 'ArrowUp': if (!id || onRow) moveFocus(-1); else return; break;
    case 'Enter': case ' ': case 'o': if (onRow) toggleRow(tgt); else return; break;
    case 'a': if (id) doAction(id, 'acknowledge'); break;
    case 'g': if (id) focusIn(id, 'input.assignee'); break;
    case 'n': if (id) focusIn(id, 'input.note'); break;
    case 'r': if (id) focusIn(id, 'button[data-act=resolve]'); break;
    case 'd': case 'x': if (id) focusIn(id, 'button[data-act=dismiss]'); break;
    case 'e': if (id) openEnterprise(firstEnterprise(state.alerts.get(id)), true, alertPurpose(id)); break;
    case 'c': { const open = bannerAlerts(); if (open.length) revealAlert(open[open.length - 1].alert_id); break; }
    case '/': $('f-text').focus(); break;
    case '?': $('help').hidden = !$('help').hidden; break;
    default: return;
  }
  ev.preventDefault();
}

export function closeDrawerAndReturn() {
  const back = state.dd.returnTo;        // where the officer was; the row by id if it was re-rendered meanwhile
  closeDrawer();
  if (!back) return;
  const target = document.contains(back.el) ? back.el : back.row && state.rows.get(back.row);
  if (target) target.focus();
}
