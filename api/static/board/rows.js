// One alert's row: its summary line, its details, its action form and its handling trail; opening
// it, and moving the focus to its neighbour or into its form.
import { arr, deptLabel, el, entButton, fmtTime, t } from './dom.js';
import { assigneeOf, rev } from './alert.js';
import { matches } from './filters.js';
import { ACTIONS, ACTION_KEYS, TERMINAL, state } from './state.js';

export function buildRow(a) {
  const row = el('div');
  row.setAttribute('data-testid', 'alert-row');
  row.dataset.alertId = a.alert_id;
  row.tabIndex = 0;
  fillRow(row, a);
  return row;
}

export function fillRow(row, a) {              // (re)fill a row in place: its inputs and the focus survive live updates
  const id = a.alert_id, open = state.expanded.has(id), pending = state.pending.get(id);
  row.className = `row sev-${a.severity} st-row-${a.status}` + (pending ? ' pending' : '');
  Object.assign(row.dataset, { severity: a.severity, status: a.status, ruleId: a.rule_id, open: String(open),
    subject: a.subject ? a.subject.id : '' });
  if (pending) row.dataset.pending = pending.action; else delete row.dataset.pending;
  const sum = buildSum(a, open), oldSum = row.querySelector(':scope > .sum');
  if (oldSum) oldSum.replaceWith(sum); else row.prepend(sum);
  let d = row.querySelector(':scope > .details');
  if (open && !d) row.append(buildDetails(a));
  else if (open) updateDetails(d, a);
  else if (d) d.remove();
  const hide = !matches(a);
  if (hide && !row.hidden && row.contains(document.activeElement)) {
    const next = siblingRow(row, 1) || siblingRow(row, -1);
    if (next) next.focus();
  }
  row.hidden = hide;
}

function buildSum(a, open) {
  const sum = el('div', 'sum');
  sum.setAttribute('role', 'button');
  sum.setAttribute('aria-expanded', String(open));
  const nEnts = a.enterprises_total || arr(a.enterprises).length;
  const evT = el('span', 'time ev-t');
  evT.append(el('small', null, t('evShort') + ' '), fmtTime(a.event_time));
  const st = el('span', 'status st-' + a.status, t('status', a.status));
  const who = assigneeOf(a);
  if (a.status === 'assigned' && who) st.append(el('small', null, '→ ' + who));
  st.title = st.textContent;
  const title = el('span', 'title', a.title);
  title.title = a.title || '';
  sum.append(
    el('span', 'badge', t('sev', a.severity)),
    el('span', 'rule', t('rules', a.rule_id)),
    title,
    el('span', 'ents', t('ents')(nEnts)),
    st,
    evT, el('span', 'time cr-t', fmtTime(a.created_at)),
  );
  return sum;
}

function buildDetails(a) {
  const d = el('div', 'details');
  d.append(buildInfo(a), buildActions(a), buildTrail(a));
  return d;
}

function updateDetails(d, a) {
  d.querySelector(':scope > .info').replaceWith(buildInfo(a));
  syncActions(d.querySelector(':scope > .actions'), a);
  d.querySelector(':scope > .trail').replaceWith(buildTrail(a));
}

function buildInfo(a) {
  const box = el('div', 'info');
  box.append(el('p', 'expl', a.explanation));
  const dl = el('dl', 'facts');
  const item = (key, ...nodes) => { dl.append(el('dt', null, t(key))); const dd = el('dd'); dd.append(...nodes); dl.append(dd); };
  if (a.subject) {
    const s = a.subject;
    item('dSubject', `${t('kind', s.kind)} · `, s.kind === 'enterprise' ? entButton(s.id) : s.id);
  }
  const ents = arr(a.enterprises).map(entButton);
  if (a.enterprises_total && a.enterprises_total > ents.length) ents.push(el('span', 'hint', t('entsTotal')(a.enterprises_total)));
  if (ents.length) item('dEnts', ...ents);
  if (a.grade != null || a.score != null) item('dGrade', `${a.grade ?? '—'} / ${a.score ?? '—'}`);
  item('dDepts', arr(a.departments).map(deptLabel).join('、'));
  const who = assigneeOf(a);
  if (who) item('dAssignee', who);
  if (a.status_reason) item('dReason', a.status_reason);
  item('dMeta', `v${a.rule_version ?? '?'} / ${a.hits ?? 1} / ${rev(a)}`);
  if (a.updated_at) item('dUpdated', fmtTime(a.updated_at, true));
  item('dId', a.alert_id);
  box.append(dl);
  return box;
}

