import { upgradeWebSocket } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { WebSocket } from 'ws';
import { badRequest } from '../errors';
import { describeIssues } from '../validation/issue-list';
import { requireRole } from './auth';
import { sourcesHiddenFromFilter } from './masked-filters';
import { openFeed, StreamQuery, type FeedDeps, type FeedFilter, type StreamFilter } from './stream-feed';

const KEEPALIVE_MS = 15_000;
/** Where the live stream answers: ours, and the path the seed names for its WebSocket. */
export const STREAM_PATHS = ['/api/events/stream', '/api/v1/webhooks/stream'] as const;
/** Close code for a WebSocket client that does not read fast enough (RFC 6455: policy violation). */
export const SLOW_CLIENT_CLOSE = 1008;
/** How long a cut-off client gets to complete the close handshake before its socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

export interface StreamDeps extends FeedDeps {
  /** Bytes a WebSocket client may leave unread before it is disconnected. */
  clientBufferBytes: number;
  /** Counts clients cut off for reading too slowly. */
  onCutOff?: (transport: 'sse' | 'websocket') => void;
}

/**
 * The live stream at /api/events/stream (and /api/v1/webhooks/stream): Server-Sent Events, or a
 * WebSocket when the request asks for an upgrade. One message per event received or finished by
 * any instance on the database (the bus is fed by PostgreSQL NOTIFY), with the list's filters.
 */
export function createStreamRoutes(deps: StreamDeps): Hono {
  const app = new Hono();
  const auth = requireRole('viewer', { queryToken: true });
  for (const path of STREAM_PATHS) {
    app.get(
      path,
      auth,
      upgradeWebSocket((c) => webSocketEvents(deps, readQuery(c, deps))),
      (c) => sse(c, deps, readQuery(c, deps)),
    );
  }
  return app;
}

/**
 * The caller's filter. Below admin, a `topic` filter does not match the sources that read the topic
 * from a masked path (and naming one in `source` is refused), as on the list: otherwise a message
 * arriving, or not, would tell whether a masked topic is the one guessed (src/ops/masked-filters.ts).
 */
function readQuery(c: Context, deps: StreamDeps): { filter: FeedFilter; after?: number } {
  const parsed = StreamQuery.safeParse(c.req.query());
  if (!parsed.success) {
    throw badRequest('invalid_request', describeIssues(parsed.error.issues, 'query'));
  }
  const excludeSources = sourcesHiddenFromFilter(c.get('identity').role, parsed.data, deps);
  const lastEventId = c.req.header('last-event-id');
  const after = parsed.data.after ?? (lastEventId && /^\d{1,15}$/.test(lastEventId) ? lastEventId : undefined);
  return { filter: { ...parsed.data, excludeSources }, after: after === undefined ? undefined : Number(after) };
}

/** Filter echoed in the `ready` message (never the token, which may be in the query). */
const shownFilter = ({ source, status, topic, include }: StreamFilter) => ({ source, status, topic, include });

/**
 * SSE: a comment line every 15 s keeps proxies open. A client too slow to take the messages is
 * sent `overflow` and disconnected once MAX_QUEUED notifications wait for it.
 */
function sse(c: Context, deps: StreamDeps, { filter, after }: { filter: FeedFilter; after?: number }) {
  return streamSSE(c, async (stream) => {
    const feed = openFeed(deps, filter, after);
    stream.onAbort(() => feed.close());
    // One reaction to the overflow, not one per message (a pending promise keeps every handler).
    let giveUp: (() => void) | undefined;
    void feed.overflowing.then(() => giveUp?.());
    try {
      await feed.registered;
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ filter: shownFilter(filter) }) });
      while (!stream.aborted && !stream.closed) {
        const message = await feed.next(KEEPALIVE_MS);
        if (message) {
          // A client that reads nothing blocks the write forever and would never see `overflow`:
          // once too slow, it gets the WebSocket's grace to take the write, then it is cut off.
          const taken = await new Promise<boolean>((resolve, reject) => {
            giveUp = () => setTimeout(() => resolve(false), CLOSE_GRACE_MS).unref();
            if (feed.overflowed) giveUp();
            stream.writeSSE(message).then(() => resolve(true), reject); // a failed write ends the stream, as before
          });
          giveUp = undefined;
          if (!taken) {
            deps.onCutOff?.('sse');
            stream.abort();
            (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing?.destroy();
            break;
          }
        } else if (feed.overflowed) {
          deps.onCutOff?.('sse');
          await stream.writeSSE({
            event: 'overflow',
            data: JSON.stringify({ message: 'Client too slow: reconnect with Last-Event-ID' }),
          });
          break;
        } else if (!stream.aborted) await stream.write(': keep-alive\n\n');
      }
    } finally {
      feed.close();
    }
  });
}

/**
 * WebSocket: each message is a text frame `{"event","id"?,"data"}` with the SSE message's fields
 * (`data` parsed). What the client leaves unread is bounded: past `clientBufferBytes` it is closed
 * with 1008 and, if it does not complete the close handshake, its socket is destroyed.
 */
function webSocketEvents(deps: StreamDeps, { filter, after }: { filter: FeedFilter; after?: number }) {
  let stop: (() => void) | undefined;
  return {
    onOpen(_event: Event, ws: { raw?: unknown }) {
      const socket = ws.raw as WebSocket;
      const feed = openFeed(deps, filter, after);
      let open = true;
      stop = () => {
        open = false;
        feed.close();
      };
      const cutOff = (code: number, reason: string) => {
        stop!();
        socket.close(code, reason);
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      };
      const send = (message: { event: string; id?: string; data?: string }) =>
        socket.send(
          `{"event":${JSON.stringify(message.event)}${message.id ? `,"id":${JSON.stringify(message.id)}` : ''}${message.data ? `,"data":${message.data}` : ''}}`,
        );
      void (async () => {
        await feed.registered;
        if (!open) return;
        send({ event: 'ready', data: JSON.stringify({ filter: shownFilter(filter) }) });
        while (open) {
          const message = await feed.next(KEEPALIVE_MS);
          if (!open) break;
          if (socket.bufferedAmount > deps.clientBufferBytes || feed.overflowed) {
            deps.onCutOff?.('websocket');
            cutOff(SLOW_CLIENT_CLOSE, 'client too slow: send buffer full');
            break;
          }
          if (message) send(message);
          else socket.ping();
        }
      })().catch(() => cutOff(1011, 'stream failed'));
    },
    onClose() {
      stop?.();
    },
  };
}
