import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// A source's mask hides values from everything the ops API shows (docs/security.md, masking). The
// Keycloak audit handler wrote the system log (GET /api/system-log, viewer) from the raw body, so a
// Keycloak source's masked IP address or user name was listed and exported in clear.

const SECRET = 'kc-masked-system-log-secret';
const IP = '10.91.82.73';
const USERNAME = 'jane.masked.user';

describe.each(databaseKinds())('the system log of a masked Keycloak source on %s', (kind) => {
  let gw: TestGateway;
  const get = async (path: string) =>
    (await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })).text();

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          { name: 'kc', provider: 'keycloak', secrets: [SECRET], mask: ['authDetails.ipAddress', 'details.username'] },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('lists and exports the masked fields as "[masked]"', async () => {
    const body = JSON.stringify({
      uid: 'kc-masked-1',
      type: 'access.LOGIN',
      realmName: 'acme',
      time: Date.now(),
      authDetails: { realmId: 'acme', clientId: 'portal', userId: 'u-1', ipAddress: IP },
      details: { username: USERNAME, auth_method: 'openid-connect' },
    });
    const res = await post(`${gw.url}/api/webhooks/kc`, body, {
      'x-keycloak-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
    });
    expect(res.status).toBe(200);
    const entries = await waitFor(
      async () => {
        const page = JSON.parse(await get('/api/system-log')) as { entries: Record<string, unknown>[] };
        return page.entries.length > 0 ? page.entries : undefined;
      },
      20_000,
      'the system log entry',
    );
    expect(entries![0]).toMatchObject({ event_type: 'LOGIN', realm: 'acme', user_id: 'u-1', ip_address: '[masked]' });
    expect(entries![0]!.username).toBe('[masked]');
    const all = [
      JSON.stringify(entries),
      await get('/api/system-log/export?format=ndjson'),
      await get('/api/system-log/export?format=csv'),
    ].join('\n');
    expect(all).not.toContain(IP);
    expect(all).not.toContain(USERNAME);
  });
});