function buildActions(a) {
  const id = a.alert_id, draft = state.drafts.get(id) || {};
  const f = el('form', 'actions');
  f.noValidate = true;
  const field = (cls, labelKey, phKey, testid, value) => {
    const lab = el('label', null, t(labelKey));
    const inp = el('input', cls);
    Object.assign(inp, { type: 'text', placeholder: t(phKey), value: value || '', autocomplete: 'off', spellcheck: false });
    inp.setAttribute('data-testid', testid);
    lab.append(inp);
    return lab;
  };
  const asg = field('assignee', 'assigneeLabel', 'assigneePh', 'action-assignee', draft.assignee);
  asg.querySelector('input').setAttribute('list', 'assignees');
  const btns = el('div', 'btns');
  for (const k of Object.keys(ACTIONS)) {
    const b = el('button', 'act act-' + k, t('act', k));
    b.type = 'button';
    b.dataset.act = k;
    b.setAttribute('data-testid', 'action-' + k);
    b.setAttribute('aria-keyshortcuts', ACTION_KEYS[k]);
    b.append(el('kbd', null, ACTION_KEYS[k]));
    btns.append(b);
  }
  const msg = el('p', 'act-msg');
  msg.setAttribute('data-testid', 'action-message');
  msg.setAttribute('role', 'status');
  f.append(field('note', 'noteLabel', 'notePh', 'action-note', draft.note), asg, btns, msg);
  syncActions(f, a);
  return f;
}

function syncActions(f, a) {
  const pending = state.pending.has(a.alert_id), terminal = TERMINAL.has(a.status);
  for (const b of f.querySelectorAll('button[data-act]')) {
    b.disabled = pending || terminal || (b.dataset.act === 'acknowledge' && a.status !== 'open');
  }
  for (const i of f.querySelectorAll('input')) i.disabled = terminal;
  const m = state.msgs.get(a.alert_id) || (terminal ? { kind: '', text: () => t('terminal') } : null);
  const p = f.querySelector('.act-msg');
  p.hidden = !m;
  p.className = 'act-msg ' + (m ? m.kind : '');
  p.textContent = m ? m.text() : '';
}

function buildTrail(a) {
  const box = el('div', 'trail');
  const steps = [a.timeline, a.history, a.status_history].find(x => arr(x).length) || [];
  const actor = x => (x && typeof x === 'object' ? x.name || x.account_id : x);
  if (steps.length) {
    box.append(el('h3', null, t('dTrail')));
    const ul = el('ul', 'ev');
    ul.setAttribute('data-testid', 'alert-timeline');
    for (const s of [...steps].reverse()) {                     // newest first
      if (!s || typeof s !== 'object') continue;
      const what = s.action ? t('act', s.action) : '';
      const to = s.status && s.status !== ACTIONS[s.action] ? t('status', s.status) : '';   // e.g. reopened: open again
      const by = s.by ? actor(s.by) : t('system');
      const li = el('li');
      li.append(el('div', 'meta', [fmtTime(s.at || s.time, true), by].filter(Boolean).join(' · ')),
        el('div', null, [[what, to && `→ ${to}`, s.assignee ? `（${actor(s.assignee)}）` : ''].filter(Boolean).join(' '), s.note]
          .filter(Boolean).join(' — ')));
      ul.append(li);
    }
    box.append(ul);
  }
  box.append(el('h3', null, t('dEvidence')));
  const ul = el('ul', 'ev');
  for (const e of arr(a.evidence)) {
    const li = el('li');
    li.append(el('div', 'meta', `${fmtTime(e.time, true)} · ${e.source} · ${e.type}`), el('div', null, e.fact));
    ul.append(li);
  }
  box.append(ul);
  return box;
}

export function toggleRow(row, open) {
  const id = row.dataset.alertId, a = state.alerts.get(id);
  if (!a) return;
  const want = open === undefined ? !state.expanded.has(id) : open;
  if (want === state.expanded.has(id)) return;
  if (want) state.expanded.add(id); else state.expanded.delete(id);
  fillRow(row, a);
}

export function refreshRow(id) {
  const row = state.rows.get(id), a = state.alerts.get(id);
  if (row && a) fillRow(row, a);
}

export function siblingRow(row, dir) {
  let n = dir > 0 ? row.nextElementSibling : row.previousElementSibling;
  while (n && n.hidden) n = dir > 0 ? n.nextElementSibling : n.previousElementSibling;
  return n;
}

export function focusIn(id, selector) {
  const row = state.rows.get(id);
  if (!row) return;
  toggleRow(row, true);
  refreshRow(id);
  const target = row.querySelector(selector);
  if (target && !target.disabled) target.focus();
  else row.focus();
}
