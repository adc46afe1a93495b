import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carryOut, carryOutDestination, versionsOf } from '../src/cli/apply-steps';
import { createOpsClient } from '../src/cli/ops-client';
import { loadKeyring } from '../src/control/crypto';
import { planDestinations } from '../src/control/destination-plan';
import { planApply } from '../src/control/plan';
import type { DestinationView } from '../src/control/destination-view';
import type { SourceView } from '../src/control/view';
import { opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// `apply -f` carries out its plan with the version each source and destination had when the plan
// was read, as If-Match: a change someone made in between (the UI, another apply) is refused with
// 412 instead of being overwritten by a plan that never saw it; the plan's own consecutive steps on
// one name (an update, then a new secret) go through, each with the version the previous answered.

const secret = (n: number) => `whsec_${Buffer.from(`apply-if-match-${n}-0123456789abcdef`).toString('base64')}`;

describe('apply: steps sent with If-Match', () => {
  let gw: TestGateway;
  const api = (method: string, path: string, body?: unknown) => opsCall(gw, method, path, body);
  const client = () => createOpsClient(gw.url, SECRETS.ops);
  const read = async () => ({
    sources: (await api('GET', '/api/sources')).json.sources as SourceView[],
    destinations: (await api('GET', '/api/destinations')).json.destinations as DestinationView[],
  });

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 },
    });
    expect(
      (await api('POST', '/api/sources?origin=apply', { name: 'shop', provider: 'shopify', secrets: [secret(1)] }))
        .status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/destinations?origin=apply', {
          name: 'erp',
          url: 'https://erp.example/hooks',
          secret: secret(2),
          sources: ['shop'],
        })
      ).status,
    ).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('a source changed after the plan was read is refused with 412 and keeps the other change', async () => {
    const seen = await read();
    const [step] = planApply(
      [{ name: 'shop', provider: 'shopify', spec: { mask: ['customer.one'] }, secrets: [{ value: secret(1) }] }],
      seen.sources,
    );
    expect(step).toMatchObject({ action: 'update', name: 'shop' });
    // Between the plan and its step, an admin changes the source.
    expect((await api('PATCH', '/api/sources/shop', { mask: ['customer.ui'] })).status).toBe(200);
    await expect(carryOut(client(), step!, 0, versionsOf(seen.sources))).rejects.toThrow(/412 version_mismatch/);
    expect((await api('GET', '/api/sources/shop')).json.spec.mask).toEqual(['customer.ui']);
  });

  it("a plan's update and new secret of one source both go through, the second with the first's version", async () => {
    const seen = await read();
    const steps = planApply(
      [{ name: 'shop', provider: 'shopify', spec: { mask: ['customer.two'] }, secrets: [{ value: secret(3) }] }],
      seen.sources,
    );
    expect(steps.map((s) => s.action)).toEqual(['update', 'add-secret']);
    const versions = versionsOf(seen.sources);
    for (const step of steps) await carryOut(client(), step, 0, versions);
    const stored = (await api('GET', '/api/sources/shop')).json;
    expect(stored.spec.mask).toEqual(['customer.two']);
    expect(versions.get('shop')).toBe(stored.version);
  });

  it('a destination changed after the plan was read is refused with 412; its own update and rotation go through', async () => {
    const seen = await read();
    const want = {
      name: 'erp',
      url: 'https://erp.example/v2',
      timeoutMs: 10_000,
      headers: {},
      filter: null,
      transform: null,
      rateLimit: null,
      circuit: null,
      sources: ['shop'],
      secret: secret(4),
    };
    const steps = planDestinations([want], seen.destinations);
    expect(steps.map((s) => s.action)).toContain('update');
    expect((await api('PATCH', '/api/destinations/erp', { timeout_ms: 5_000 })).status).toBe(200);
    await expect(carryOutDestination(client(), steps[0]!, versionsOf(seen.destinations))).rejects.toThrow(
      /412 version_mismatch/,
    );
    expect((await api('GET', '/api/destinations/erp')).json.url).toBe('https://erp.example/hooks');

    const fresh = await read();
    const again = planDestinations([want], fresh.destinations);
    expect(again.map((s) => s.action)).toEqual(['update', 'rotate-secret']);
    const versions = versionsOf(fresh.destinations);
    for (const step of again) await carryOutDestination(client(), step, versions);
    const stored = (await api('GET', '/api/destinations/erp')).json;
    expect([stored.url, stored.timeout_ms]).toEqual(['https://erp.example/v2', 10_000]);
  });
});
