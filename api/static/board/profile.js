// The drill-down's sections: identity and grade, flags, factors, history, open alerts, registration, people.
import { arr, el, entButton, fmtDate, fmtNum, fmtTime, num, section, svg, t } from './dom.js';
import { I18N } from './i18n.js';
import { GRADE_COLORS, GRADE_CUTS, GRADE_MID, state } from './state.js';

export function ddIdentity(center, reg, g) {
  const box = el('div', 'dd-id');
  box.setAttribute('data-testid', 'drilldown-identity');
  if (g.letter) {
    const b = el('span', 'grade g-' + g.letter, g.letter);
    b.setAttribute('data-testid', 'drilldown-grade');
    b.title = t('dGrade');
    box.append(b);
  }
  if (g.score !== null) {
    const s = el('span', 'score', fmtNum(g.score));
    s.setAttribute('data-testid', 'drilldown-score');
    s.append(el('small', null, `${t('ddScore')} · ${t('ddScoreHint')}`));
    box.append(s);
  }
  const who = el('div');
  who.append(el('div', null, center.name), el('span', 'chip', center.uscc));
  if (reg.status) who.append(el('span', 'tag', t('entStatus', reg.status)));
  if (g.at) who.append(el('span', 'hint', ` ${t('ddGradedAt')} ${fmtTime(g.at, true)}`));
  box.append(who);
  return box;
}

export function ddFlags(flags) {
  let items = [];
  if (Array.isArray(flags)) {
    items = flags.map(f => (typeof f === 'string' ? { code: f } :
      f && typeof f === 'object' ? { code: f.code || f.flag || f.kind || '', label: f.text_zh || f.label_zh || f.label } : null)).filter(Boolean);
  } else if (flags && typeof flags === 'object') {
    items = Object.entries(flags).filter(([, v]) => v).map(([k, v]) => ({ code: k, extra: typeof v === 'boolean' ? '' : String(v) }));
  }
  if (!items.length) return null;
  return section('ddFlags', 'drilldown-flags', ...items.map(i => {
    const coded = I18N[state.lang].flag[i.code];
    const label = state.lang === 'zh' ? i.label || coded || i.code : coded || i.label || i.code;
    const s = el('span', 'tag', label + (i.extra ? ` · ${i.extra}` : ''));
    if (i.label && i.label !== label) s.title = i.label;
    s.style.borderColor = 'var(--critical)';
    return s;
  }));
}

export function ddFactors(factors) {
  const fs = arr(factors).filter(f => f && typeof f === 'object' && num(f.points) !== null);
  if (!fs.length) return null;
  fs.sort((x, y) => Math.abs(y.points) - Math.abs(x.points));
  const max = Math.max(...fs.map(f => Math.abs(f.points)), 1);
  const table = el('table', 'factors');
  for (const f of fs) {
    const tr = el('tr'), dir = f.points > 0 ? 'up' : 'down';
    const bar = el('div', 'bar ' + dir);
    bar.style.width = `${Math.round((Math.abs(f.points) / max) * 120)}px`;
    const barTd = el('td'); barTd.style.width = '130px'; barTd.append(bar);
    tr.append(el('td', null, f.dimension ? t('dim', f.dimension) : ''), el('td', null, f.text_zh || f.text || f.code || ''),
      barTd, el('td', 'pts ' + dir, (f.points > 0 ? '+' : '−') + fmtNum(Math.abs(f.points))));
    tr.querySelector('td').className = 'dim';
    table.append(tr);
  }
  return section('ddFactors', 'drilldown-factors', table);
}

