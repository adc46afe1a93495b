import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { DESTINATION_SECRET, createDestinations } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

describe('per-source processing from the config file', () => {
  const fake = createDestinations();
  let gw: TestGateway;
  beforeAll(async () => {
    fake.server.listen({ onUnhandledRequest: 'bypass' });
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'shipping',
            provider: 'easypost',
            secrets: [SECRETS.easypost],
            destinations: [
              { name: 'erp', url: 'https://erp.example.test/hooks', secret: 'env:DEST_SECRET', timeout_ms: 2000 },
              { name: 'flaky', url: 'https://flaky.example.test/hooks', secret: DESTINATION_SECRET },
            ],
            retry: { max_attempts: 3, base_ms: 5, max_ms: 20 },
            schemas: {
              'tracker.updated': {
                type: 'object',
                required: ['id', 'result'],
                properties: {
                  id: { type: 'string' },
                  result: {
                    type: 'object',
                    required: ['tracking_code'],
                    properties: { tracking_code: { type: 'string' } },
                  },
                },
              },
            },
            tenant_context: { organization_id: 42, tenant_id: 1 },
          },
        ],
      },
      { DEST_SECRET: DESTINATION_SECRET },
    );
    gw = await startTestGateway('pglite', { sources, worker: { cron: '0 0 1 1 *' } });
  });
  afterAll(async () => {
    fake.server.close();
    await gw?.stop();
  });

  const send = async (payload: object) => {
    const body = JSON.stringify(payload);
    const res = await post(`${gw.url}/api/webhooks/shipping`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(res.json.status).toBe('accepted');
    return res.json.id as number;
  };
  const row = async (id: number) =>
    (
      await gw.query<{ status: string; attempts: number; max_attempts: number; last_error: string }>(
        'select status, attempts, max_attempts, last_error from webhook_events where id = $1',
        [id],
      )
    )[0]!;

  it('forwards to every destination in the envelope with tenant_context, retrying only the one that failed', async () => {
    const id = await send({
      id: 'evt_cfg_1',
      description: 'tracker.updated',
      result: { id: 'trk_9', tracking_code: 'EZ1' },
    });
    await waitFor(async () => {
      await gw.gateway.worker.tick();
      return (await row(id)).status === 'completed';
    });
    expect(await row(id)).toMatchObject({ attempts: 2, max_attempts: 3 });
    const [erp] = fake.received('erp').filter((r) => r.body.includes('evt_cfg_1'));
    const envelope = new Webhook(DESTINATION_SECRET).verify(erp!.body, erp!.headers) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      event_type: 'tracker.updated',
      aggregate_id: 'trk_9',
      source_service: 'shipping',
      tenant_context: { organization_id: 42, tenant_id: 1 },
    });
    expect(fake.received('erp').filter((r) => r.body.includes('evt_cfg_1'))).toHaveLength(1);
    expect(fake.received('flaky').filter((r) => r.body.includes('evt_cfg_1'))).toHaveLength(2);
  });

  it('fails a payload that does not match its JSON Schema at once', async () => {
    const id = await send({ id: 'evt_cfg_2', description: 'tracker.updated', result: {} });
    await waitFor(async () => (await row(id)).status === 'failed');
    expect(await row(id)).toMatchObject({ attempts: 1 });
    expect((await row(id)).last_error).toMatch(/^payload failed validation: result/);
  });

  it('rejects a destination secret that is not a Standard Webhooks secret, naming the field', () => {
    expect(() =>
      parseSourcesDocument(
        {
          sources: [
            {
              name: 's',
              provider: 'easypost',
              secrets: ['x'],
              destinations: [{ name: 'd', url: 'https://d.test', secret: 'plain' }],
            },
          ],
        },
        {},
      ),
    ).toThrow(/sources\[0\]\.destinations\[0\]\.secret \(source "s"\): must be a Standard Webhooks secret/);
    expect(() =>
      parseSourcesDocument(
        {
          sources: [
            {
              name: 's',
              provider: 'easypost',
              secrets: ['x'],
              destinations: [{ name: 'd', url: 'ftp://d.test', secret: DESTINATION_SECRET }],
            },
          ],
        },
        {},
      ),
    ).toThrow(/destinations\[0\]\.url/);
  });
});
