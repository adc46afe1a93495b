/* global document, Node */
// DOM helpers. Every value from the gateway goes into the page as text (text nodes, attributes set
// with setAttribute): payloads and headers are hostile, so innerHTML is never used.

/** h('a', { href, class }, 'text', child…): an element; strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return fill(el, ...children);
}

/** Replaces el's content: nested arrays are flattened, null/undefined/false skipped, strings as text. */
export function fill(el, ...children) {
  const nodes = children.flat(Infinity).filter((child) => child !== undefined && child !== null && child !== false);
  el.replaceChildren(...nodes.map((child) => (child instanceof Node ? child : document.createTextNode(String(child)))));
  return el;
}

const KNOWN = new Set(['received', 'processing', 'completed', 'failed', 'running', 'retry', 'abandoned', 'delivered']);

/** A coloured status (or attempt outcome) badge; the word is always shown, colour only adds to it. */
export function badge(status) {
  const name = String(status);
  return h('span', { class: `badge status-${KNOWN.has(name) ? name : 'other'}` }, name);
}

const pad = (n) => String(n).padStart(2, '0');

/** A <time> in local time (2026-11-23 10:15:02), the exact UTC instant in its title. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '–');
  const d = new Date(iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso }, text);
}

/** 12 ms, 1.4 s, 3.2 min. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A status line: role=alert for errors (read out at once), role=status otherwise. */
export function notice(kind, text) {
  return h('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A table with a caption, header cells and rows of cells (strings or nodes). */
export function table(caption, headers, rows) {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((name) => h('th', { scope: 'col' }, name)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/** Link inside the UI: navigated without a page load (see app.js). */
export const navLink = (href, ...children) => h('a', { href, 'data-nav': true }, ...children);

export const eventHref = (id) => `/ui/events/${encodeURIComponent(String(id))}`;
