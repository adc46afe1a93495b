// A source's own max_body_bytes: a source set to 3 MiB takes a 2 MiB signed delivery and stores it
// byte for byte, while a source on the gateway's MAX_BODY_BYTES (1 MiB) refuses the same delivery
// with 413 before reading it (declared length) and while reading it (chunked). Set in GATEWAY_CONFIG
// and through the control plane, where it is set, cleared and refused when it cannot work.
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { loadKeyring } from '../src/control/crypto';
import { sql } from 'drizzle-orm';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds } from './helpers/database';
import { SECRETS, opsCall, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { openRequest, requestHead } from './helpers/raw-exchange';

const MiB = 1024 * 1024;
const FILE_SECRET = 'shpss_big_file_secret';

/** A Shopify delivery's headers, signed here with node:crypto (HMAC-SHA256 of the raw bytes, base64). */
const signed = (secret: string, body: Buffer, id: string) => ({
  'content-type': 'application/json',
  'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
  'x-shopify-webhook-id': id,
  'x-shopify-shop-domain': 'acme.myshopify.com',
  'x-shopify-topic': 'orders/create',
});

/** A JSON body of exactly `bytes` bytes, with multi-byte characters and random content. */
function jsonBody(bytes: number): Buffer {
  const head = Buffer.from('{"id":1,"note":"größe ✓","pad":"');
  const tail = Buffer.from('"}');
  const pad = randomBytes(bytes)
    .toString('base64')
    .slice(0, bytes - head.length - tail.length);
  return Buffer.concat([head, Buffer.from(pad), tail]);
}

/**
 * POSTs `body` on a connection of its own (a refused body leaves its connection unusable: no later
 * request may land on it), declared with Content-Length or sent chunked; the answer's status and JSON.
 */
function postOnce(url: string, headers: Record<string, string>, body: Buffer, streamed: boolean) {
  return new Promise<{ status: number; json: { error?: { code: string; message: string } } }>((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...headers, ...(streamed ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }) },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        res.on('error', reject);
      },
    );
    // A refusal may close the connection while the rest of the body is still being written.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(body);
  });
}

describe('max_body_bytes in GATEWAY_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-body-limit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const load = (maxBodyBytes: unknown, env: Record<string, string> = {}) => {
    const path = join(dir, `config-${(files += 1)}.json`);
    const source = { name: 'big', provider: 'shopify', secrets: [FILE_SECRET], max_body_bytes: maxBodyBytes };
    writeFileSync(path, JSON.stringify({ sources: [source] }));
    return loadConfig({ GATEWAY_CONFIG: path, ...env });
  };
  const refusal = (maxBodyBytes: unknown, env: Record<string, string> = {}) => {
    try {
      load(maxBodyBytes, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    return undefined;
  };

  it('is read into the source', () => {
    expect(load(25 * MiB).sources[0]!.processing.maxBodyBytes).toBe(25 * MiB);
  });

  it('over INGEST_BODY_BUDGET_BYTES is refused at start-up, naming both values', () => {
    expect(refusal(8 * MiB, { INGEST_BODY_BUDGET_BYTES: String(4 * MiB) })).toBe(
      'Invalid GATEWAY_CONFIG: source "big": max_body_bytes (8388608) must not exceed INGEST_BODY_BUDGET_BYTES ' +
        '(4194304): a body of that size never fits in the ingest body budget and would be refused with 503 on ' +
        'every retry; lower max_body_bytes or raise INGEST_BODY_BUDGET_BYTES',
    );
  });

  it('over MAX_BODY_BYTES_CEILING, or not a whole positive number, is refused', () => {
    expect(refusal(512 * MiB)).toMatch(
      /sources\[0\]\.max_body_bytes \(source "big"\): must be at most 268435456 \(MAX_BODY_BYTES_CEILING, 256 MiB\)/,
    );
    expect(refusal(0)).toMatch(/sources\[0\]\.max_body_bytes \(source "big"\): must be at least 1 byte/);
    expect(refusal(1.5)).toMatch(/sources\[0\]\.max_body_bytes \(source "big"\): must be a whole number of bytes/);
    expect(refusal('25MB')).toMatch(/sources\[0\]\.max_body_bytes \(source "big"\): must be a whole number of bytes/);
  });
});

