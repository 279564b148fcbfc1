// The drill-down's related enterprises: the list and the radial graph.
import { arr, el, entButton, fmtNum, num, section, svg, t } from './dom.js';
import { GRADE_COLORS, GRAPH_HOP1, GRAPH_HOP2, LINK_COLORS, RELATED_ROWS } from './state.js';

function relatedList(v) {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return arr(v.items ?? v.related ?? v.candidates ?? v.enterprises);
  return [];
}

export function ddRelated(center, related) {
  if (related.status === 'rejected') {
    const st = related.reason && related.reason.status;
    return section('ddRelated', 'drilldown-related', el('p', 'hint', `${t('ddRelatedFailed')}${st ? ` (HTTP ${st})` : ''}`));
  }
  const cands = relatedList(related.value).filter(c => c && typeof c === 'object' && c.uscc && c.uscc !== center.uscc);
  if (!cands.length) return section('ddRelated', 'drilldown-related', el('p', 'hint', t('ddNoRelated')));
  cands.sort((x, y) => (num(y.score) ?? 0) - (num(x.score) ?? 0));
  const graph = relatedGraph(center, cands);
  const legendKinds = new Set(cands.flatMap(c => arr(c.links).map(l => l.kind)));
  const legend = el('div', 'legend');
  for (const k of Object.keys(LINK_COLORS)) {
    if (!legendKinds.has(k)) continue;
    const s = el('span');
    const i = el('i'); i.style.background = LINK_COLORS[k];
    s.append(i, t('link', k));
    legend.append(s);
  }
  const table = el('table', 'tbl');
  const head = el('tr');
  head.append(el('th', null, t('rName')), el('th', null, t('rHops')), el('th', null, t('rScore')), el('th', null, t('rLinks')));
  table.append(head);
  for (const c of cands.slice(0, RELATED_ROWS)) {
    const tr = el('tr'), who = el('td');
    who.append(el('div', null, c.name || ''), entButton(c.uscc));
    const links = el('td');
    for (const l of arr(c.links)) {
      const tag = el('span', 'tag', l.label_zh || t('link', l.kind));
      tag.style.borderColor = LINK_COLORS[l.kind] || 'var(--line)';
      links.append(tag);
    }
    const hops = el('td', null, c.hops != null ? t('hops')(c.hops) : ''), score = el('td', null, num(c.score) !== null ? fmtNum(c.score) : '');
    hops.style.whiteSpace = score.style.whiteSpace = 'nowrap';
    tr.append(who, hops, score, links);
    table.append(tr);
  }
  const shown = graph.dataset.nodes;
  return section('ddRelated', 'drilldown-related', graph, legend,
    Number(shown) < cands.length ? el('p', 'hint', t('ddRelatedMore')(shown)) : null, table);
}

function shortName(s, n = 8) {                  // graph labels: without the province, city and company form
  const v = String(s || '').replace(/^(\S{2,3}省)?(\S{2,3}市)?/, '').replace(/(有限责任公司|股份有限公司|有限公司)$/, '') || String(s || '');
  return v.length > n ? v.slice(0, n) + '…' : v;
}

