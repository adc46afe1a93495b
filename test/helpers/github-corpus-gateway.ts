import type { IncomingHttpHeaders } from 'node:http';
import { parse as losslessParse } from 'lossless-json';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { parseSourcesDocument } from '../../src/config/file';
import { inTurns } from './cli';
import type { DatabaseKind } from './database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './gateway';
import { githubDelivery, type GithubExample } from './github-corpus';
import { startReceiver } from './receiver';
import { post } from './signers';

/** The secret of every GitHub source of the corpus tests (typed into the hook's settings). */
export const CORPUS_SECRET = 'github-corpus-secret';
/** The signing secret of the destinations (a Standard Webhooks `whsec_` key). */
export const DESTINATION_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** Requests in flight at once: enough to overlap the round trips, few enough for a loaded 2-core machine. */
const CONCURRENCY = 4;

/** What the tests read of `GET /api/events/{id}` (and of an export row or a conflict). */
export interface EventDetail {
  id: unknown;
  topic: string;
  webhook_id: string;
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

const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

/**
 * A real gateway with the source `github` (and `extraSources`, each a sources-file entry whose
 * destinations are built with the receiver's URL), whose events all go to the destination `sink`: a
 * real HTTP receiver. Returns what the corpus tests do with it.
 */
export async function startCorpusGateway(kind: DatabaseKind, extraSources: (sinkUrl: string) => object[] = () => []) {
  const sink = await startReceiver();
  let gw: TestGateway;
  try {
    const sources = parseSourcesDocument(
      {
        sources: [{ name: 'github', provider: 'github', secrets: [CORPUS_SECRET] }, ...extraSources(sink.url)],
      },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      destinations: [{ name: 'sink', url: sink.url, secret: DESTINATION_SECRET, timeoutMs: 5000, sources: ['github'] }],
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
    /** Runs `run` for every example, CONCURRENCY at a time; results in order. */
    each: <R>(items: readonly GithubExample[], run: (ex: GithubExample) => Promise<R>) =>
      inTurns(
        items.map((ex) => () => run(ex)),
        CONCURRENCY,
      ),
    /** Sends `body` as a delivery of the example's event to `source`, signed and with GitHub's headers. */
    send: async (
      ex: Pick<GithubExample, 'event'>,
      body: Buffer,
      options: Parameters<typeof githubDelivery>[3] = {},
      source = 'github',
    ) => post(`${gw.url}/api/webhooks/${source}`, body, await githubDelivery(CORPUS_SECRET, ex.event, body, options)),
    /** Waits until every event id of `github` is `completed` (a `failed` one fails at once). */
    allCompleted: (ids: number[]) =>
      waitFor(
        async () => {
          const { events } = await opsGet<{ events: { id: unknown; status: string }[] }>(
            '/api/events?source=github&limit=500',
          );
          const status = new Map(events.map((e) => [Number(String(e.id)), e.status]));
          expect(ids.filter((id) => status.get(id) === 'failed')).toEqual([]);
          return ids.every((id) => status.get(id) === 'completed');
        },
        30_000,
        'every example completed',
      ),
    /** The envelope `sink` got for event `id`, its signature checked with the standardwebhooks library. */
    delivered: (id: number) => {
      const got = sink.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`);
      expect(got, `event ${id} delivered`).toBeDefined();
      const text = got!.bytes.toString('utf8');
      new Webhook(DESTINATION_SECRET).verify(text, flat(got!.headers));
      return { text, envelope: losslessParse(text) as { data: unknown } };
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

export type CorpusGateway = Awaited<ReturnType<typeof startCorpusGateway>>;