export function ddHistory(history) {
  // The API lists newest first; reversed, the stable sort keeps grades of one business time in order.
  const pts = [...history].reverse().map(h => ({ at: h.at, t: +new Date(h.at), g: h.grade, s: num(h.score) ?? GRADE_MID[h.grade] ?? null }))
    .filter(p => p.s !== null).sort((x, y) => x.t - y.t);
  if (!pts.length) return null;
  // Evenly spaced in order of time: grades often change several times at one business time.
  const W = 640, H = 200, L = 44, R = 30, T = 12, B = 30, n = pts.length;
  const x = i => (n > 1 ? L + 10 + (i / (n - 1)) * (W - L - R - 20) : L + (W - L - R) / 2);
  const y = s => T + (1 - Math.max(0, Math.min(100, s)) / 100) * (H - T - B);
  const c = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'data-testid': 'drilldown-history-chart',
    'aria-label': `${t('ddHistory')}: ` + pts.map(p => `${fmtDate(p.at)} ${p.g ?? ''} ${p.s}`).join('; ') });
  const bands = [[0, GRADE_CUTS[0], 'A'], [GRADE_CUTS[0], GRADE_CUTS[1], 'B'], [GRADE_CUTS[1], GRADE_CUTS[2], 'C'], [GRADE_CUTS[2], 100, 'D']];
  for (const [lo, hi, g] of bands) {
    c.append(svg('rect', { x: L, y: y(hi), width: W - L - R, height: y(lo) - y(hi), fill: GRADE_COLORS[g], 'fill-opacity': 0.12 }));
    c.append(svg('text', { x: W - R + 8, y: (y(lo) + y(hi)) / 2 + 5, class: 'gl', style: `fill: ${GRADE_COLORS[g]}` }, g));
  }
  for (const v of [0, ...GRADE_CUTS, 100]) {
    c.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#2b323b', 'stroke-width': 1 }));
    c.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, v));
  }
  let d = `M ${x(0)} ${y(pts[0].s)}`;
  pts.slice(1).forEach((p, i) => { d += ` H ${x(i + 1)} V ${y(p.s)}`; });  // a grade holds until the next one
  if (n === 1) d = `M ${L} ${y(pts[0].s)} H ${W - R}`;
  c.append(svg('path', { d, fill: 'none', stroke: '#e8ebef', 'stroke-width': 2 }));
  pts.forEach((p, i) => {
    c.append(svg('circle', { cx: x(i), cy: y(p.s), r: 6, fill: GRADE_COLORS[p.g] || '#e8ebef',
      stroke: '#0e1114', 'stroke-width': 2 }, svg('title', {}, `${fmtTime(p.at, true)} · ${p.g ?? ''} · ${fmtNum(p.s)}`)));
  });
  const labels = [0, n - 1].filter((v, i, all) => all.indexOf(v) === i);   // the first and the last date
  for (const i of labels) {
    const anchor = n === 1 ? 'middle' : i === 0 ? 'start' : 'end';
    c.append(svg('text', { x: n === 1 ? x(0) : i === 0 ? L : W - R, y: H - 8, 'text-anchor': anchor }, fmtDate(pts[i].at)));
  }
  return section('ddHistory', 'drilldown-history', c);
}

export function ddOpenAlerts(open) {
  if (open === undefined || open === null) return null;
  if (typeof open === 'number') return section('ddOpen', 'drilldown-open-alerts', el('p', null, String(open)));
  const items = arr(open).map(o => (typeof o === 'string' ? state.alerts.get(o) || { alert_id: o } : o)).filter(o => o && typeof o === 'object');
  if (!items.length) return section('ddOpen', 'drilldown-open-alerts', el('p', 'hint', t('ddNoOpen')));
  const ul = el('ul', 'olist');
  for (const o of items) {
    const li = el('li');
    if (o.severity) li.append(el('span', 'badge sev-' + o.severity, t('sev', o.severity)));
    const label = o.title || (o.rule_id ? t('rules', o.rule_id) : o.alert_id);
    if (o.alert_id && state.alerts.has(o.alert_id)) {
      const b = el('button', null, label);
      b.type = 'button';
      b.dataset.alertLink = o.alert_id;
      li.append(b);
    } else {
      li.append(el('span', null, label));
    }
    if (o.status) li.append(el('span', 'status st-' + o.status, t('status', o.status)));
    if (o.created_at) li.append(el('span', 'hint', fmtTime(o.created_at)));
    ul.append(li);
  }
  return section('ddOpen', 'drilldown-open-alerts', ul);
}

const REG_FIELDS = ['name', 'registered_on', 'status', 'capital_registered', 'capital_paid', 'industry_code', 'legal_rep',
  'address_registered', 'address_business', 'phone', 'business_scope', 'deregistered_at', 'deregistered_reason'];

function maskedId(p) { return p.id_number_masked || p.masked || p.id_masked || ''; }

function personLabel(p) {
  if (!p || typeof p !== 'object') return p == null ? '' : String(p);
  return [p.name, maskedId(p)].filter(Boolean).join(' · ');
}

