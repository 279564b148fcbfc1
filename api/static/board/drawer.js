// The enterprise drill-down drawer: opening, navigating back, and laying out its sections.
import { $, arr, el, focusedRowId, num, t } from './dom.js';
import { api, tokenRefused } from './http.js';
import { ddCompliance, ddFactors, ddFlags, ddHistory, ddHolders, ddIdentity, ddOpenAlerts, ddPeople, ddRegistration } from './profile.js';
import { ddRelated } from './related.js';
import { state } from './state.js';

export function closeDrawer() {
  state.dd.gen++;
  state.dd.stack = [];
  state.dd.last = null;
  state.dd.returnTo = null;
  state.dd.purpose = '';
  $('drawer').hidden = true;
  $('dd-body').replaceChildren();
}

export async function openEnterprise(uscc, push = true, purpose = '') {
  if (!uscc || !state.token) return;
  const dd = state.dd;
  if (push && dd.stack[dd.stack.length - 1] !== uscc) dd.stack.push(uscc);
  const gen = ++dd.gen, session = state.session, returnTo = document.activeElement;
  $('drawer').hidden = false;
  $('drawer').dataset.enterprise = uscc;
  $('dd-back').hidden = dd.stack.length < 2;
  $('dd-title').textContent = uscc;
  const body = $('dd-body');
  body.dataset.state = 'loading';
  body.replaceChildren(el('p', 'hint', t('ddLoading')));
  if (!dd.returnTo && returnTo && !$('drawer').contains(returnTo)) dd.returnTo = { el: returnTo, row: focusedRowId() };
  $('dd-close').focus();
  const enc = encodeURIComponent(uscc);
  purpose = purpose || dd.purpose || '值班看板核查';
  dd.purpose = purpose;
  const [profile, related] = await Promise.allSettled([
    api(`/api/v1/enterprises/${enc}`, { purpose }), api(`/api/v1/enterprises/${enc}/related`, { purpose })]);
  if (gen !== dd.gen || session !== state.session) return;
  if (profile.status === 'rejected' && profile.reason.status === 401) return tokenRefused();
  dd.last = { uscc, profile, related };
  renderEnterprise();
}

export function renderEnterprise() {
  const last = state.dd.last;
  if (!last) return;
  const { uscc, profile, related } = last;
  const body = $('dd-body'), parts = [];
  let center = { uscc, name: uscc, grade: null };
  if (profile.status === 'fulfilled' && profile.value && typeof profile.value === 'object') {
    const p = profile.value, reg = registrationOf(p), g = gradeOf(p);
    center = { uscc: p.uscc || uscc, name: reg.name || p.name || uscc, grade: g.letter };
    $('dd-title').textContent = center.name;
    parts.push(ddIdentity(center, reg, g), ddFlags(p.flags), ddFactors(g.factors), ddHistory(historyOf(p)),
      ddOpenAlerts(p.open_alerts ?? p.alerts), ddCompliance(p), ddRegistration(p, reg), ddPeople(p, reg), ddHolders(p.shareholders));
    body.dataset.state = 'ready';
  } else {
    const st = profile.reason && profile.reason.status;
    const box = el('div', 'dd-err');
    box.setAttribute('data-testid', 'drilldown-error');
    box.append(el('p', 'err', `${t(st === 404 ? 'ddNotFound' : st === 403 ? 'ddForbidden' : 'ddFailed')}${st ? ` (HTTP ${st})` : ''}`));
    const chip = el('p'); chip.append(el('span', 'chip', uscc)); box.append(chip);
    const retry = el('button', 'btn', t('retry'));
    retry.addEventListener('click', () => openEnterprise(uscc, false));
    box.append(retry);
    parts.push(box);
    body.dataset.state = 'error';
  }
  parts.push(ddRelated(center, related));
  body.replaceChildren(...parts.filter(Boolean));
}

function registrationOf(p) {
  const r = p.registration ?? p.profile;
  return r && typeof r === 'object' ? { ...p, ...r } : p;
}

function gradeOf(p) {
  const g = p.grade;
  if (g && typeof g === 'object') {
    return { letter: g.grade ?? g.letter ?? null, score: num(g.score) ?? num(p.score), at: g.at ?? null,
      factors: arr(g.factors).length ? g.factors : arr(p.factors) };
  }
  return { letter: typeof g === 'string' ? g : null, score: num(p.score), at: p.graded_at ?? null, factors: arr(p.factors) };
}

function historyOf(p) {
  const h = p.grade_history ?? p.history ?? p.grades ?? (p.grade && typeof p.grade === 'object' ? p.grade.history : null);
  return arr(h).filter(x => x && typeof x === 'object' && x.at && !isNaN(new Date(x.at)));
}
