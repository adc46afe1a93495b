import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver, type Delivery } from './helpers/receiver';

// "A 200 means the exact bytes are stored once, and every reader gets those bytes": the nastiest
// bodies senders and hostile clients produce, followed through every exit that hands bytes back
// (stored row, GET /api/events/{id}, NDJSON and CSV exports, the forwarded envelope on first
// delivery, single and bulk replay, the conflicts view), compared by sha256 with what was sent.
// Signatures are computed here with node:crypto, never by the gateway's code.

const MASTER_KEY = randomBytes(32).toString('base64');
const SOURCE_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const nest = (n: number) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => Buffer.from(p as never)));

const BODIES: Record<string, Buffer> = {
  'invalid UTF-8': bytes('{"a":"', [0xff, 0xfe, 0xc3], '"}'),
  'UTF-8 BOM': bytes([0xef, 0xbb, 0xbf], '{"a":1}'),
  'NUL bytes': Buffer.from('{"a":"x\u0000y"}\u0000'),
  'lone surrogate escapes': Buffer.from('{"s":"\\ud800","t":"\\udc00x"}'),
  'pretty-printed with CRLF and trailing whitespace': Buffer.from('{\r\n  "a": 1,\n  "b": [\n    2\n  ]\r\n}\r\n \t'),
  'numbers beyond a double': Buffer.from('{"id":12345678901234567890,"p":1.10,"e":1e400,"z":-0}'),
  'a bare -0': Buffer.from('-0'),
  'duplicate keys': Buffer.from('{"a":1,"a":2}'),
  'nested 256 levels': nest(256),
  'nested 257 levels': nest(257),
  empty: Buffer.alloc(0),
  'form-encoded': Buffer.from('payload=%7B%22a%22%3A1%7D&x=1+2'),
  'gzip, signed as sent': gzipSync('{"a":1}'),
  'Latin-1 text': bytes('{"n":"caf', [0xe9], '"}'),
  'a tab, then JSON': Buffer.from('\t{"a":1}'),
  'bytes whose base64 starts with +': Buffer.from([0xf8, 0x01, 0x02]),
  'text a spreadsheet would run': Buffer.from('=HYPERLINK("x")'),
};

const headersFor = (body: Buffer, id: string) => ({
  'x-shopify-hmac-sha256': createHmac('sha256', SOURCE_SECRET).update(body).digest('base64'),
  'x-shopify-webhook-id': id,
  'x-shopify-shop-domain': 'acme.myshopify.com',
  'x-shopify-topic': 'orders/create',
  'content-type': 'application/json',
});

