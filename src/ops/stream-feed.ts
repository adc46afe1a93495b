import { z } from 'zod';
import type { ArrivalQueries, ArrivalRow } from '../store/arrivals';
import type { EventNotification } from '../worker/notifications';
import type { EventBus } from './event-bus';
import { filterText } from './schema-fields';
import { shownHeaders } from './shown-headers';
import { shown, type SourceMask } from './source-mask';

/** The stream's query: the list's filters, plus what `listen` needs (the request, a resume point). */
export const StreamQuery = z.object({
  // The list's bounds (src/ops/event-schemas.ts): a NUL passed here and failed the resend's query
  // after the stream had opened, which ended it with no word to the client.
  source: filterText(200).optional(),
  status: z.enum(['received', 'completed', 'failed']).optional(),
  topic: filterText(256).optional(),
  include: z.enum(['request']).optional().describe('`request`: arrivals carry the stored body and kept headers'),
  after: z
    .string()
    .regex(/^\d{1,15}$/, 'an event id')
    .optional()
    .describe('Resend arrivals stored after this event id first (the SSE Last-Event-ID header does the same)'),
});
export type StreamFilter = z.infer<typeof StreamQuery>;

/** The stream's filter for one caller: the query, and the sources its topic filter must not match. */
export interface FeedFilter extends StreamFilter {
  /** Sources whose topic, read from a masked path, this caller may not match (src/ops/masked-filters.ts). */
  excludeSources?: readonly string[];
}

/** One message for the client: an SSE message, or a WebSocket text frame `{"event", "id", "data"}`. */
export interface StreamMessage {
  event: string;
  /** Set on arrivals only: the id to resume after. */
  id?: string;
  data: string;
}

export interface FeedDeps {
  bus: EventBus;
  arrivals: ArrivalQueries;
  /** The provider of a source (for `listen` to sign as it does); undefined for a source this process does not know. */
  providerFor: (source: string) => string | undefined;
  /** Sources with masked fields never show their body on the stream, nor a topic read from a masked path. */
  maskFor: (source: string) => SourceMask;
  /** Sources with masked fields (src/ops/masked-filters.ts). */
  maskedSources?: readonly string[] | (() => readonly string[]);
}

/** Notifications waiting for a slow reader; past this the client is cut off, never buffered further. */
export const MAX_QUEUED = 1000;
/** How many missed arrivals a resume resends; past it the client is told arrivals were skipped. */
export const RESUME_LIMIT = 1000;

type Arrival = Omit<ArrivalRow, 'headers' | 'body'>;

/**
 * The messages one stream client receives. Subscribes to the bus before reading missed arrivals,
 * so nothing falls between the resume and the live part; an arrival resent from the database is
 * not sent again when its live notification comes in. An arrival is a new event (received, no
 * attempt yet); retries and outcomes are sent but carry no id to resume after.
 */
export function openFeed(deps: FeedDeps, filter: FeedFilter, resumeAfter?: number) {
  const queue: EventNotification[] = [];
  const backlog: Arrival[] = [];
  const resent = new Set<number>();
  let overflowed = false;
  let announceOverflow!: () => void;
  const overflowing = new Promise<void>((resolve) => (announceOverflow = resolve));
  let wake: (() => void) | undefined;
  const wanted = (e: EventNotification) =>
    (!filter.source || e.source === filter.source) &&
    (!filter.status || e.status === filter.status) &&
    (!filter.topic || e.topic === filter.topic) &&
    !filter.excludeSources?.includes(e.source);
  const unsubscribe = deps.bus.subscribe((event) => {
    if (!wanted(event) || overflowed) return;
    if (queue.length >= MAX_QUEUED) {
      overflowed = true;
      announceOverflow();
    } else queue.push(event);
    wake?.();
  });
  let truncated = false;
  const resuming =
    resumeAfter !== undefined && (!filter.status || filter.status === 'received')
      ? // One more than is resent: exactly RESUME_LIMIT missed is not "more than" it.
        deps.arrivals.after(resumeAfter, filter, RESUME_LIMIT + 1).then((found) => {
          const rows = found.slice(0, RESUME_LIMIT);
          backlog.push(...rows);
          truncated = found.length > RESUME_LIMIT;
          for (const row of rows) resent.add(row.id);
        })
      : Promise.resolve();

  async function message<D extends { topic: string }>(
    event: string,
    arrival: Arrival | EventNotification,
    isArrival: boolean,
    data: D,
  ): Promise<StreamMessage> {
    const mask = deps.maskFor(arrival.source);
    const request = isArrival && filter.include === 'request' ? await requestOf(arrival, mask) : {};
    const shownData = { ...data, topic: shown(data.topic, mask.topic) };
    return {
      event,
      id: isArrival ? String(arrival.id) : undefined,
      data: JSON.stringify({ ...shownData, arrival: isArrival, ...request }),
    };
  }

  async function requestOf(arrival: { id: number }, mask: SourceMask) {
    if (mask.paths.length > 0) return { request: null, request_withheld: 'source has masked fields' };
    const [row] = await deps.arrivals.requests([arrival.id]);
    if (!row) return { request: null, request_withheld: 'event no longer stored' };
    return {
      request: {
        provider: deps.providerFor(row.source) ?? null,
        webhook_id: row.webhookId,
        received_at: row.receivedAt.toISOString(),
        // As the event's detail shows them: a kept header that looks like a credential is redacted.
        headers: shownHeaders(row.headers),
        body_base64: row.body.toString('base64'),
      },
    };
  }

  const registered = deps.bus.registered();

  return {
    /** Resolves when the viewer is registered (src/ops/stream-watchers.ts): send `ready` after it. */
    registered,
    get overflowed() {
      return overflowed;
    },
    /** Resolves when the client is found too slow (a write to it may still be pending). */
    overflowing,
    /** The next message, or undefined after `idleMs` with nothing to send (time for a keep-alive). */
    async next(idleMs: number): Promise<StreamMessage | undefined> {
      await resuming;
      if (truncated) {
        truncated = false;
        return {
          event: 'resume_truncated',
          data: JSON.stringify({
            resent: RESUME_LIMIT,
            message: `More than ${RESUME_LIMIT} arrivals were missed; list the rest with GET /api/events`,
          }),
        };
      }
      const missed = backlog.shift();
      if (missed) {
        const { webhookId: _w, receivedAt: _r, ...fields } = missed;
        return message('received', missed, true, { ...fields, due: false, resumed: true });
      }
      for (;;) {
        const next = queue.shift();
        if (next) {
          const isArrival = next.status === 'received' && next.attempts === 0;
          if (isArrival && resent.delete(next.id)) continue;
          return message(next.status, next, isArrival, next);
        }
        if (overflowed) return undefined;
        const waited = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), idleMs);
          timer.unref();
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = undefined;
        if (!waited) return undefined;
      }
    },
    close() {
      unsubscribe();
      wake?.();
    },
  };
}

export type Feed = ReturnType<typeof openFeed>;
