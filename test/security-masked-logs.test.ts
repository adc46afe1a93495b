import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// Masked payload values never reach the logs or error texts by accident (docs/security.md,
// masking). The ingest log carried the webhook id (conflict, duplicate) and the worker's attempt
// log the topic even when the source reads them from a masked path; and a failing transformation
// quoted the payload value it choked on — a masked one too — in last_error and delivery errors;
// and a destination's error answer, which echoed the request it refused, was kept as its excerpt.

const API_KEY = 'api-key-for-masked-log-tests';
const REF = 'ORD-REF-LOG-5c1d7a';
const KIND = 'kind-log-secret-93e0';
const CARD = 'card-log-secret-0b44';
const PLAIN_REF = 'plain-ref-visible-77';
const ECHOED = 'card-echoed-secret-4f2a';

describe.each(databaseKinds())('masked values in logs and error texts on %s', (kind) => {
  let gw: TestGateway;
  // A receiver refusing every delivery with 422 and the request it got, as validating APIs do.
  let echo: Server;
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (source: string, payload: unknown) => {
    const res = await post(`${gw.url}/api/webhooks/${source}`, JSON.stringify(payload), {
      'x-api-key': API_KEY,
      'content-type': 'application/json',
    });
    expect(res.status).toBe(200);
    return res.json;
  };
  const failed = (id: number) =>
    waitFor(
      async () => {
        const detail = (await api(`/api/events/${id}`)).json;
        return detail.status === 'failed' ? detail : undefined;
      },
      15_000,
      `event ${id} failed`,
    );
  const logged = (message: string) =>
    waitFor(() => gw.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === message), 10_000, message);

  beforeAll(async () => {
    echo = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => response.writeHead(422).end(`invalid: ${Buffer.concat(chunks).toString()}`));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/hooks`;
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            // Identity read from masked paths, and a transformation that casts the masked id.
            name: 'keyed',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            id_path: 'order.ref',
            topic_path: 'meta.kind',
            mask: ['order', 'meta.kind'],
            transform: { language: 'jsonata', code: '{"n": $number(body.order.ref)}' },
          },
          // No source transformation: its destination's transformation casts the masked card.
          { name: 'carded', provider: 'api-key', secrets: [API_KEY], header: 'x-api-key', mask: ['card'] },
          {
            name: 'echoed',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            mask: ['card'],
            retry: { max_attempts: 2 },
          },
          // No mask: its id is logged as sent.
          {
            name: 'plain',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            id_path: 'ref',
            retry: { max_attempts: 2 },
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      destinations: [
        {
          name: 'cast',
          // Never reached: the transformation fails before any request.
          url: 'http://127.0.0.1:9/hooks',
          secret: DESTINATION_SECRET,
          timeoutMs: 2000,
          sources: ['carded'],
          transform: {
            language: 'javascript',
            code: 'function transform(i) { throw new Error("bad card " + i.body.card); }',
          },
        },
        { name: 'echo', url: echoUrl, secret: DESTINATION_SECRET, timeoutMs: 2000, sources: ['echoed', 'plain'] },
      ],
    });
  });

  afterAll(async () => {
    await gw?.stop();
    echo?.closeAllConnections();
    await new Promise((resolve) => echo?.close(resolve));
  });

  it('a conflict, a duplicate and a failed attempt log "[masked]" for an id and topic read from masked paths', async () => {
    const body = { order: { ref: REF, total: 5 }, meta: { kind: KIND } };
    const first = await send('keyed', body);
    expect(await send('keyed', body)).toEqual({ status: 'duplicate' });
    expect(await send('keyed', { ...body, order: { ref: REF, total: 6 } })).toMatchObject({ status: 'conflict' });
    const [conflict] = await logged('conflicting copy stored');
    expect(conflict).toMatchObject({ source: 'keyed', webhookId: '[masked]', eventId: first.id });
    expect((await logged('duplicate acknowledged'))[0]).toMatchObject({ source: 'keyed', webhookId: '[masked]' });
    await failed(first.id as number);
    const [attempt] = await logged('attempt failed');
    expect(attempt).toMatchObject({ eventId: first.id, source: 'keyed', topic: '[masked]' });
    const all = gw.logs.join('\n');
    expect(all).not.toContain(REF);
    expect(all).not.toContain(KIND);
  });

  it('an unmasked source still logs its id', async () => {
    await send('plain', { ref: PLAIN_REF, v: 1 });
    await send('plain', { ref: PLAIN_REF, v: 2 });
    const lines = await logged('conflicting copy stored');
    expect(lines.some((l) => l.source === 'plain' && l.webhookId === PLAIN_REF)).toBe(true);
  });

  it("a failing transformation's error keeps its code and position but quotes no value of a masked source", async () => {
    const { id } = await send('keyed', { order: { ref: `${REF}-2` }, meta: { kind: KIND } });
    const detail = await failed(id as number);
    // Unmasked, this read: D3030: Unable to cast value to a number: "ORD-REF-LOG-5c1d7a-2" (at offset …).
    expect(detail.last_error).toMatch(/^transformation_failed: D3030: message withheld: .* \(at offset \d+\)$/);
    expect(JSON.stringify(detail)).not.toContain(REF);

    const carded = await send('carded', { card: CARD });
    const delivery = await failed(carded.id as number);
    expect(delivery.deliveries).toEqual([expect.objectContaining({ destination: 'cast', outcome: 'failed' })]);
    expect(delivery.deliveries[0].error).toMatch(
      /^transformation_failed: Error: message withheld: .* \(at line 1, column \d+\)$/,
    );
    expect(JSON.stringify(delivery)).not.toContain(CARD);

    const preview = await api('/api/destinations/cast/preview', { method: 'POST', body: { event_id: carded.id } });
    expect(preview.status).toBe(200);
    expect(preview.json.error).toMatchObject({ code: 'transformation_failed', stage: 'destination' });
    expect(JSON.stringify(preview.json)).not.toContain(CARD);
    expect(gw.logs.join('\n')).not.toContain(CARD);
  });

  it("a destination's error answer is not kept for a masked source (it may echo a masked value); its status is", async () => {
    const { id } = await send('echoed', { card: ECHOED });
    const detail = await failed(id as number);
    expect(detail.deliveries.length).toBeGreaterThan(0);
    for (const delivery of detail.deliveries)
      expect(delivery).toMatchObject({
        destination: 'echo',
        http_status: 422,
        error: 'HTTP 422: answer withheld: this source masks payload fields (docs/security.md)',
      });
    expect(JSON.stringify(detail)).not.toContain(ECHOED);
    expect(gw.logs.join('\n')).not.toContain(ECHOED);

    // A source without masks keeps the excerpt, the receiver's explanation included.
    const plain = await send('plain', { ref: 'plain-echo-1', shown: 'visible-in-answer' });
    expect((await failed(plain.id as number)).deliveries[0].error).toMatch(/^HTTP 422: invalid: .*visible-in-answer/);
  });
});
