import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES } from '../src/senders/samples';
import { runCli } from './helpers/cli';
import { startGatewayForCli } from './helpers/cli-gateway';
import { PROVIDER_SECRETS } from './helpers/provider-signers';
import type { TestGateway } from './helpers/gateway';

// Every shipped sample must be accepted by the real gateway (its own verification code) when sent
// with the secrets a developer has in the gateway's shell, and stored under the sample's topic.
describe('webhook-gateway trigger', { timeout: 180_000 }, () => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-trigger-'));
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ gw, env } = await startGatewayForCli(dir));
  }, 180_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--list shows every sample', async () => {
    const run = await runCli(['trigger', '--list'], env, 60_000);
    expect(run.code, run.stderr).toBe(0);
    for (const s of SAMPLES)
      expect(run.stdout).toMatch(
        new RegExp(`${s.provider}\\s+${s.event.replace('.', '\\.')}\\s+providers/samples/${s.file}`),
      );
  });

  it.each(SAMPLES.map((s) => [s.provider, s.event] as const))(
    '%s %s is accepted and stored under its topic, twice as two events',
    async (provider, event) => {
      const ids: number[] = [];
      for (let i = 0; i < 2; i++) {
        const run = await runCli(['trigger', provider, event, '--url', gw.url], env, 60_000);
        expect(run.code, run.stderr).toBe(0);
        ids.push(Number(/^accepted: stored as event (\d+)/m.exec(run.stdout)?.[1]));
      }
      const rows = await gw.query<{ source: string; topic: string }>(
        'select source, topic from webhook_events where id = any($1::bigint[]) order by id',
        [ids],
      );
      expect(rows).toEqual([
        { source: provider, topic: event },
        { source: provider, topic: event },
      ]);
    },
  );

  it('names the samples of a provider when the event is unknown, and refuses a source of another provider', async () => {
    const unknown = await runCli(['trigger', 'stripe', 'charge.nope', '--url', gw.url], env, 60_000);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('choose one of payment_intent.succeeded');
    const wrong = await runCli(
      ['trigger', 'stripe', 'payment_intent.succeeded', '--source', 'github', '--url', gw.url],
      env,
      60_000,
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('Source "github" verifies github deliveries, not stripe');
  });

  it("names the provider's source when it is not named like the provider (a Stripe source called billing)", async () => {
    // The shell's GATEWAY_CONFIG has one Stripe source, not named "stripe" (the gateway serves it too).
    const config = join(dir, 'only-stripe-strict.json');
    const entry = {
      name: 'stripe-strict',
      provider: 'stripe',
      secrets: [PROVIDER_SECRETS.stripeStrict],
      tolerance_seconds: 10,
    };
    writeFileSync(config, JSON.stringify({ sources: [entry] }));
    const shell = { GATEWAY_CONFIG: config };
    const unnamed = await runCli(['trigger', 'stripe', 'payment_intent.succeeded', '--url', gw.url], shell, 60_000);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('GATEWAY_CONFIG\'s stripe source is "stripe-strict": pass --source stripe-strict');
    const named = await runCli(
      ['trigger', 'stripe', 'payment_intent.succeeded', '--source', 'stripe-strict', '--url', gw.url],
      shell,
      60_000,
    );
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toMatch(/^accepted: stored as event \d+ \(stripe → POST \/api\/webhooks\/stripe-strict\)/m);
  });
});
