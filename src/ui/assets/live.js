/* global AbortController, setTimeout */
import { readStream } from './api.js';
import { badge, eventHref, h, navLink } from './dom.js';

const MAX_ITEMS = 50;

/**
 * Follows /api/events/stream and lists each event in the live panel; `onEvent` gets every event
 * and `onReconnect` runs after a reconnection (events may have been missed while it was down).
 * Returns a function that stops it.
 */
export function startLive({ list, empty, state, onEvent, onReconnect }) {
  const controller = new AbortController();
  let delay = 1000;
  let connectedBefore = false;

  const setState = (text, on = false) => {
    state.textContent = text;
    state.classList.toggle('on', on);
  };

  const show = (event) => {
    empty.hidden = true;
    const time = new Date().toTimeString().slice(0, 8);
    list.prepend(
      h(
        'li',
        {},
        h('span', { class: 'mono muted' }, time),
        badge(event.status),
        navLink(eventHref(event.id), `#${event.id}`),
        h('span', { class: 'what' }, `${event.source} · ${event.topic} · attempts ${event.attempts}`),
      ),
    );
    while (list.children.length > MAX_ITEMS) list.lastElementChild.remove();
  };

  const connect = async () => {
    setState('connecting…');
    try {
      await readStream('/api/events/stream', {
        signal: controller.signal,
        onOpen: () => {
          setState('live', true);
          delay = 1000;
          if (connectedBefore) onReconnect?.();
          connectedBefore = true;
        },
        onMessage: ({ event, data }) => {
          if (event === 'ready') return;
          const parsed = JSON.parse(data);
          show(parsed);
          onEvent?.(parsed);
        },
      });
    } catch (err) {
      if (controller.signal.aborted || err?.status === 401) return;
    }
    if (controller.signal.aborted) return;
    setState(`reconnecting in ${delay / 1000} s`);
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 15_000);
  };

  connect();
  return () => controller.abort();
}
