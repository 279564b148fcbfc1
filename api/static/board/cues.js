// Cues for new alerts: the title and 'new alerts' button, the critical banner and the beep.
import { $, t } from './dom.js';
import { BEEP_GAP_MS, state } from './state.js';

export function updateTitle() {
  const base = t('appTitle') + ' · riskwire';
  document.title = state.unseen ? `(${state.unseen}) ${base}` : base;
  const b = $('newer');
  b.hidden = !state.newer;
  b.textContent = state.newer ? t('newer')(state.newer) : '';
}


// ---------- critical cues ----------
export function bannerAlerts() { return state.critical.map(id => state.alerts.get(id)).filter(a => a && a.status === 'open'); }

export function renderBanner() {
  const open = bannerAlerts(), a = open[open.length - 1];
  $('banner').hidden = !a;
  if (!a) return;
  $('banner').dataset.alertId = a.alert_id;
  $('banner-title').textContent = a.title;
  $('banner-more').textContent = open.length > 1 ? t('more')(open.length - 1) : '';
}

export function hideBanner() { state.critical = []; renderBanner(); }

export function unlockAudio() {                // browsers only allow audio after a user gesture
  if (!state.audio) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    state.audio = new AC();
  }
  if (state.audio.state === 'suspended') state.audio.resume();
  $('sound-hint').hidden = true;
}

export function beep() {
  const ctx = state.audio, now = Date.now();
  if (!ctx || ctx.state !== 'running' || now - state.lastBeep < BEEP_GAP_MS) return;
  state.lastBeep = now;
  const t0 = ctx.currentTime;
  for (const off of [0, 0.28]) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t0 + off);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + off + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + off + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + off);
    osc.stop(t0 + off + 0.22);
  }
}
