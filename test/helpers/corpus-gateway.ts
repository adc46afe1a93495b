import type { IncomingHttpHeaders } from 'node:http';
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { parseSourcesDocument } from '../../src/config/file';
import { inTurns } from './cli';
import type { DatabaseKind } from './database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './gateway';
import { startReceiver } from './receiver';

// The harness of the senders' corpus tests (github-corpus*.test.ts, stripe-corpus.test.ts): a real
// gateway whose events go to a real HTTP receiver, an ops API read that keeps every number as
// written, and the exact-JSON comparisons they make.

/** The signing secret of the destinations (a Standard Webhooks `whsec_` key). */
export const DESTINATION_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** Requests in flight at once: enough to overlap the round trips, few enough for a loaded 2-core machine. */
const CONCURRENCY = 4;

/** What the tests read of `GET /api/events/{id}` (and of an export row or a conflict). */
export interface EventDetail {
  id: unknown;
  topic: string;
  webhook_id: string;
  account?: string | null;
  status: string;
  last_error: string | null;
  headers: Record<string, string>;
  payload: unknown;
  payload_unavailable: { reason: string } | null;
  /** `form_payload` when payload is the JSON a GitHub form hook's body carries. */
  payload_from?: string;
  body: { encoding: 'utf8' | 'base64'; data: string };
  deliveries: { destination: string; outcome: string }[];
}

/**
 * A JSON value re-written with every number literal as it was in the text (lossless-json keeps
 * each as its source text), so two of these are equal only when no number was rounded or reformatted.
 */
export const exactJson = (value: unknown) => losslessStringify(value) ?? '';

/** The exact form of JSON text: see exactJson. */
export const exactJsonOfText = (text: string) => exactJson(losslessParse(text));

/** A body sent and an answer read back as a Buffer of the ops API's `body` field. */
export const bodyBytes = (body: { encoding: 'utf8' | 'base64'; data: string }) =>
  Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');

const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

/** The source's events as `GET /api/events/export?format=ndjson` gives them (numbers kept exact), by id. */
export async function exportedById(url: string, source: string): Promise<Map<number, EventDetail>> {
  const response = await fetch(`${url}/api/events/export?format=ndjson&source=${source}`, {
    headers: { authorization: `Bearer ${SECRETS.ops}` },
  });
  expect(response.status).toBe(200);
  const rows = (await response.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => losslessParse(line) as EventDetail);
  return new Map(rows.map((row) => [Number(String(row.id)), row]));
}

/**
 * A real gateway with `sources` (sources-file entries, built with the receiver's URL) whose events
 * from `sinkSources` all go to the destination `sink`: a real HTTP receiver.
 */
export async function startCorpusHarness(
  kind: DatabaseKind,
  sources: (sinkUrl: string) => object[],
  sinkSources: string[],
) {
  const sink = await startReceiver();
  let gw: TestGateway;
  try {
    gw = await startTestGateway(kind, {
      sources: parseSourcesDocument({ sources: sources(sink.url) }, {}),
      destinations: [
        { name: 'sink', url: sink.url, secret: DESTINATION_SECRET, timeoutMs: 5000, sources: sinkSources },
      ],
    });
  } catch (err) {
    await sink.close();
    throw err;
  }

  /** An ops API GET, its JSON read with every number kept as written. */
  const opsGet = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } });
    const text = await response.text();
    expect(response.status, `${path}: ${text.slice(0, 200)}`).toBe(200);
    return losslessParse(text) as T;
  };

  return {
    gw,
    opsGet,
    eventDetail: (id: number) => opsGet<EventDetail>(`/api/events/${id}`),
    /** Runs `run` for every item, CONCURRENCY at a time; results in order. */
    each: <T, R>(items: readonly T[], run: (item: T) => Promise<R>) =>
      inTurns(
        items.map((item) => () => run(item)),
        CONCURRENCY,
      ),
    /** Waits until every event id of `source` is `completed` (a `failed` one fails at once). */
    allCompleted: (source: string, ids: number[]) =>
      waitFor(
        async () => {
          const { events } = await opsGet<{ events: { id: unknown; status: string }[] }>(
            `/api/events?source=${source}&limit=500`,
          );
          const status = new Map(events.map((e) => [Number(String(e.id)), e.status]));
          expect(ids.filter((id) => status.get(id) === 'failed')).toEqual([]);
          return ids.every((id) => status.get(id) === 'completed');
        },
        30_000,
        `every ${source} event completed`,
      ),
    /** The envelope `sink` got for event `id`, its signature checked with the standardwebhooks library. */
    delivered: (id: number) => {
      const got = sink.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`);
      expect(got, `event ${id} delivered`).toBeDefined();
      const text = got!.bytes.toString('utf8');
      new Webhook(DESTINATION_SECRET).verify(text, flat(got!.headers));
      return { text, envelope: losslessParse(text) as { data: unknown; [member: string]: unknown } };
    },
    /** The bodies of every request `sink` got for event `id` (one per destination that posted it). */
    sinkBodies: (id: number) =>
      sink.deliveries.filter((d) => d.headers['webhook-id'] === `evt_${id}`).map((d) => d.bytes.toString('utf8')),
    async stop() {
      await gw.stop();
      await sink.close();
    },
  };
}

export type CorpusHarness = Awaited<ReturnType<typeof startCorpusHarness>>;