describe.each(databaseKinds())('a source with its own max_body_bytes (%s)', (kind) => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gw-body-limit-'));
  beforeAll(async () => {
    const path = join(dir, 'gateway.json');
    writeFileSync(
      path,
      JSON.stringify({
        sources: [{ name: 'big', provider: 'shopify', secrets: [FILE_SECRET], max_body_bytes: 3 * MiB }],
      }),
    );
    const { sources } = loadConfig({ GATEWAY_CONFIG: path });
    gw = await startTestGateway(kind, {
      sources,
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
    expect(gw.config.maxBodyBytes).toBe(MiB);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const storedBody = async (source: string, id: string) => {
    const rows = await gw.query<{ body: Uint8Array }>(
      'select body from webhook_events where source = $1 and webhook_id = $2',
      [source, `acme.myshopify.com/${id}`],
    );
    return rows[0] && Buffer.from(rows[0].body);
  };
  const deliver = (source: string, secret: string, body: Buffer, id: string, streamed = false) =>
    postOnce(`${gw.url}/api/webhooks/${source}/orders/create`, signed(secret, body, id), body, streamed);

  it('takes a 2 MiB signed body and stores it byte for byte, declared or chunked', async () => {
    const body = jsonBody(2 * MiB);
    expect(await deliver('big', FILE_SECRET, body, 'big-declared')).toMatchObject({ status: 200 });
    expect((await storedBody('big', 'big-declared'))?.equals(body)).toBe(true);
    const other = jsonBody(2 * MiB);
    expect(await deliver('big', FILE_SECRET, other, 'big-chunked', true)).toMatchObject({ status: 200 });
    expect((await storedBody('big', 'big-chunked'))?.equals(other)).toBe(true);
  }, 60_000);

  it('a body over its own limit is refused 413, naming the limit and the setting', async () => {
    const res = await deliver('big', FILE_SECRET, jsonBody(3 * MiB + 1), 'big-over');
    expect(res).toEqual({
      status: 413,
      json: {
        error: {
          code: 'payload_too_large',
          message:
            'Request body exceeds the limit of 3145728 bytes set by source "big" (its max_body_bytes); ' +
            'raise its max_body_bytes to accept larger bodies',
        },
      },
    });
    expect(await storedBody('big', 'big-over')).toBeUndefined();
  }, 60_000);

  it('a source on MAX_BODY_BYTES refuses the same body before reading it (Content-Length)', async () => {
    const body = jsonBody(2 * MiB);
    const port = Number(new URL(gw.url).port);
    // Only the head is sent: the answer comes without a byte of the body.
    const request = openRequest(
      port,
      requestHead('/api/webhooks/shopify/orders/create', {
        ...signed(SECRETS.shopify, body, 'default-declared'),
        'content-length': String(body.length),
      }),
    );
    try {
      const answer = await waitFor(() => request.answer().includes('}}') && request.answer(), 10_000, 'the 413');
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain(
        '"message":"Request body exceeds the limit of 1048576 bytes (MAX_BODY_BYTES, the gateway\'s default); ' +
          'to accept larger bodies for source \\"shopify\\", set its max_body_bytes"',
      );
    } finally {
      request.socket.destroy();
    }
    expect(await storedBody('shopify', 'default-declared')).toBeUndefined();
  });

  it('a source on MAX_BODY_BYTES refuses the same body chunked, while reading it', async () => {
    const res = await deliver('shopify', SECRETS.shopify, jsonBody(2 * MiB), 'default-chunked', true);
    expect(res.status).toBe(413);
    expect(res.json.error?.message).toMatch(/^Request body exceeds the limit of 1048576 bytes \(MAX_BODY_BYTES/);
    expect(await storedBody('shopify', 'default-chunked')).toBeUndefined();
  }, 60_000);

  it('the control plane sets it, shows it, and clears it back to MAX_BODY_BYTES', async () => {
    const created = await opsCall(gw, 'POST', '/api/sources', {
      name: 'runtime',
      provider: 'shopify',
      max_body_bytes: 3 * MiB,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ max_body_bytes: 3 * MiB, spec: { max_body_bytes: 3 * MiB } });
    const secret = created.json.secret as string;
    const body = jsonBody(2 * MiB);
    expect(await deliver('runtime', secret, body, 'runtime-1')).toMatchObject({ status: 200 });
    expect((await storedBody('runtime', 'runtime-1'))?.equals(body)).toBe(true);

    const cleared = await opsCall(gw, 'PATCH', '/api/sources/runtime', { max_body_bytes: null });
    expect(cleared.status).toBe(200);
    expect(cleared.json.max_body_bytes).toBeNull();
    expect(cleared.json.spec).not.toHaveProperty('max_body_bytes');
    const refused = await deliver('runtime', secret, body, 'runtime-2');
    expect(refused.status).toBe(413);
    expect(refused.json.error?.message).toMatch(/\(MAX_BODY_BYTES, the gateway's default\); .*"runtime", set its/);

    const set = await opsCall(gw, 'PATCH', '/api/sources/runtime', { max_body_bytes: 3 * MiB });
    expect(set.json.max_body_bytes).toBe(3 * MiB);
    expect(await deliver('runtime', secret, body, 'runtime-3')).toMatchObject({ status: 200 });
    // A file source shows its limit too (its spec is not shown).
    expect((await opsCall(gw, 'GET', '/api/sources/big')).json.max_body_bytes).toBe(3 * MiB);
  }, 60_000);

  it('the control plane refuses values that cannot work with a clear 400', async () => {
    const refused = async (value: unknown) => {
      const res = await opsCall(gw, 'POST', '/api/sources', {
        name: 'bad',
        provider: 'shopify',
        max_body_bytes: value,
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_source');
      return res.json.error.message as string;
    };
    // The test gateway's INGEST_BODY_BUDGET_BYTES is the default, 64 MiB.
    expect(await refused(100 * MiB)).toBe(
      'max_body_bytes (104857600) must not exceed INGEST_BODY_BUDGET_BYTES (67108864): a body of that size never ' +
        'fits in the ingest body budget and would be refused with 503 on every retry; lower max_body_bytes or ' +
        'raise INGEST_BODY_BUDGET_BYTES',
    );
    expect(await refused(300 * MiB)).toMatch(/max_body_bytes: must be at most 268435456 \(MAX_BODY_BYTES_CEILING/);
    expect(await refused(0)).toMatch(/max_body_bytes: must be at least 1 byte/);
    expect(await refused(-5)).toMatch(/max_body_bytes: must be at least 1 byte/);
    expect(await refused(2.5)).toMatch(/max_body_bytes: must be a whole number of bytes/);
    expect(await refused('25 MB')).toMatch(/max_body_bytes: must be a whole number of bytes/);
    const patched = await opsCall(gw, 'PATCH', '/api/sources/runtime', { max_body_bytes: 100 * MiB });
    expect(patched.status).toBe(400);
    expect(patched.json.error.message).toMatch(
      /^max_body_bytes \(104857600\) must not exceed INGEST_BODY_BUDGET_BYTES/,
    );
    expect((await opsCall(gw, 'GET', '/api/sources/bad')).status).toBe(404);
  });
});

describe.each(databaseKinds())('a stored source whose max_body_bytes exceeds the budget (%s)', (kind) => {
  it('still loads at start-up, with a warning naming both values', async () => {
    const testDb = await createTestDatabase(kind);
    const database = await testDb.open();
    await runMigrations(database, testDb.url);
    // Saved while INGEST_BODY_BUDGET_BYTES was larger: the gateway below runs on the default 64 MiB.
    await database.rows(
      sql.raw(
        `insert into sources (name, provider, spec, version) values ('legacy', 'shopify', '{"max_body_bytes":${100 * MiB}}', 1)`,
      ),
    );
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway(kind, {}, { testDb });
      const res = await opsCall(gw, 'GET', '/api/sources/legacy');
      expect(res).toMatchObject({ status: 200, json: { name: 'legacy', max_body_bytes: 100 * MiB } });
      const warning = await waitFor(() =>
        gw!.logs.map((line) => JSON.parse(line)).find((entry) => entry.source === 'legacy' && entry.level === 40),
      );
      expect(warning.problem).toMatch(
        /^max_body_bytes \(104857600\) must not exceed INGEST_BODY_BUDGET_BYTES \(67108864\)/,
      );
    } finally {
      await gw?.stop();
      await testDb.drop();
    }
  }, 120_000);
});
