import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, opsCall, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// "Every request an ingest route refuses is recorded" (docs/operating.md#rejected-requests): a
// known source's URL with a sub-path its provider does not take, or a method other than POST, is
// refused too, and an operator must see it in the log, the metrics and the charts, not nowhere.
describe.each(databaseKinds())('refusals of a known source’s route on %s', (kind) => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(kind, {
      worker: { cron: '0 0 1 1 *' },
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 50, retentionDays: 7 },
    });
  }, 180_000);
  afterAll(() => gw?.stop());

  const metric = async (labels: string) => {
    const text = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
    ).text();
    const line = text.split('\n').find((l) => l.startsWith(`webhook_gateway_requests_total{${labels}}`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('a signed delivery to a sub-path the provider does not take: 404, recorded once as not_found', async () => {
    const body = JSON.stringify({ id: 'evt_sub', description: 'tracker.updated' });
    const signature = easypostSignature(SECRETS.easypost, body);
    const answer = await post(`${gw.url}/api/webhooks/easypost/extra`, body, { 'x-hmac-signature': signature });
    expect(answer.status).toBe(404);
    expect(answer.json.error.code).toBe('not_found');

    const rows = await waitFor(async () => {
      const { json } = await opsCall(gw, 'GET', '/api/requests?source=easypost');
      return json.requests.length > 0 ? json.requests : undefined;
    });
    expect(rows).toEqual([expect.objectContaining({ source: 'easypost', cause: 'not_found', status: 404, count: 1 })]);
    expect(JSON.stringify(rows)).not.toContain(signature.slice(16));
    expect(await metric('source="easypost",outcome="rejected",reason="not_found"')).toBe(1);
    const { json } = await opsCall(gw, 'GET', '/api/stats/series?window=1h&source=easypost');
    expect((json.series.rejected as number[]).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('a GET to a source’s URL: 405, recorded once as method_not_allowed', async () => {
    const answer = await fetch(`${gw.url}/api/webhooks/keycloak`);
    expect(answer.status).toBe(405);
    const rows = await waitFor(async () => {
      const { json } = await opsCall(gw, 'GET', '/api/requests?source=keycloak');
      return json.requests.length > 0 ? json.requests : undefined;
    });
    expect(rows).toEqual([
      expect.objectContaining({ source: 'keycloak', cause: 'method_not_allowed', status: 405, count: 1 }),
    ]);
    expect(await metric('source="keycloak",outcome="rejected",reason="method_not_allowed"')).toBe(1);
  });
});
