import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// A destination URL may carry a credential in its query (`?token=…`). Delivery errors redact it
// (test/security-destinations.test.ts), but the destination views showed the URL whole to every
// viewer and operator. Below admin, query values (names kept), user info and fragment are redacted.

const FILE_TOKEN = 'fileTok8Zq2LmW4x9Rb';
const RUNTIME_TOKEN = 'runTok3Kp7NvX1c5Ye';

describe.each(databaseKinds())('destination URLs by role on %s', (kind) => {
  let gw: TestGateway;
  const tokens: Record<'viewer' | 'operator', string> = { viewer: '', operator: '' };
  const call = async (token: string, path: string, method = 'GET') => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
      destinations: [
        {
          name: 'filed',
          url: `https://erp.example.test/hooks?token=${FILE_TOKEN}&region=eu`,
          secret: DESTINATION_SECRET,
          timeoutMs: 2000,
          sources: ['shopify'],
        },
      ],
    });
    for (const role of ['viewer', 'operator'] as const) {
      const res = await fetch(`${gw.url}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `url-${role}`, role }),
      });
      expect(res.status).toBe(201);
      tokens[role] = ((await res.json()) as { token: string }).token;
    }
    const created = await fetch(`${gw.url}/api/destinations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'billing',
        url: `https://billing.example.test/in?access_token=${RUNTIME_TOKEN}&v=2`,
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('redacts query values in the list and each destination for viewers and operators', async () => {
    for (const token of [tokens.viewer, tokens.operator]) {
      const list = await call(token, '/api/destinations');
      const filed = await call(token, '/api/destinations/filed');
      const billing = await call(token, '/api/destinations/billing');
      for (const answer of [list, filed, billing]) {
        expect(answer.status).toBe(200);
        expect(answer.text).not.toContain(FILE_TOKEN);
        expect(answer.text).not.toContain(RUNTIME_TOKEN);
      }
      expect(JSON.parse(filed.text).url).toBe('https://erp.example.test/hooks?token=[redacted]&region=[redacted]');
      expect(JSON.parse(billing.text).url).toBe('https://billing.example.test/in?access_token=[redacted]&v=[redacted]');
    }
  });

  it("redacts it in an operator's pause and resume answers", async () => {
    for (const action of ['pause', 'resume']) {
      const answer = await call(tokens.operator, `/api/destinations/billing/${action}`, 'POST');
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).not.toContain(RUNTIME_TOKEN);
    }
  });

  it('shows an admin the URL as configured', async () => {
    const filed = JSON.parse((await call(SECRETS.ops, '/api/destinations/filed')).text);
    expect(filed.url).toBe(`https://erp.example.test/hooks?token=${FILE_TOKEN}&region=eu`);
  });
});