function relatedGraph(center, cands) {          // radial: the enterprise in the middle, 1 hop inside, 2 hops outside
  const W = 700, H = 440, cx = W / 2, cy = H / 2;
  const hop1 = cands.filter(c => (c.hops ?? 1) <= 1).slice(0, GRAPH_HOP1);
  const pos = new Map([[center.uscc, { x: cx, y: cy, ang: 0 }]]);
  hop1.forEach((c, i) => {
    const ang = -Math.PI / 2 + (i * 2 * Math.PI) / hop1.length;
    pos.set(c.uscc, { x: cx + 175 * Math.cos(ang), y: cy + 110 * Math.sin(ang), ang });
  });
  // Two hops out: next to the first-hop enterprise they hang off, fanned out around its angle.
  const hop2 = cands.filter(c => (c.hops ?? 1) >= 2).slice(0, GRAPH_HOP2);
  const parentOf = c => arr(c.links).map(l => l.via).find(v => v !== center.uscc && pos.has(v));
  const groups = new Map();
  for (const c of hop2) {
    const p = parentOf(c) || '';
    if (!groups.has(p)) groups.set(p, []);
    groups.get(p).push(c);
  }
  const spread = Math.min(0.42, (2 * Math.PI) / Math.max(hop2.length, 1));
  let free = 0;                                  // orphans (parent not drawn) take evenly spaced free angles
  for (const [p, members] of groups) {
    members.forEach((c, j) => {
      const base = p ? pos.get(p).ang : -Math.PI / 2 + ((free++ + 0.5) * 2 * Math.PI) / hop2.length;
      const ang = base + (p ? (j - (members.length - 1) / 2) * spread : 0);
      pos.set(c.uscc, { x: cx + 305 * Math.cos(ang), y: cy + 185 * Math.sin(ang), ang });
    });
  }
  const placed = [...hop1, ...hop2];
  const maxScore = Math.max(...placed.map(c => num(c.score) ?? 0), 1);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'data-testid': 'drilldown-related-graph',
    'aria-label': `${t('ddRelated')}: ${placed.length}` });
  g.dataset.nodes = String(placed.length);
  g.append(svg('ellipse', { cx, cy, rx: 175, ry: 110, fill: 'none', stroke: '#2b323b', 'stroke-dasharray': '4 6' }));
  if (hop2.length) g.append(svg('ellipse', { cx, cy, rx: 305, ry: 185, fill: 'none', stroke: '#2b323b', 'stroke-dasharray': '4 6' }));
  const edges = svg('g'), nodes = svg('g');
  for (const c of placed) {
    const to = pos.get(c.uscc);
    const kinds = new Map();
    for (const l of arr(c.links)) {
      const from = pos.has(l.via) && l.via !== c.uscc ? l.via : center.uscc;
      const key = from + '|' + l.kind;
      if (!kinds.has(key)) kinds.set(key, { from, kind: l.kind, labels: [] });
      kinds.get(key).labels.push(l.label_zh || t('link', l.kind));
    }
    if (!kinds.size) kinds.set(center.uscc + '|', { from: center.uscc, kind: '', labels: [] });
    const es = [...kinds.values()];
    es.forEach((e, i) => {
      const a = pos.get(e.from), dx = to.x - a.x, dy = to.y - a.y, len = Math.hypot(dx, dy) || 1;
      const off = (i - (es.length - 1) / 2) * 5, ox = (-dy / len) * off, oy = (dx / len) * off;
      edges.append(svg('line', { x1: a.x + ox, y1: a.y + oy, x2: to.x + ox, y2: to.y + oy, stroke: LINK_COLORS[e.kind] || '#6b7480',
        'stroke-width': 2.5, 'stroke-opacity': 0.85 }, svg('title', {}, e.labels.join('\n'))));
    });
    const r = 8 + 10 * ((num(c.score) ?? 0) / maxScore);
    const labelY = to.y >= cy ? to.y + r + 15 : to.y - r - 7;
    const node = svg('g', { class: 'gnode', tabindex: 0, role: 'button', 'data-uscc': c.uscc, 'data-testid': 'related-node',
      'aria-label': `${c.name || ''} ${c.uscc}` },
    svg('title', {}, [c.name, c.uscc, ...arr(c.links).map(l => l.label_zh || t('link', l.kind))].filter(Boolean).join('\n')),
    svg('circle', { cx: to.x, cy: to.y, r, fill: (c.hops ?? 1) >= 2 ? '#232a33' : '#2c3a4d', stroke: '#a3adb9', 'stroke-width': 1.5 }),
    svg('text', { x: to.x, y: labelY, 'text-anchor': 'middle', class: 'lbl' }, shortName(c.name || c.uscc.slice(-6))));
    nodes.append(node);
  }
  const cg = GRADE_COLORS[center.grade] || '#6cb6ff';
  nodes.append(svg('g', {}, svg('circle', { cx, cy, r: 22, fill: cg, stroke: '#e8ebef', 'stroke-width': 2 }),
    svg('text', { x: cx, y: cy + 6, 'text-anchor': 'middle', class: 'center-lbl', style: 'fill: #fff' }, center.grade || ''),
    svg('text', { x: cx, y: cy + 42, 'text-anchor': 'middle', class: 'center-lbl' }, shortName(center.name, 12))));
  g.append(edges, nodes);
  return g;
}
