import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayFile } from '../src/config/file';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// What a payload schema does with numbers beyond 2^53, as docs/destinations.md#payload-schemas-and-big-numbers
// states it: zod's fromJSONSchema checks the body as JSON.parse reads it, against the schema's
// numbers as the config file's JSON.parse reads them. 820982911946154508 and 820982911946154510
// are the same double, so a bound or a const cannot tell them apart. These cases pin that documented
// limit: a change that makes schemas exact has to change them and the docs together. `type:
// integer` accepts integers beyond 2^53 - 1 (zod's own integer refused them: every Shopify id
// failed its event), and still refuses a fraction.

const ID = '820982911946154508';
const SAME_DOUBLE = '820982911946154510';
const NEXT_DOUBLE = '820982911946154600';

const config = `{
  "sources": [{
    "name": "shipping", "provider": "easypost", "secrets": [${JSON.stringify(SECRETS.easypost)}],
    "schemas": {
      "bounded": {"type": "object", "properties": {"n": {"type": "number", "maximum": ${ID}}}},
      "constant": {"type": "object", "properties": {"n": {"const": ${ID}}}},
      "integer": {"type": "object", "properties": {"n": {"type": "integer"}}}
    }
  }]
}`;

describe.each(databaseKinds())('payload schemas and numbers beyond 2^53 (%s)', (kind) => {
  let gw: TestGateway;
  let n = 0;
  beforeAll(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'schema-big-')), 'gateway.json');
    writeFileSync(path, config);
    gw = await startTestGateway(kind, {
      sources: loadGatewayFile(path, {}).sources,
      worker: { cron: '0 0 1 1 *' },
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** Sends a signed EasyPost webhook of that topic with `"n": <digits>` and waits for its outcome. */
  const outcome = async (topic: string, digits: string) => {
    const body = `{"id":"evt_big_${++n}","description":"${topic}","n":${digits}}`;
    const res = await post(`${gw.url}/api/webhooks/shipping`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(res.status).toBe(200);
    const id = res.json.id as number;
    return (await waitFor(async () => {
      await gw.gateway.worker.tick();
      const [row] = await gw.query<{ status: string; last_error: string | null }>(
        'select status, last_error from webhook_events where id = $1',
        [id],
      );
      return row?.status === 'completed' || row?.status === 'failed' ? row : undefined;
    }))!;
  };

  it('a maximum beyond 2^53 is compared on the rounded value: the same double passes, the next one fails', async () => {
    expect((await outcome('bounded', ID)).status).toBe('completed');
    expect((await outcome('bounded', SAME_DOUBLE)).status).toBe('completed');
    expect((await outcome('bounded', NEXT_DOUBLE)).last_error).toMatch(
      /payload failed validation: n: must be at most /,
    );
  });

  it('a const beyond 2^53 accepts every number that rounds to the same double', async () => {
    expect((await outcome('constant', SAME_DOUBLE)).status).toBe('completed');
    expect((await outcome('constant', NEXT_DOUBLE)).status).toBe('failed');
  });

  it('type integer accepts an integer beyond 2^53 - 1 (a Shopify id) and refuses a fraction', async () => {
    expect((await outcome('integer', '9007199254740991')).status).toBe('completed');
    expect((await outcome('integer', ID)).status).toBe('completed');
    expect((await outcome('integer', '1e21')).status).toBe('completed');
    expect((await outcome('integer', '-12')).status).toBe('completed');
    expect((await outcome('integer', '12.5')).last_error).toMatch(/payload failed validation: n: /);
    expect((await outcome('integer', '"12"')).last_error).toMatch(/payload failed validation: n: /);
    expect((await outcome('bounded', '9007199254740993')).status).toBe('completed');
  });
});
