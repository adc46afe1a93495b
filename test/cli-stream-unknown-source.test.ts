import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { inTurns, runCli, spawnCli, type CliProcess, type CliRun } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { opsCall, SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';

const ACME_SECRET = 'acme-unknown-source-test-secret';

// `listen --source` and `tail --source` filter the live stream by the name as typed: a misspelt
// one used to show nothing, forever. They now ask the gateway first (its GATEWAY_CONFIG and
// environment sources, and those created at runtime, all count) and stop with exit code 2 naming
// the sources it has; a token the gateway refuses is said to be why nothing was checked.
describe.each(databaseKinds())(
  'listen and tail refuse a source the gateway does not have (%s)',
  { timeout: 240_000 },
  (kind) => {
    let gw: TestGateway;
    const withToken = { OPS_API_TOKEN: SECRETS.ops };
    const noSecretShown = (...runs: CliRun[]) => {
      for (const run of runs)
        for (const secret of [ACME_SECRET, SECRETS.ops, SECRETS.shopify])
          expect(run.stdout + run.stderr).not.toContain(secret);
    };

    beforeAll(async () => {
      const keyring = loadKeyring({ key: randomBytes(32).toString('base64') });
      gw = await startTestGateway(kind, { control: { keyring, refreshMs: 5000 } }, { role: 'web' });
      const created = await opsCall(gw, 'POST', '/api/sources', {
        name: 'acme',
        provider: 'shopify',
        secrets: [ACME_SECRET],
      });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
    });

    it('a misspelt --source stops with exit 2, naming it and the sources the gateway has', async () => {
      const app = await startReceiver();
      try {
        // Before the check these streamed forever: the 30 s bound fails the test naming the command.
        const cli = (args: string[], env: Record<string, string> = withToken) =>
          runCli([...args, '--url', gw.url], env, 30_000);
        const runs = await inTurns([
          () => cli(['listen', '--forward-to', app.url, '--source', 'acme-typo']),
          () => cli(['tail', '--source', 'acme-typo']),
        ]);
        for (const run of runs) {
          expect(run.code, run.stderr).toBe(2);
          expect(run.stderr).toContain(
            `Unknown source "acme-typo": the gateway at ${gw.url} has no source of that name`,
          );
          // Runtime (acme) and environment (shopify, easypost, keycloak) sources alike.
          expect(run.stderr).toContain('Its sources: "acme", "easypost", "keycloak", "shopify"');
          expect(run.stderr).toContain('webhook-gateway sources list');
          expect(run.stdout).toBe('');
        }
        expect(app.deliveries).toEqual([]);
        noSecretShown(...runs);
      } finally {
        await app.close();
      }
    });

    it('a token the gateway refuses is named as why the source could not be checked', async () => {
      const app = await startReceiver();
      try {
        const wrong = { OPS_API_TOKEN: 'not-a-token-of-this-gateway' };
        const runs = await inTurns([
          () => runCli(['listen', '--forward-to', app.url, '--source', 'acme', '--url', gw.url], wrong, 30_000),
          () => runCli(['tail', '--source', 'acme', '--url', gw.url], wrong, 30_000),
        ]);
        for (const run of runs) {
          expect(run.code, run.stderr).toBe(1);
          expect(run.stderr).toContain('Cannot check that source "acme" exists, so nothing was started');
          expect(run.stderr).toContain('401');
          expect(run.stderr).toContain('Check --token or OPS_API_TOKEN');
          expect(run.stderr).not.toContain('not-a-token-of-this-gateway');
        }
      } finally {
        await app.close();
      }
    });

    it('a runtime source and an environment source are followed as before', async () => {
      const app = await startReceiver();
      const started: CliProcess[] = [
        spawnCli(['listen', '--forward-to', app.url, '--source', 'acme', '--url', gw.url], withToken),
        spawnCli(['tail', '--source', 'shopify', '--url', gw.url], withToken),
      ];
      try {
        const [listen, tail] = started as [CliProcess, CliProcess];
        await waitFor(() => listen.stderr().includes('Forwarding events'), 90_000, 'listen --source acme connected');
        await waitFor(() => tail.stderr().includes('Listening for events'), 90_000, 'tail --source shopify connected');
        expect(listen.stderr() + tail.stderr()).not.toContain('Unknown source');
      } finally {
        for (const run of started) run.child.kill('SIGTERM');
        const ended = await Promise.all(started.map((run) => run.exited));
        await app.close();
        noSecretShown(...ended);
      }
    });
  },
);
