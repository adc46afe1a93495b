import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRawHeaders } from '../src/ingest/request-headers';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { easypostSignature } from './helpers/signers';

// Ingest reads headers from Node's raw list instead of a Fetch Headers object (src/ingest/request-headers.ts):
// both must give providers the same record.
const viaFetchHeaders = (raw: string[]) => {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const record: Record<string, string> = {};
  headers.forEach((value, name) => (record[name] = value));
  return record;
};

describe('request headers from the raw list', () => {
  const name = fc.constantFrom(
    'X-Shopify-Topic',
    'x-shopify-topic',
    'User-Agent',
    'content-type',
    'X-Custom',
    'x-CUSTOM',
    'Accept',
  );
  const value = fc
    .tuple(
      fc.constantFrom('', ' ', '\t', '  \t'),
      fc.stringMatching(/^[!-~]([ -~\t]*[!-~])?$/),
      fc.constantFrom('', ' ', '\t '),
    )
    .map(([a, b, c]) => a + b + c);

  it('equals what a Fetch Headers object lists, for repeated, mixed-case and padded headers', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (pairs) => {
        const raw = pairs.flat();
        expect(fromRawHeaders(raw)).toEqual(viaFetchHeaders(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('skips HTTP/2 pseudo-headers', () => {
    expect(fromRawHeaders([':method', 'POST', ':path', '/x', 'X-A', '1'])).toEqual({ 'x-a': '1' });
  });
});

describe('through the real server', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', { secrets: { easypost: [SECRETS.easypost] } });
  });
  afterAll(() => gw?.stop());

  it('a repeated header reaches the stored event joined, as Fetch joins it', async () => {
    const body = JSON.stringify({ id: 'evt_raw_headers', object: 'Event', description: 'tracker.updated' });
    const raw = [
      'Content-Type',
      'application/json',
      'X-Hmac-Signature',
      easypostSignature(SECRETS.easypost, body),
      'User-Agent',
      'EasyPost WebHook Agent 1.0',
      'USER-AGENT',
      'second copy',
    ];
    const url = new URL(`${gw.url}/api/webhooks/easypost`);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: [...raw, 'Host', url.host, 'Content-Length', String(Buffer.byteLength(body))],
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status, answer.text).toBe(200);
    const { id } = JSON.parse(answer.text) as { id: number };
    const [row] = await gw.query<{ headers: Record<string, string> | string }>(
      'select headers from webhook_events where id = $1',
      [id],
    );
    const stored = typeof row!.headers === 'string' ? JSON.parse(row!.headers) : row!.headers;
    expect(stored['user-agent']).toBe(viaFetchHeaders(raw)['user-agent']);
    expect(stored['user-agent']).toBe('EasyPost WebHook Agent 1.0, second copy');
  });
});
