// Shadow rules (platform admins only): what a candidate rules version would change, as it
// accumulates (GET /api/v1/rules/shadow/diff). Shown only when the API answers; anyone it
// answers 401/403/404 gets no panel and no retry. A shadow version never raises an alert, so
// nothing here reaches the alert list or the feed.
import { $, arr, el, t } from './dom.js';
import { api } from './http.js';
import { state } from './state.js';

const REFRESH_MS = 30000;
const TEXT = {
  zh: { title: (v, a, d) => `影子规则 ${v}：将新增 ${a} 条、减少 ${d} 条告警`, none: '影子规则：无差异',
        rule: '规则', depts: '部门', added: '将新增', dropped: '将减少', examples: '新增示例', untracked: n => `另有 ${n} 条超出跟踪上限`,
        grades: n => `信用等级将变化的企业：${n} 家（行：现行，列：影子）` },
  en: { title: (v, a, d) => `Shadow rules ${v}: would add ${a}, drop ${d} alerts`, none: 'Shadow rules: no difference',
        rule: 'Rule', depts: 'Departments', added: 'Would add', dropped: 'Would drop', examples: 'Examples added', untracked: n => `${n} more past the tracking cap`,
        grades: n => `Enterprises whose grade would change: ${n} (rows live, columns shadow)` },
};
let last = null;

export function renderShadow() {
  const panel = $('shadow'), T = TEXT[state.lang] || TEXT.zh, d = last;
  panel.hidden = !(d && d.loaded && state.token);
  if (panel.hidden) return;
  const rules = arr(d.rules), sum = k => rules.reduce((n, r) => n + (r[k] || 0), 0);
  $('shadow-sum').textContent = rules.length ? T.title(d.version, sum('added'), sum('dropped')) : T.none;
  const table = el('table'), head = el('tr');
  for (const k of ['rule', 'depts', 'added', 'dropped']) head.append(el('th', null, T[k]));
  table.append(head);
  for (const r of rules) {
    const tr = el('tr');
    tr.dataset.rule = r.rule_id;
    tr.setAttribute('data-testid', 'shadow-rule');
    tr.append(el('td', null, t('rules', r.rule_id)), el('td', null, arr(r.departments).map(x => t('dept', x)).join('、')),
      el('td', 'added', r.added), el('td', 'dropped', r.dropped));
    table.append(tr);
  }
  const examples = el('ul');
  for (const x of arr(d.examples)) examples.append(el('li', null, `${t('rules', x.rule_id)} · ${x.title || ''} · ${x.subject && x.subject.id}`));
  $('shadow-body').replaceChildren(table, el('div', null, T.examples), examples);
  if (d.untracked) $('shadow-body').append(el('p', 'notice', T.untracked(d.untracked)));
  if (d.grades && d.grades.tracked) $('shadow-body').append(el('div', null, T.grades(d.grades.changed)), gradeMatrix(d.grades.matrix || {}));
}

// Enterprises per (live letter, shadow letter): a candidate with grade weights of its own.
function gradeMatrix(matrix) {
  const letters = ['A', 'B', 'C', 'D'], table = el('table'), head = el('tr');
  table.setAttribute('data-testid', 'shadow-grades');
  head.append(el('th', null, ''));
  for (const b of letters) head.append(el('th', null, b));
  table.append(head);
  for (const a of letters) {
    const tr = el('tr');
    tr.dataset.live = a;
    tr.append(el('th', null, a));
    for (const b of letters) tr.append(el('td', a === b ? null : 'moved', (matrix[a] || {})[b] || 0));
    table.append(tr);
  }
  return table;
}

export async function loadShadow(gen) {
  if (gen !== state.session) return;
  try {
    last = await api('/api/v1/rules/shadow/diff?limit=10');
  } catch (e) {
    last = null;
    if (e.status === 401 || e.status === 403 || e.status === 404) { renderShadow(); return; }
  }
  if (gen !== state.session) return;
  renderShadow();
  setTimeout(() => loadShadow(gen), REFRESH_MS);
}

export function clearShadow() { last = null; renderShadow(); }
