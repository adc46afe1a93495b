import { api, ApiError } from './api.js';
import { badge, duration, fill, h, navLink, notice, table, when } from './dom.js';

/** /ui/events/:id: summary, replay, payload, headers, attempt log and deliveries. */
export async function renderEvent(main, id) {
  // Everything is drawn inside root: if the operator has navigated on, a late answer lands nowhere.
  const root = h('div');
  main.replaceChildren(root);
  let message = null;
  let replaying = false;

  const draw = (e) => {
    const replay = h(
      'button',
      {
        type: 'button',
        id: 'replay',
        disabled: e.status === 'processing' || replaying,
        'aria-describedby': 'replay-help',
        onclick: () => doReplay(),
      },
      'Replay event',
    );
    fill(
      root,
      navLink('/ui', '← All events'),
      h('h1', { tabindex: '-1' }, `Event #${e.id}`, h('span', { id: 'event-status' }, badge(e.status))),
      message,
      h(
        'dl',
        { class: 'summary' },
        row('Source', e.source),
        row('Topic', e.topic),
        row('Webhook id', h('span', { class: 'mono' }, e.webhook_id)),
        e.account ? row('Account', e.account) : null,
        row('Attempts', `${e.attempts} of ${e.max_attempts}`),
        row('Received', when(e.received_at)),
        row('Processed', when(e.processed_at)),
        e.status === 'received' ? row('Next attempt', when(e.next_attempt_at)) : null,
        e.locked_by ? row('Locked by', `${e.locked_by} since `, when(e.locked_at)) : null,
        e.last_error ? row('Last error', h('span', { class: 'mono' }, e.last_error)) : null,
        row('Size', `${e.size_bytes} bytes`),
      ),
      h(
        'div',
        { class: 'actions' },
        replay,
        h(
          'span',
          { id: 'replay-help', class: 'muted' },
          e.status === 'processing'
            ? 'Being processed right now: replay it when it has finished.'
            : 'Makes the event due now. History is kept; a failed event gets a fresh set of attempts.',
        ),
      ),
      h('h2', {}, 'Payload'),
      payload(e),
      h('h2', {}, 'Headers'),
      Object.keys(e.headers).length
        ? table(
            'Headers kept with the event (signatures are never stored)',
            ['Name', 'Value'],
            Object.entries(e.headers).map(([name, value]) =>
              h('tr', {}, h('td', { class: 'mono' }, name), h('td', { class: 'mono' }, value)),
            ),
          )
        : h('p', { class: 'muted' }, 'No headers kept.'),
      h('h2', {}, 'Attempts'),
      e.attempt_log.length
        ? table(
            'Every processing attempt, oldest first',
            ['#', 'Worker', 'Started', 'Duration', 'Outcome', 'Error'],
            e.attempt_log.map((a) =>
              h(
                'tr',
                {},
                h('td', { class: 'num' }, String(a.attempt)),
                h('td', { class: 'mono' }, a.worker),
                h('td', {}, when(a.started_at)),
                h('td', { class: 'num' }, duration(a.duration_ms)),
                h('td', {}, badge(a.outcome)),
                h('td', { class: 'mono' }, a.error ?? ''),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Not processed yet.'),
      h('h2', {}, 'Deliveries'),
      e.deliveries.length
        ? table(
            'Forwarding to destinations',
            ['Destination', 'Attempt', 'Started', 'Duration', 'Outcome', 'HTTP', 'Error'],
            e.deliveries.map((d) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, d.destination),
                h('td', { class: 'num' }, String(d.attempt)),
                h('td', {}, when(d.started_at)),
                h('td', { class: 'num' }, duration(d.duration_ms)),
                h('td', {}, badge(d.outcome)),
                h('td', { class: 'num' }, d.http_status === null ? '–' : String(d.http_status)),
                h('td', { class: 'mono' }, d.error ?? ''),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No deliveries: this source forwards to no destination.'),
    );
  };

  const load = async () => {
    try {
      draw(await api(`/api/events/${id}`));
    } catch (err) {
      const text = err instanceof ApiError && err.status === 404 ? `There is no event #${id}.` : err.message;
      fill(root, navLink('/ui', '← All events'), h('h1', { tabindex: '-1' }, `Event #${id}`), notice('error', text));
    }
  };

  // Reloads never overlap; a change announced during one reload causes one more.
  let loading = null;
  let again = false;
  const reload = async () => {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })();
    await loading;
    loading = null;
  };

  const doReplay = async () => {
    replaying = true;
    root.querySelector('#replay').disabled = true;
    try {
      await api(`/api/events/${id}/replay`, { method: 'POST' });
      message = notice('ok', 'Replayed: the event is due now. This page follows it as it is processed.');
    } catch (err) {
      message = notice('error', err.message);
    }
    replaying = false;
    await reload();
  };

  fill(root, h('p', { class: 'muted' }, 'Loading event…'));
  await reload();
  return {
    /** The live stream says this event changed: show its new state. */
    onLive(event) {
      if (event.id === id) reload();
    },
  };
}

function row(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, ...value)];
}

/** Pretty JSON when the body is JSON; otherwise the body as stored (text, or base64 for bytes). */
function payload(e) {
  const note = e.body.masked ? h('p', { class: 'muted' }, 'Fields configured as sensitive are masked.') : null;
  if (e.payload !== null)
    return [
      note,
      h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Payload (JSON)' }, JSON.stringify(e.payload, null, 2)),
    ];
  const label = e.body.encoding === 'base64' ? 'Body (not text; base64)' : 'Body (not JSON)';
  return [note, h('pre', { class: 'payload', tabindex: '0', 'aria-label': label }, e.body.data)];
}
