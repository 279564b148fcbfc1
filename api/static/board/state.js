// What the board knows: its constants and the one mutable state object every module reads.
import { I18N } from './i18n.js';

export const SEVS = ['critical', 'high', 'medium', 'low', 'info'];
export const STATUSES = ['open', 'acknowledged', 'assigned', 'resolved', 'dismissed'];
export const RULE_IDS = Object.keys(I18N.zh.rules);
const DEPTS = Object.keys(I18N.zh.dept);
export const ACTIONS = { acknowledge: 'acknowledged', assign: 'assigned', resolve: 'resolved', dismiss: 'dismissed' };
export const ACTION_KEYS = { acknowledge: 'a', assign: 'g', resolve: 'r', dismiss: 'd' };
export const TERMINAL = new Set(['resolved', 'dismissed']);
export const GRADE_CUTS = [20, 40, 60];                  // upper bounds of A, B, C (rules/grading/weights.py DEFAULT_CUTOFFS)
export const GRADE_MID = { A: 10, B: 30, C: 50, D: 80 };
export const GRADE_COLORS = { A: '#30a46c', B: '#3e8ef7', C: '#ffb224', D: '#e5484d' };
export const LINK_COLORS = { legal_rep: '#e5484d', officer: '#f76b15', shareholder: '#ffb224', phone: '#6cb6ff', address: '#b69cff' };
export const PAGE = 200, ROW_CAP = 300, BACKOFF_MAX = 15000, STALE_MS = 60000, REMIND_MS = 60000, BEEP_GAP_MS = 1500;
export const GRAPH_HOP1 = 14, GRAPH_HOP2 = 16, RELATED_ROWS = 50;
export const TOKEN_KEY = 'riskwire.token', LANG_KEY = 'riskwire.lang', ASSIGNEES_KEY = 'riskwire.assignees';

export const state = {
  lang: 'zh', token: null, session: 0,           // session: bumped on sign-out so stale async work is ignored
  alerts: new Map(),                             // alert_id -> latest alert (the model)
  rows: new Map(),                               // alert_id -> row element (only the rendered ones, at most `limit`)
  expanded: new Set(), pending: new Map(), drafts: new Map(), msgs: new Map(),
  counts: {}, matchCount: 0, left: 0, limit: ROW_CAP, cursor: undefined, loadingOlder: false,
  lastSeq: null, ws: null, conn: 'disconnected', retry: 0, retryTimer: null, watchdog: null,
  filters: { rule: '', severity: '', status: '', department: '', text: '' },
  depts: new Set(DEPTS), assignees: [],
  audio: null, lastBeep: 0, critical: [], newer: 0, unseen: 0, scrolled: false,
  dd: { stack: [], gen: 0, last: null },
};
