// notify.js tells an operator, who may be in another tab or window, that a
// customer wrote or a query entered their pool: a short sound and a
// desktop notification, each of which they can turn off.
import { t } from './i18n.js';

const SOUND = 'switchboard.sound';
const DESKTOP = 'switchboard.desktop';
let audio;

/** soundOn and desktopOn say what the operator chose (both on at first). */
export const soundOn = () => localStorage.getItem(SOUND) !== 'off';
export const desktopOn = () => localStorage.getItem(DESKTOP) !== 'off';

/** setSound and setDesktop remember the operator's choice. */
export function setSound(on) { localStorage.setItem(SOUND, on ? 'on' : 'off'); }
export async function setDesktop(on) {
  localStorage.setItem(DESKTOP, on ? 'on' : 'off');
  if (on && 'Notification' in window && Notification.permission === 'default') {
    await Notification.requestPermission();
  }
}

function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch { /* a browser without audio still shows the notification */ }
}

/** alert signals something new; body never carries the customer's text. */
export function alert(title, body, onClick) {
  if (soundOn()) beep();
  if (desktopOn() && 'Notification' in window && Notification.permission === 'granted' && document.hidden) {
    const n = new Notification(title || t('app.name'), { body, tag: 'switchboard' });
    n.onclick = () => { window.focus(); if (onClick) onClick(); n.close(); };
  }
}
