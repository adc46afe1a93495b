import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// Payload schema patterns are the operator's regular expressions run over the sender's strings on
// the gateway's one JS thread. `^(a+)+$` over 40 "a"s and a "!" backtracks 2^40 times on V8's
// engine (measured on this machine: 26 "a"s took 9 s, each 2 more ×4), stalling every request;
// matched by RE2 it answers at once.
const CATASTROPHIC = '^(a+)+$';
const HOSTILE = `${'a'.repeat(40)}!`;

const schema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string' },
    code: { type: 'string', pattern: CATASTROPHIC },
    sku: { type: 'string', pattern: '^[A-Z]{3}-\\d{4}$' },
    note: { type: 'string', pattern: 'ref-\\d' },
    // Names pass only if some patternProperties name matches them (a closure inside zod).
    labels: { type: 'object', patternProperties: { [CATASTROPHIC]: { type: 'string' } }, additionalProperties: false },
    tags: { type: 'object', propertyNames: { pattern: CATASTROPHIC } },
  },
};

const MASTER_KEY = randomBytes(32).toString('base64');

describe.each(databaseKinds())('payload schema patterns (%s)', (kind) => {
  let gw: TestGateway;
  let n = 0;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'shipping',
            provider: 'easypost',
            secrets: [SECRETS.easypost],
            schemas: { 'tracker.updated': schema },
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, {
      sources,
      worker: { cron: '0 0 1 1 *' },
      control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const send = async (fields: object) => {
    const body = JSON.stringify({ id: `evt_pat_${++n}`, description: 'tracker.updated', ...fields });
    const res = await post(`${gw.url}/api/webhooks/shipping`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const row = async (id: number) =>
    (
      await gw.query<{ status: string; last_error: string | null }>(
        'select status, last_error from webhook_events where id = $1',
        [id],
      )
    )[0]!;
  /** Ticks the worker until the event is settled (completed or failed). */
  const settled = async (id: number) =>
    (await waitFor(async () => {
      await gw.gateway.worker.tick();
      const r = await row(id);
      return r.status === 'completed' || r.status === 'failed' ? r : undefined;
    }))!;

  it('a hostile string against a catastrophic pattern fails its event at once, and the gateway keeps answering', async () => {
    const hostile = await send({ code: HOSTILE });
    const result = await settled(hostile);
    expect(result.status).toBe('failed');
    expect(result.last_error).toMatch(/^payload failed validation: code: .*must match the pattern/);
    expect(result.last_error).not.toContain(HOSTILE);
    // The next request is served: nothing is left spinning on the thread.
    expect((await row(await send({ code: 'aaa' }))).status).toBeDefined();
  });

  it('a hostile property name against patternProperties and propertyNames fails at once too', async () => {
    expect((await settled(await send({ labels: { [HOSTILE]: 'x' } }))).last_error).toMatch(/labels: unknown key/);
    expect((await settled(await send({ tags: { [HOSTILE]: 1 } }))).last_error).toMatch(/tags\.a+!: /);
  });

  it('valid patterns accept and reject as before: unanchored search, anchors honoured', async () => {
    expect(
      (
        await settled(
          await send({ code: 'aaaa', sku: 'ABC-1234', note: 'see ref-7 here', labels: { aa: 'x' }, tags: { a: 1 } }),
        )
      ).status,
    ).toBe('completed');
    expect((await settled(await send({ note: 'no reference' }))).last_error).toMatch(/note: .*must match the pattern/);
    expect((await settled(await send({ sku: 'ABC-12345' }))).last_error).toMatch(/sku: .*must match the pattern/);
    expect((await settled(await send({ labels: { aa: 1 } }))).last_error).toMatch(/labels\.aa: /);
  });

  it('a database source whose schema uses a lookahead or a backreference is refused with a 400 naming the pattern', async () => {
    const create = (pattern: string) =>
      fetch(`${gw.url}/api/sources`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'partner',
          provider: 'shopify',
          secrets: [`partner-${randomBytes(8).toString('hex')}`],
          schemas: { '*': { type: 'object', properties: { sku: { type: 'string', pattern } } } },
        }),
      });
    const lookahead = await create('^(?=.*\\d)[A-Z0-9]+$');
    expect(lookahead.status).toBe(400);
    expect(((await lookahead.json()) as { error: { message: string } }).error.message).toMatch(
      /schemas\.\*: not a usable JSON Schema: \/properties\/sku\/pattern: pattern "\^\(\?=\.\*\\\\d\)\[A-Z0-9\]\+\$" uses a lookahead/,
    );
    const backreference = await create('^(\\w)\\1$');
    expect(backreference.status).toBe(400);
    expect(((await backreference.json()) as { error: { message: string } }).error.message).toMatch(
      /\/properties\/sku\/pattern: .* uses a backreference/,
    );
    // A pattern RE2 runs is accepted.
    expect((await create('^[A-Z]{3}-\\d+$')).status).toBe(201);
  });
});

describe('payload schema patterns in the config file', () => {
  const parse = (pattern: string) =>
    parseSourcesDocument(
      {
        sources: [
          {
            name: 'shipping',
            provider: 'easypost',
            secrets: [SECRETS.easypost],
            schemas: { 'tracker.updated': { type: 'object', patternProperties: { [pattern]: { type: 'string' } } } },
          },
        ],
      },
      {},
    );

  it('a pattern RE2 cannot run stops the start with a message naming where it is and why', () => {
    expect(() => parse('^x-(?!internal)')).toThrow(
      /schemas\.tracker\.updated \(source "shipping"\): not a usable JSON Schema: \/patternProperties\/\^x-\(\?!internal\): pattern "\^x-\(\?!internal\)" uses a lookahead/,
    );
    expect(() => parse('(?<q>["\'])\\k<q>')).toThrow(/uses a backreference/);
    expect(() => parse('a{1001}')).toThrow(/repeats more than 1000 times/);
    expect(() => parse('[')).toThrow(/pattern "\[" is not a valid regular expression/);
  });

  it('lookbehinds RE2 can run in linear time are accepted', () => {
    expect(() => parse('(?<=^x-)[a-z]+$')).not.toThrow();
  });
});