export function ddRegistration(p, reg) {
  const dl = el('dl', 'facts');
  const add = (label, value) => { dl.append(el('dt', null, label), el('dd', null, value)); };
  for (const k of REG_FIELDS) {
    const v = reg[k];
    if (v === undefined || v === null || v === '') continue;
    if (k === 'capital_registered' || k === 'capital_paid') add(t('reg', k), typeof v === 'number' ? `${fmtNum(v, 2)} ${t('yuan')}` : v);
    else if (k === 'registered_on') add(t('reg', k), fmtDate(v));
    else if (k === 'deregistered_at') add(t('reg', k), fmtTime(v, true));
    else if (k === 'status') add(t('reg', k), t('entStatus', v));
    else if (k === 'legal_rep') add(t('reg', k), personLabel(v));
    else add(t('reg', k), v);
  }
  if (p.registration && typeof p.registration === 'object') {     // whatever else the API sends, shown as is
    for (const [k, v] of Object.entries(p.registration)) {
      if (!REG_FIELDS.includes(k) && v !== null && ['string', 'number', 'boolean'].includes(typeof v)) add(k, v);
    }
  }
  return dl.childElementCount ? section('ddReg', 'drilldown-registration', dl) : null;
}

export function ddCompliance(p) {
  const dl = el('dl', 'facts');
  const add = (key, value) => { if (value !== null && value !== undefined && value !== '') dl.append(el('dt', null, t('fact', key)), el('dd', null, value)); };
  const tax = p.tax && typeof p.tax === 'object' ? p.tax : {};
  if (num(tax.arrears_outstanding)) {
    add('arrears_outstanding', `${fmtNum(tax.arrears_outstanding, 2)} ${t('yuan')}` + (tax.arrears_since ? ` · ${fmtDate(tax.arrears_since)}` : ''));
  }
  if (tax.credit_rating) add('credit_rating', tax.credit_rating + (tax.credit_year ? ` (${tax.credit_year})` : ''));
  if (num(tax.penalties_count)) add('penalties', t('penalties')(tax.penalties_count, fmtNum(num(tax.penalties_total) ?? 0, 2)));
  if (num(tax.insured_employees) !== null) add('insured_employees', t('people')(tax.insured_employees));
  const l = p.abnormal_listing;
  if (l && typeof l === 'object') add('abnormal_listing', [l.reason_code, l.authority, l.since && fmtDate(l.since)].filter(Boolean).join(' · '));
  if (num(p.cases_open)) add('cases_open', t('cases')(p.cases_open));
  if (p.last_event_time) add('last_event_time', fmtTime(p.last_event_time, true));
  return dl.childElementCount ? section('ddCompliance', 'drilldown-compliance', dl) : null;
}

export function ddHolders(holders) {
  const hs = arr(holders).filter(h => h && typeof h === 'object');
  if (!hs.length) return null;
  const table = el('table', 'tbl');
  const head = el('tr');
  head.append(el('th', null, t('hName')), el('th', null, t('hType')), el('th', null, t('hStake')));
  table.append(head);
  for (const h of hs) {
    const who = el('td', null, h.name || '');
    if (h.uscc) who.append(' ', entButton(h.uscc));
    else if (h.person && maskedId(h.person)) who.append(' ', el('span', 'chip', maskedId(h.person)));
    const tr = el('tr');
    tr.append(who, el('td', null, t('holder', h.holder_type)), el('td', null, num(h.stake_pct) !== null ? `${fmtNum(h.stake_pct, 2)}%` : ''));
    table.append(tr);
  }
  return section('ddHolders', 'drilldown-shareholders', table);
}

export function ddPeople(p, reg) {
  let people = arr(p.people);
  if (!people.length) {
    people = [reg.legal_rep && { ...reg.legal_rep, role: 'legal_rep' }, ...arr(reg.officers)].filter(x => x && typeof x === 'object');
  }
  if (!people.length) return null;
  const table = el('table', 'tbl');
  const head = el('tr');
  head.append(el('th', null, t('pName')), el('th', null, t('pRole')), el('th', null, t('pAge')), el('th', null, t('pId')));
  table.append(head);
  for (const x of people) {
    const roles = arr(x.roles).length ? x.roles : [x.role].filter(Boolean);
    const tr = el('tr');
    const idTd = el('td');
    if (maskedId(x)) idTd.append(el('span', 'chip', maskedId(x)));
    tr.append(el('td', null, x.name || ''), el('td', null, roles.map(r => t('role', r)).join('、')),
      el('td', null, num(x.age) !== null ? x.age : ''), idTd);
    table.append(tr);
  }
  return section('ddPeople', 'drilldown-people', table);
}
