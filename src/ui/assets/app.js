/* global document, window, location, history, URLSearchParams, setTimeout, setInterval, clearInterval */
// The UI's entry: sign-in, routing between the events list and an event's page, the stats strip
// and the live panel. Everything is read from the ops API with the bearer token.
import { api, token } from './api.js';
import { h, notice } from './dom.js';
import { renderEvent } from './event.js';
import { renderEvents } from './events.js';
import { startLive } from './live.js';
import { loadStats } from './stats.js';

const $ = (id) => document.getElementById(id);
const main = $('main');
let view = null;
let stopLive = null;
let sources = [];
let statsTimer = null;

async function refreshStats() {
  try {
    sources = await loadStats($('stats-body'));
  } catch (err) {
    $('stats-body').replaceChildren(notice('error', `Figures unavailable: ${err.message}`));
  }
}

/** Stats are refreshed every 15 s, and shortly after live events (at most once a second). */
let statsSoon = null;
const refreshStatsSoon = () => {
  statsSoon ??= setTimeout(() => {
    statsSoon = null;
    refreshStats();
  }, 1000);
};

let routed = 0;
async function route({ focus = false } = {}) {
  const current = ++routed;
  const match = /^\/ui\/events\/(\d+)\/?$/.exec(location.pathname);
  const next = match
    ? await renderEvent(main, Number(match[1]))
    : await renderEvents(main, new URLSearchParams(location.search), { sources, navigate, refresh: () => route() });
  if (current !== routed) return; // the operator navigated on meanwhile
  view = next;
  if (focus) main.querySelector('h1')?.focus();
}

function navigate(href) {
  history.pushState(null, '', href);
  route({ focus: true });
}

function setSignedIn(signedIn) {
  for (const el of document.querySelectorAll('.when-signed-in')) el.hidden = !signedIn;
}

async function showApp() {
  setSignedIn(true);
  await refreshStats();
  clearInterval(statsTimer);
  statsTimer = setInterval(refreshStats, 15_000);
  stopLive?.();
  stopLive = startLive({
    list: $('live-list'),
    empty: $('live-empty'),
    state: $('live-state'),
    onEvent: (event) => {
      view?.onLive?.(event);
      refreshStatsSoon();
    },
    onReconnect: () => {
      refreshStats();
      route();
    },
  });
  await route();
}

function showLogin(reason) {
  stopLive?.();
  stopLive = null;
  clearInterval(statsTimer);
  view = null;
  setSignedIn(false);
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
    spellcheck: 'false',
  });
  const remember = h('input', { id: 'remember', name: 'remember', type: 'checkbox' });
  const status = h('div', {}, reason ? notice('error', reason) : null);
  const form = h(
    'form',
    { 'aria-labelledby': 'login-title' },
    h('label', { for: 'token' }, 'Ops API token', input),
    h('label', { class: 'check', for: 'remember' }, remember, 'Remember on this device'),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    try {
      // Checked before it is stored: a wrong token never reaches storage.
      await api('/api/stats', { bearer: value });
    } catch (err) {
      status.replaceChildren(notice('error', err.status === 401 ? 'The gateway refused this token.' : err.message));
      input.focus();
      return;
    }
    token.set(value, remember.checked);
    showApp();
  });
  main.replaceChildren(
    h(
      'section',
      { class: 'login' },
      h('h1', { id: 'login-title', tabindex: '-1' }, 'Sign in'),
      h('p', { class: 'muted' }, 'Enter an ops API token (one of OPS_API_TOKEN). It is kept in this browser only.'),
      status,
      form,
    ),
  );
  input.focus();
}

// A refused token anywhere (it was rotated, say) signs the page out.
window.addEventListener('gateway:unauthorized', () => {
  if (!token.get()) return;
  token.clear();
  showLogin('The gateway refused the stored token. Sign in again.');
});

document.addEventListener('click', (e) => {
  const link = e.target.closest?.('a[data-nav]');
  if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  if (!token.get()) return;
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', () => token.get() && route({ focus: true }));
$('sign-out').addEventListener('click', () => {
  token.clear();
  showLogin();
});

if (token.get()) showApp();
else showLogin();
