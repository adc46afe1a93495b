/* global URLSearchParams */
import { api } from './api.js';
import { badge, eventHref, h, navLink, notice, table, when } from './dom.js';

const FILTERS = ['source', 'status', 'topic', 'q'];
const STATUSES = ['received', 'processing', 'completed', 'failed'];

/** /ui?source=&status=&topic=&q=&cursor=&limit=: the filter form, one page of events, the pager. */
export async function renderEvents(main, params, { sources, navigate, refresh }) {
  const limit = Math.min(Math.max(Number.parseInt(params.get('limit') ?? '', 10) || 50, 1), 500);
  const field = (label, input) => h('label', {}, label, input);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
    field(
      'Source',
      h('input', { name: 'source', list: 'known-sources', value: params.get('source') ?? '', autocomplete: 'off' }),
    ),
    h(
      'datalist',
      { id: 'known-sources' },
      sources.map((s) => h('option', { value: s })),
    ),
    field(
      'Status',
      h(
        'select',
        { name: 'status' },
        h('option', { value: '' }, 'any'),
        STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s)),
      ),
    ),
    field('Topic', h('input', { name: 'topic', value: params.get('topic') ?? '', placeholder: 'orders/create' })),
    field(
      'Payload contains',
      h('input', { name: 'q', type: 'search', value: params.get('q') ?? '', placeholder: 'text in the payload' }),
    ),
    h('button', { type: 'submit' }, 'Apply'),
    h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/ui') }, 'Clear'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    if (params.has('limit')) next.set('limit', String(limit));
    navigate(`/ui${next.size ? `?${next}` : ''}`);
  });

  const results = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading events…'));
  const fresh = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Events'), form, fresh, results);

  const query = new URLSearchParams();
  for (const name of [...FILTERS, 'cursor']) if (params.get(name)) query.set(name, params.get(name));
  query.set('limit', String(limit));
  const rows = new Map();
  try {
    const page = await api(`/api/events?${query}`);
    results.replaceChildren(eventsTable(page.events, rows), pager(params, page.next_cursor));
  } catch (err) {
    results.replaceChildren(notice('error', err.message));
  }
  results.setAttribute('aria-busy', 'false');

  // Events that arrived after this page was loaded and belong on it (first page only).
  const arrived = new Set();
  const belongs = (event) =>
    !params.get('cursor') &&
    (!params.get('source') || event.source === params.get('source')) &&
    (!params.get('topic') || event.topic === params.get('topic')) &&
    (params.get('status')
      ? event.status === params.get('status')
      : event.status === 'received' && event.attempts === 0);

  return {
    /** A streamed event updates its row in place, or is counted as new with a button to show it. */
    onLive(event) {
      const row = rows.get(event.id);
      if (row) {
        row.status.replaceChildren(badge(event.status));
        row.attempts.textContent = row.attempts.textContent.replace(/^\d+/, String(event.attempts));
        return;
      }
      if (!belongs(event) || arrived.has(event.id)) return;
      arrived.add(event.id);
      const n = arrived.size;
      fresh.replaceChildren(
        h(
          'button',
          { type: 'button', class: 'secondary new-events', onclick: refresh },
          `${n} new event${n === 1 ? '' : 's'}: show`,
        ),
      );
    },
  };
}

function eventsTable(events, rows) {
  if (events.length === 0) return h('p', { class: 'muted' }, 'No events match these filters.');
  return table(
    `${events.length} event${events.length === 1 ? '' : 's'}, newest first`,
    ['ID', 'Received', 'Source', 'Topic', 'Status', 'Attempts', 'Last error'],
    events.map((e) => {
      const status = h('td', { 'data-col': 'status' }, badge(e.status));
      const attempts = h('td', { class: 'num' }, `${e.attempts} / ${e.max_attempts}`);
      rows.set(e.id, { status, attempts });
      return h(
        'tr',
        { 'data-event-id': e.id },
        h('td', {}, navLink(eventHref(e.id), `#${e.id}`)),
        h('td', {}, when(e.received_at)),
        h('td', {}, e.source),
        h('td', {}, navLink(eventHref(e.id), e.topic)),
        status,
        attempts,
        h('td', { class: 'error', title: e.last_error ?? '' }, e.last_error ?? ''),
      );
    }),
  );
}

/** Keyset pages: "Older" carries next_cursor; "Newest" drops the cursor. */
function pager(params, nextCursor) {
  const withCursor = (cursor) => {
    const next = new URLSearchParams(params);
    if (cursor) next.set('cursor', cursor);
    else next.delete('cursor');
    return `/ui${next.size ? `?${next}` : ''}`;
  };
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    params.get('cursor') ? navLink(withCursor(null), '← Newest') : h('span'),
    nextCursor ? navLink(withCursor(nextCursor), 'Older events →') : h('span'),
  );
}
