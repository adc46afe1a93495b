import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRuleInput, defaultAlertsConfig } from '../src/alerts/config';
import { carryOutAlertStep, planAlertChanges } from '../src/cli/apply-alerts';
import { createOpsClient } from '../src/cli/ops-client';
import { loadKeyring } from '../src/control/crypto';
import { runCli } from './helpers/cli';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// `apply -f` with an alerts: section, as an operator runs it: the real CLI process against a
// running gateway's ops API. Secrets come from this shell's environment and never appear in output.
describe('apply -f: alert rules and channels (CLI)', () => {
  let gw: TestGateway;
  let dir: string;
  let file: string;
  const hookSecret = (n: number) => `whsec_${Buffer.from(`apply-alert-secret-${n}-0123456789`).toString('base64')}`;
  const slackUrl = `https://hooks.slack.example/services/T000/B000/${randomBytes(8).toString('hex')}`;
  const print = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 12);
  const cli = (args: string[], env: Record<string, string>) =>
    runCli([...args, '--url', gw.url, '--token', SECRETS.ops], env, 60_000);
  const api = async (path: string, init: RequestInit = {}) =>
    (await fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
    }).then((r) => r.json())) as any;
  const write = (count: number, rules = true) =>
    writeFileSync(
      file,
      [
        'alerts:',
        '  channels:',
        '    - { name: gitops-hook, type: webhook, url: "https://ops.example/alerts", secret: env:HOOK_SECRET }',
        '    - { name: gitops-slack, type: slack, url: env:SLACK_URL }',
        rules ? '  rules:' : '  rules: []',
        ...(rules
          ? [
              '    - name: gitops-signatures',
              '      kind: signature_failures',
              `      params: { source: shopify, count: ${count} }`,
              '      channels: [gitops-hook, gitops-slack]',
            ]
          : []),
        '',
      ].join('\n'),
    );
  const outputs: string[] = [];
  const run = async (args: string[], env: Record<string, string>) => {
    const result = await cli(['apply', '-f', file, ...args], env);
    outputs.push(result.stdout, result.stderr);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apply-alerts-'));
    file = join(dir, 'gateway.yaml');
    gw = await startTestGateway('pglite', {
      control: { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 5000 },
    });
    // Made through the API, not in the file: apply leaves it alone unless --prune.
    await api('/api/alerts/rules', {
      method: 'POST',
      body: JSON.stringify({ name: 'api-made', kind: 'poll_failing' }),
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans, --dry-run changes nothing, applies, and a second apply has nothing to do', async () => {
    write(5);
    const env = { HOOK_SECRET: hookSecret(1), SLACK_URL: slackUrl };
    const dry = await run(['--dry-run'], env);
    expect(dry).toContain('+ create alert channel gitops-hook (webhook)');
    expect(dry).toContain('+ create alert channel gitops-slack (slack)');
    expect(dry).toContain('+ create alert rule gitops-signatures (signature_failures)');
    expect(dry).toContain('Alerts plan: 3 to create, 0 to change, 0 to delete.');
    expect((await api('/api/alerts/channels')).channels).toEqual([]);

    expect(await run([], env)).toContain('Applied 3 change(s).');
    const channels = (await api('/api/alerts/channels')).channels;
    expect(channels.find((c: any) => c.name === 'gitops-hook').secret_fingerprint).toBe(print(hookSecret(1)));
    const rule = (await api('/api/alerts/rules')).rules.find((r: any) => r.name === 'gitops-signatures');
    expect(rule).toMatchObject({
      params: { source: 'shopify', count: 5, minutes: 5 },
      channels: ['gitops-hook', 'gitops-slack'],
    });

    const again = await run([], env);
    expect(again).toContain('No changes: the alert rules and channels match the file.');
    expect(again).not.toContain('Applied');
  }, 180_000);

  it('a new secret and a new threshold are updates, named by field, the secret only by fingerprint', async () => {
    write(7);
    const env = { HOOK_SECRET: hookSecret(2), SLACK_URL: slackUrl };
    const plan = await run([], env);
    expect(plan).toContain(`~ update alert channel gitops-hook: secret (new secret ${print(hookSecret(2))})`);
    expect(plan).toContain('~ update alert rule gitops-signatures: params');
    expect(plan).not.toContain('gitops-slack:');
    const channels = (await api('/api/alerts/channels')).channels;
    expect(channels.find((c: any) => c.name === 'gitops-hook').secret_fingerprint).toBe(print(hookSecret(2)));
    expect(await run([], env)).toContain('No changes: the alert rules and channels match the file.');
  }, 180_000);

  it('a rule dropped from the file stays without --prune and is deleted with it, as is one made through the API', async () => {
    write(7, false);
    const env = { HOOK_SECRET: hookSecret(2), SLACK_URL: slackUrl };
    expect(await run([], env)).toContain('No changes: the alert rules and channels match the file.');
    const pruned = await run(['--prune', '--dry-run'], env);
    expect(pruned).toContain('- delete alert rule gitops-signatures');
    expect(pruned).toContain('- delete alert rule api-made');
    expect((await api('/api/alerts/rules')).rules).toHaveLength(2);
    await run(['--prune'], env);
    expect((await api('/api/alerts/rules')).rules).toEqual([]);
    expect((await api('/api/alerts/channels')).channels.map((c: any) => c.name)).toEqual([
      'gitops-hook',
      'gitops-slack',
    ]);

    const printed = outputs.join('\n');
    for (const secret of [hookSecret(1), hookSecret(2), slackUrl, new URL(slackUrl).pathname])
      expect(printed).not.toContain(secret);
  }, 180_000);

  it('a step planned from a rule someone changed since is refused (412), not written over their change', async () => {
    const created = await api('/api/alerts/rules', {
      method: 'POST',
      body: JSON.stringify({ name: 'raced', kind: 'backlog_age', params: { older_than_seconds: 60 } }),
    });
    const client = createOpsClient(gw.url, SECRETS.ops);
    const wanted = {
      ...defaultAlertsConfig(),
      rules: [alertRuleInput.parse({ name: 'raced', kind: 'backlog_age', params: { older_than_seconds: 600 } })],
    };
    const [step] = await planAlertChanges(client, wanted, false);
    expect(step).toMatchObject({ action: 'update', name: 'raced', version: 1 });
    // Between apply's plan and its step, an admin changes the rule in the UI.
    await api(`/api/alerts/rules/${created.id}`, {
      method: 'PUT',
      body: JSON.stringify({ name: 'raced', kind: 'backlog_age', params: { older_than_seconds: 120 } }),
    });
    await expect(carryOutAlertStep(client, step!)).rejects.toThrow(
      /412 version_mismatch: Alert rule "raced" changed since .* run the command again/,
    );
    expect((await api(`/api/alerts/rules/${created.id}`)).params).toEqual({ older_than_seconds: 120 });
  }, 60_000);
});
