// The filters: which alerts match them, and whether any is set.
import { arr } from './dom.js';
import { state } from './state.js';

export function matches(a) {
  const f = state.filters;
  if (f.rule && a.rule_id !== f.rule) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.status && a.status !== f.status) return false;
  if (f.department && !arr(a.departments).includes(f.department)) return false;
  if (f.text) {
    const hay = [a.title, a.subject && a.subject.id, ...arr(a.enterprises)].join(' ').toLowerCase();
    if (!hay.includes(f.text)) return false;
  }
  return true;
}

export function filtersActive() { return Object.values(state.filters).some(Boolean); }
