// Wiring: the page's event listeners, the calls that run back up the modules (a refused token
// signs out; "show more" asks for an older page), then the first sign-in or session resume.
// Every module imports only those below it; this one is the top.
import { doAction, fillAssignees } from './actions.js';
import { connect, setConn } from './connection.js';
import { bannerAlerts, beep, hideBanner, unlockAudio, updateTitle } from './cues.js';
import { $, applyI18n, list } from './dom.js';
import { closeDrawer, openEnterprise, renderEnterprise } from './drawer.js';
import { whenTokenRefused } from './http.js';
import { I18N } from './i18n.js';
import { alertPurpose, closeDrawerAndReturn, onKey } from './keyboard.js';
import { applyFilters, renderAll, resetFilters, revealAlert, showMore } from './list.js';
import { loadOlder } from './pages.js';
import { toggleRow } from './rows.js';
import { showSignIn, signOut, startSession } from './session.js';
import { renderShadow } from './shadow.js';
import { LANG_KEY, REMIND_MS, TOKEN_KEY, state } from './state.js';

function relabel() {                 // every text in the page's language, the connection label and the title too
  applyI18n();
  setConn(state.conn);
  updateTitle();
}

function init() {
  whenTokenRefused(() => signOut('badToken'));
  const lang = localStorage.getItem(LANG_KEY);
  if (lang && I18N[lang]) state.lang = lang;
  relabel();
  fillAssignees();

  $('signin').addEventListener('submit', ev => {
    ev.preventDefault();
    unlockAudio();
    const tok = $('token').value.trim();
    if (!tok) return showSignIn('tokenRequired');
    $('token').value = '';
    startSession(tok);
  });
  $('signout').addEventListener('click', () => signOut(null));
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem(LANG_KEY, state.lang);
    relabel();
    renderAll();
    if (!$('drawer').hidden) renderEnterprise();
    renderShadow();
  });
  $('help-btn').addEventListener('click', () => { $('help').hidden = false; });
  $('help').addEventListener('click', () => { $('help').hidden = true; });
  list.addEventListener('click', ev => {
    const ent = ev.target.closest('[data-uscc]');
    if (ent) return openEnterprise(ent.dataset.uscc, true, alertPurpose(ent.closest('.row').dataset.alertId));
    const act = ev.target.closest('button[data-act]');
    if (act) return doAction(act.closest('.row').dataset.alertId, act.dataset.act);
    const sum = ev.target.closest('.sum');
    if (sum) { const row = sum.parentElement; toggleRow(row); row.focus({ preventScroll: true }); }
  });
  list.addEventListener('input', ev => {
    const inp = ev.target, row = inp.closest('.row');
    if (!row || !inp.matches('input.note, input.assignee')) return;
    const id = row.dataset.alertId, draft = { ...(state.drafts.get(id) || {}) };
    draft[inp.classList.contains('note') ? 'note' : 'assignee'] = inp.value;
    state.drafts.set(id, draft);
  });
  list.addEventListener('submit', ev => ev.preventDefault());
  $('counts').addEventListener('click', ev => {
    const b = ev.target.closest('.cnt');
    if (!b) return;
    state.filters.severity = state.filters.severity === b.dataset.sev ? '' : b.dataset.sev;
    $('f-sev').value = state.filters.severity;
    applyFilters();
  });
  const bind = (id, key) => $(id).addEventListener('change', () => { state.filters[key] = $(id).value; applyFilters(); });
  bind('f-rule', 'rule'); bind('f-sev', 'severity'); bind('f-status', 'status'); bind('f-dept', 'department');
  let debounce;
  $('f-text').addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { state.filters.text = $('f-text').value.trim().toLowerCase(); applyFilters(); }, 150);
  });
  $('f-clear').addEventListener('click', resetFilters);
  $('more').addEventListener('click', () => { if (!state.left || showMore()) loadOlder(); });
  $('newer').addEventListener('click', () => { state.newer = 0; window.scrollTo({ top: 0 }); updateTitle(); });
  window.addEventListener('scroll', () => {       // cached: reading scrollY per message would force a layout each time
    state.scrolled = window.scrollY > 150;
    if (state.newer && !state.scrolled) { state.newer = 0; updateTitle(); }
  }, { passive: true });
  document.addEventListener('visibilitychange', () => { if (!document.hidden && state.unseen) { state.unseen = 0; updateTitle(); } });
  $('banner-close').addEventListener('click', hideBanner);
  $('banner-title').addEventListener('click', () => revealAlert($('banner').dataset.alertId));
  $('dd-close').addEventListener('click', closeDrawerAndReturn);
  $('dd-back').addEventListener('click', () => { state.dd.stack.pop(); openEnterprise(state.dd.stack[state.dd.stack.length - 1], false); });
  $('drawer').addEventListener('click', ev => {
    const n = ev.target.closest('[data-uscc]');
    if (n) return openEnterprise(n.getAttribute('data-uscc'));
    const a = ev.target.closest('[data-alert-link]');
    if (a) { revealAlert(a.dataset.alertLink); if (window.innerWidth < 1400) closeDrawer(); }
  });
  $('drawer').addEventListener('keydown', ev => {
    const n = ev.target.closest && ev.target.closest('.gnode');
    if (n && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); ev.stopPropagation(); openEnterprise(n.getAttribute('data-uscc')); }
  });
  // The drill-down opens below the header and the critical banner, which stay in sight.
  const top = document.querySelector('.top');
  new ResizeObserver(() => document.documentElement.style.setProperty('--top-h', top.offsetHeight + 'px')).observe(top);
  document.addEventListener('click', unlockAudio);   // not pointerdown: hiding the hint then would move the button under the pointer
  document.addEventListener('keydown', onKey);
  window.addEventListener('online', () => { if (state.token && state.retryTimer) { state.retry = 0; connect(); } });
  setInterval(() => { if (bannerAlerts().length) { state.lastBeep = 0; beep(); } }, REMIND_MS);   // a reminder while a critical is open

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) startSession(saved); else showSignIn(null);
}

init();
