// What one alert says of itself: its revision (the newest wins) and whom it is assigned to.
export const rev = a => a.revision || 1;
export function newer(a, old) { return !old || rev(a) > rev(old); }

export function assigneeOf(a) {
  const v = a.assignee ?? a.assigned_to ?? a.assignee_id ?? null;
  if (v && typeof v === 'object') return v.name || v.account_id || null;
  return v;
}