/** `body` of the API's views: text or base64 (a base64 cell may carry the CSV guard's `'`, not base64). */
const viewBytes = (encoding: string, data: string) =>
  Buffer.from(encoding === 'base64' ? data.replace(/^'/, '') : data, encoding === 'base64' ? 'base64' : 'utf8');

/** The payload a Standard Webhooks envelope carries, after checking its signature independently. */
function envelopeData(delivery: Delivery, secret: string): Buffer {
  const { headers } = delivery;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = Buffer.concat([
    Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`),
    delivery.bytes,
  ]);
  const expected = createHmac('sha256', key).update(signed).digest();
  const given = Buffer.from(String(headers['webhook-signature']).slice('v1,'.length), 'base64');
  expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
  // `data` is the last member; before it only strings and null, so the first `,"data":` is it.
  const text = delivery.bytes.toString('utf8');
  const data = text.slice(text.indexOf(',"data":') + ',"data":'.length, -1);
  return data.startsWith('{"raw_base64":') ? Buffer.from(JSON.parse(data).raw_base64, 'base64') : Buffer.from(data);
}

/** RFC 4180 rows. */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') cell += text[i++];
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe.each(databaseKinds())('exact bytes, ingest to every exit (%s)', (kind) => {
  let gw: TestGateway;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  const ids = new Map<number, Buffer>();
  const api = async (path: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, path).toBeLessThan(300);
    return res.text();
  };
  const completed = () =>
    waitFor(
      async () => {
        for (const id of ids.keys())
          if (JSON.parse(await api(`/api/events/${id}`)).status !== 'completed') return false;
        return true;
      },
      20_000,
      'every event completed',
    );
  /** A new destination of the source; resolves to a check of what it received for every event. */
  const destination = async (name: string) => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const { secret } = JSON.parse(
      await api('/api/destinations', 'POST', { name, url: receiver.url, sources: ['shop'] }),
    );
    return async () => {
      await waitFor(() => receiver.deliveries.length >= ids.size, 20_000, `deliveries to ${name}`);
      for (const [id, sent] of ids) {
        const delivery = receiver.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`)!;
        expect(sha(envelopeData(delivery, secret)), `${name}: event ${id}`).toBe(sha(sent));
      }
    };
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 } });
    await api('/api/sources', 'POST', { name: 'shop', provider: 'shopify', secrets: [SOURCE_SECRET] });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('every exit hands back the bytes that were sent, byte for byte', async () => {
    const firstDelivery = await destination('first');
    for (const [name, body] of Object.entries(BODIES)) {
      const res = await fetch(`${gw.url}/api/webhooks/shop`, { method: 'POST', body, headers: headersFor(body, name) });
      expect(res.status, name).toBe(200);
      ids.set(((await res.json()) as { id: number }).id, body);
    }
    for (const [id, sent] of ids) {
      const [row] = await gw.query<{ body: Uint8Array }>('select body from webhook_events where id = $1', [id]);
      expect(sha(Buffer.from(row!.body)), `stored ${id}`).toBe(sha(sent));
      const detail = await api(`/api/events/${id}`);
      const view = JSON.parse(detail);
      expect(sha(viewBytes(view.body.encoding, view.body.data)), `api ${id}`).toBe(sha(sent));
      if (view.payload !== null) expect(detail).toContain(`"payload":${sent.toString('utf8')},`);
    }
    await firstDelivery();

    const lines = (await api('/api/events/export?source=shop')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(ids.size);
    for (const line of lines) {
      const e = JSON.parse(line);
      expect(sha(viewBytes(e.body.encoding, e.body.data)), `ndjson ${e.id}`).toBe(sha(ids.get(e.id)!));
    }
    const [columns, ...rows] = csvRows(await api('/api/events/export?source=shop&format=csv'));
    expect(rows).toHaveLength(ids.size);
    for (const cells of rows) {
      const e = Object.fromEntries(columns!.map((column, i) => [column, cells[i]!]));
      expect(sha(viewBytes(e.body_encoding!, e.body!)), `csv ${e.id}`).toBe(sha(ids.get(Number(e.id))!));
    }

    // Replays post again only to destinations that have not had the event: a new one for each.
    await completed();
    const singleReplay = await destination('single-replay');
    for (const id of ids.keys()) await api(`/api/events/${id}/replay`, 'POST');
    await singleReplay();
    await completed();
    const bulkReplay = await destination('bulk-replay');
    const bulk = JSON.parse(await api('/api/events/replay', 'POST', { filter: { source: 'shop' }, dry_run: false }));
    expect(bulk.replayed).toBe(ids.size);
    await bulkReplay();
  }, 120_000);

  it('the same id with bytes differing only in trailing whitespace or invalid UTF-8 is a conflict, kept byte for byte', async () => {
    const send = async (id: string, body: Buffer) => {
      const res = await fetch(`${gw.url}/api/webhooks/shop`, { method: 'POST', body, headers: headersFor(body, id) });
      return (await res.json()) as { status: string; event_id?: number };
    };
    const pretty = BODIES['pretty-printed with CRLF and trailing whitespace']!;
    const invalid = BODIES['invalid UTF-8']!;
    const cases: Buffer[] = [
      pretty.subarray(0, -1),
      Buffer.concat([pretty, Buffer.from('\n')]),
      bytes('{"a":"', [0xff, 0xfd, 0xc3], '"}'),
      // What a TextDecoder without `fatal` would turn the invalid bytes into.
      bytes('{"a":"', [0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd], '"}'),
    ];
    const idFor = (body: Buffer) => (cases.indexOf(body) < 2 ? 'c-pretty' : 'c-invalid');
    expect(await send('c-pretty', pretty)).toMatchObject({ status: 'accepted' });
    expect(await send('c-invalid', invalid)).toMatchObject({ status: 'accepted' });
    for (const body of cases) {
      const answer = await send(idFor(body), body);
      expect(answer.status, sha(body)).toBe('conflict');
      const { conflicts } = JSON.parse(await api(`/api/conflicts?event_id=${answer.event_id}`));
      const listed = conflicts.find((c: { content_sha256: string }) => c.content_sha256 === sha(body));
      const view = JSON.parse(await api(`/api/conflicts/${listed.id}`));
      expect(sha(viewBytes(view.body.encoding, view.body.data))).toBe(sha(body));
    }
    expect(await send('c-pretty', pretty)).toEqual({ status: 'duplicate' });
    expect(await send('c-invalid', invalid)).toEqual({ status: 'duplicate' });
  });
});
