// Small DOM and text helpers: element lookup and building (HTML and SVG), translation (t), dates
// and numbers, and which alert row has the focus.
import { I18N } from './i18n.js';
import { RULE_IDS, SEVS, STATUSES, state } from './state.js';

export const $ = id => document.getElementById(id);
export const list = $('list');
export const arr = v => (Array.isArray(v) ? v : []);
export const num = v => (typeof v === 'number' && isFinite(v) ? v : null);

export function focusedRowId() {
  const a = document.activeElement;
  const row = a && a.closest ? a.closest('#list .row') : null;
  return row ? row.dataset.alertId : null;
}

// ---------- i18n & formatting ----------
export function t(key, sub) {
  const v = I18N[state.lang][key];
  if (sub === undefined) return v === undefined ? key : v;
  return v && v[sub] !== undefined ? v[sub] : sub;
}

export function applyI18n() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll('[data-i18n-ph]')) n.placeholder = t(n.dataset.i18nPh);
  for (const n of document.querySelectorAll('[data-i18n-title]')) n.setAttribute('aria-label', t(n.dataset.i18nTitle));
  fillSelect($('f-rule'), 'fRule', RULE_IDS, id => t('rules', id));
  fillSelect($('f-sev'), 'fSev', SEVS, s => t('sev', s));
  fillSelect($('f-status'), 'fStatus', STATUSES, s => t('status', s));
  fillDepts();
  const keys = t('keys');
  $('keys').replaceChildren(...keys.map(([k, what]) => { const s = el('span'); s.append(el('kbd', null, k), ' ' + what); return s; }));
  $('help-keys').replaceChildren(...keys.map(([k, what]) => {
    const tr = el('tr'), td = el('td');
    td.append(el('kbd', null, k));
    tr.append(td, el('td', null, what));
    return tr;
  }));
}

function fillSelect(sel, allKey, values, label) {
  const keep = sel.value;
  sel.replaceChildren(new Option(t(allKey), ''), ...values.map(v => new Option(label(v), v)));
  sel.value = keep;
}

export function fillDepts() { fillSelect($('f-dept'), 'fDept', [...state.depts].sort(), deptLabel); }
export function deptLabel(d) { return t('dept', d); }

const fmtCache = {};
export function fmtTime(iso, full) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const key = state.lang + (full ? 'F' : 'S');
  fmtCache[key] = fmtCache[key] || new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    year: full ? 'numeric' : undefined, month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
  return fmtCache[key].format(d);
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const key = state.lang + 'D';
  fmtCache[key] = fmtCache[key] || new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB',
    { year: 'numeric', month: '2-digit', day: '2-digit' });
  return fmtCache[key].format(d);
}

export function fmtNum(v, digits = 1) {
  return new Intl.NumberFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { maximumFractionDigits: digits }).format(v);
}

export function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined && text !== null) n.textContent = String(text);  // never innerHTML
  return n;
}

export function entButton(uscc) {
  const b = el('button', 'chip ent', uscc);
  b.type = 'button';
  b.dataset.uscc = uscc;
  b.setAttribute('data-testid', 'enterprise-link');
  return b;
}

const SVGNS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...kids) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
  n.append(...kids.filter(k => k !== null && k !== undefined));
  return n;
}

export function section(titleKey, testid, ...nodes) {
  const s = el('section', 'dd-sec');
  s.setAttribute('data-testid', testid);
  s.append(el('h3', null, typeof titleKey === 'string' ? t(titleKey) : titleKey), ...nodes.filter(Boolean));
  return s;
}
