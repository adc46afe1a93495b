import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { parseApiJson } from '../src/ui/app/api/json';
import { changeSummary } from '../src/ui/app/pages/audit/change-summary';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// The audit log of a destination filter on a Shopify id beyond 2^53: stored with its digits, it
// was read back through the drivers' JSON.parse and answered with c.json, so GET /api/audit (and
// the export, and the UI's audit page) showed 820982911946154508 as 820982911946154500. Real
// server, real admin token; answers read as text, since JSON.parse here would round them too.

const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const CUSTOMER = '820982911946154508';
const NEIGHBOUR = '820982911946154510';

describe.each(databaseKinds())('audit entries keep a filter’s digits (%s)', (kind) => {
  let gw: TestGateway;
  const api = async (path: string, method = 'GET', body?: string) => {
    const res = await fetch(`${gw.url}${path}`, { method, headers: auth, body });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
    const created = await api(
      '/api/destinations',
      'POST',
      `{"name": "vip", "url": "https://example.com/hook", "filter": {"body": {"customer_id": ${CUSTOMER}}}}`,
    );
    expect(created.status).toBe(201);
    const patched = await api('/api/destinations/vip', 'PATCH', `{"filter": {"body": {"customer_id": ${NEIGHBOUR}}}}`);
    expect(patched.status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('GET /api/audit shows the filter before and after a change with their digits', async () => {
    const listed = await api('/api/audit?target=destination:vip');
    expect(listed.status).toBe(200);
    expect(listed.text).toContain(`"filter":{"body":{"customer_id":${CUSTOMER}}}`);
    expect(listed.text).toContain(`"filter":{"body":{"customer_id":${NEIGHBOUR}}}`);
    expect(listed.text).not.toContain('820982911946154500');
  });

  it('the audit export (NDJSON and CSV) writes them with their digits', async () => {
    const ndjson = await api('/api/audit/export?target=destination:vip');
    expect(ndjson.status).toBe(200);
    expect(ndjson.text).toContain(`"customer_id":${CUSTOMER}`);
    expect(ndjson.text).toContain(`"customer_id":${NEIGHBOUR}`);
    const csv = await api('/api/audit/export?target=destination:vip&format=csv');
    expect(csv.text).toContain(`""customer_id"":${NEIGHBOUR}`);
    expect(ndjson.text + csv.text).not.toContain('820982911946154500');
  });

  it("the UI's audit page reads the answer and shows the change with its digits", async () => {
    const { entries } = parseApiJson((await api('/api/audit?target=destination:vip')).text) as {
      entries: { action: string; before: unknown; after: unknown }[];
    };
    const update = entries.find((e) => e.action === 'destination.update');
    expect(update).toBeDefined();
    expect(changeSummary(update!.before, update!.after)).toContain(
      `filter: {"body":{"customer_id":${CUSTOMER}}} → {"body":{"customer_id":${NEIGHBOUR}}}`,
    );
  });
});
