import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Every request body is read with a bound (docs/security.md, limits). The ops API's own bodies
// (filters, names, rules) are a few hundred bytes, but outside /api/sources and /api/destinations
// they were read whole: an operator's token could make the gateway buffer gigabytes, chunked or
// with a declared Content-Length, for a bulk replay.

const BIG = 4 * 1024 * 1024;

/** A JSON object padded with spaces to `bytes`, sent chunked (no Content-Length) or declared. */
function padded(bytes: number, chunked: boolean): { body: string | ReadableStream<Uint8Array>; duplex?: 'half' } {
  const text = `{}${' '.repeat(bytes - 2)}`;
  if (!chunked) return { body: text };
  const stream = new ReadableStream({
    start(controller) {
      for (let at = 0; at < text.length; at += 64 * 1024)
        controller.enqueue(new TextEncoder().encode(text.slice(at, at + 64 * 1024)));
      controller.close();
    },
  });
  return { body: stream, duplex: 'half' };
}

describe.each(databaseKinds())('ops API request bodies on %s', (kind) => {
  let gw: TestGateway;
  let operator: string;

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    const created = await fetch(`${gw.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bodies-operator', role: 'operator' }),
    });
    operator = ((await created.json()) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  const routes: Array<[method: string, path: string, role: 'operator' | 'admin']> = [
    ['POST', '/api/events/replay', 'operator'],
    ['POST', '/api/sps/poll', 'operator'],
    ['POST', '/api/tokens', 'admin'],
    ['POST', '/api/alerts/rules', 'admin'],
    ['PUT', '/api/alerts/rules/1', 'admin'],
    ['POST', '/api/alerts/channels', 'admin'],
    ['PUT', '/api/alerts/channels/1', 'admin'],
  ];

  it.each(routes)('%s %s refuses a 4 MiB body with 413, chunked or declared', async (method, path, role) => {
    for (const chunked of [true, false]) {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${role === 'operator' ? operator : SECRETS.ops}`,
          'content-type': 'application/json',
        },
        ...padded(BIG, chunked),
      } as RequestInit);
      const text = await res.text();
      expect(`${res.status} ${text}`, chunked ? 'chunked' : 'declared').toMatch(/^413 .*payload_too_large/);
    }
  });
});
