// GitHub sends bodies up to 25 MB and never retries a refused delivery, so a GitHub source without
// its own max_body_bytes takes bodies up to 25 MiB (within INGEST_BODY_BUDGET_BYTES) rather than
// MAX_BODY_BYTES: a 2 MiB push is stored, not answered a final 413. Other providers keep
// MAX_BODY_BYTES, and a source's own max_body_bytes still wins.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { shopifyHeaders } from './helpers/signers';

const MiB = 1024 * 1024;
const SECRET = 'github-body-limit-secret';

/** A push-shaped JSON body of exactly `bytes` bytes. */
function pushBody(bytes: number): Buffer {
  const head = '{"ref":"refs/heads/main","commits":"';
  const pad = randomBytes(bytes)
    .toString('base64')
    .slice(0, bytes - head.length - 2);
  return Buffer.from(`${head}${pad}"}`);
}

/** POSTs on a connection of its own; the answer's status and error code (a refusal may close it early). */
function postOnce(url: string, headers: Record<string, string>, body: Buffer, declaredBytes = body.length) {
  return new Promise<{ status: number; code?: string; message?: string }>((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { ...headers, 'content-length': declaredBytes } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString()) as { error?: { code: string; message: string } };
          resolve({ status: res.statusCode!, code: json.error?.code, message: json.error?.message });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    // A declared length larger than the bytes sent: the refusal comes from the header alone.
    if (declaredBytes === body.length) req.end(body);
    else req.write(body);
  });
}

const githubHeaders = async (body: Buffer, delivery: string) => ({
  'content-type': 'application/json',
  'user-agent': 'GitHub-Hookshot/044aadd',
  'x-github-event': 'push',
  'x-github-delivery': delivery,
  'x-hub-signature-256': await sign(SECRET, body.toString('utf8')),
});

describe.each(databaseKinds())('a GitHub source without max_body_bytes (%s)', (kind) => {
  let gw: TestGateway;
  let small: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'github', provider: 'github', secrets: [SECRET] },
          { name: 'github-own', provider: 'github', secrets: [SECRET], max_body_bytes: MiB },
        ],
      },
      {},
    );
    // MAX_BODY_BYTES stays at its default, 1 MiB.
    gw = await startTestGateway(kind, { sources });
    small = await startTestGateway(kind, { sources, ingestBodyBudgetBytes: 4 * MiB });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await small?.stop();
  });

  it('stores a 2 MiB delivery byte for byte, where MAX_BODY_BYTES (1 MiB) would refuse it', async () => {
    const body = pushBody(2 * MiB);
    const answer = await postOnce(`${gw.url}/api/webhooks/github`, await githubHeaders(body, 'big-1'), body);
    expect(answer.status).toBe(200);
    const list = await fetch(`${gw.url}/api/events?source=github`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    const [event] = ((await list.json()) as { events: { id: string; size_bytes: number }[] }).events;
    expect(event!.size_bytes).toBe(body.length);
    const raw = await fetch(`${gw.url}/api/events/${event!.id}`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    const detail = (await raw.json()) as { body: { encoding: string; data: string } };
    expect(Buffer.from(detail.body.data, detail.body.encoding as BufferEncoding).equals(body)).toBe(true);
  });

  it('refuses a body over 25 MiB from its declared length, naming the setting', async () => {
    const body = Buffer.from('{}');
    const answer = await postOnce(
      `${gw.url}/api/webhooks/github`,
      await githubHeaders(body, 'huge-1'),
      body,
      25 * MiB + 1,
    );
    expect(answer).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(answer.message).toContain(`limit of ${25 * MiB} bytes for source "github"`);
    expect(answer.message).toContain('set its max_body_bytes');
  });

  it("keeps a source's own max_body_bytes and other providers' MAX_BODY_BYTES", async () => {
    const body = pushBody(2 * MiB);
    const own = await postOnce(`${gw.url}/api/webhooks/github-own`, await githubHeaders(body, 'own-1'), body);
    expect(own).toMatchObject({ status: 413, code: 'payload_too_large' });
    const shopify = await postOnce(
      `${gw.url}/api/webhooks/shopify`,
      shopifyHeaders(SECRETS.shopify, body, 's-1'),
      body,
    );
    expect(shopify).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(shopify.message).toContain('MAX_BODY_BYTES');
  });

  it('within a smaller INGEST_BODY_BUDGET_BYTES, takes at most the budget (413 above it, not 503 for ever)', async () => {
    const fits = pushBody(3 * MiB);
    expect((await postOnce(`${small.url}/api/webhooks/github`, await githubHeaders(fits, 'b-1'), fits)).status).toBe(
      200,
    );
    const body = Buffer.from('{}');
    const over = await postOnce(
      `${small.url}/api/webhooks/github`,
      await githubHeaders(body, 'b-2'),
      body,
      4 * MiB + 1,
    );
    expect(over).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(over.message).toContain(`limit of ${4 * MiB} bytes`);
  });
});
