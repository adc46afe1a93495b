import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pollSourcesSchema } from '../src/poll/config';
import { useCliGateway } from './helpers/control-cli-gateway';
import { SPS_ENV, spsRestSource } from './helpers/poll-sps-mocks';
import { post, shopifyHeaders } from './helpers/signers';

// The CLI as an operator runs it: real processes talking to a running gateway's ops API.
describe('sources, apply (CLI)', () => {
  // A poll source (scheduled once a year: it never runs here) takes its name as push sources do.
  const fixture = useCliGateway('control-cli', () => ({
    polls: pollSourcesSchema(SPS_ENV).parse([spsRestSource({ name: 'edi-feed', schedule: '0 0 1 1 *' })]),
  }));
  const { cli } = fixture; // the gateway and directory are read through fixture once started
  const send = (name: string, secret: string) => {
    const body = JSON.stringify({ at: Date.now() });
    return post(
      `${fixture.gw.url}/api/webhooks/${name}`,
      body,
      shopifyHeaders(secret, body, randomBytes(6).toString('hex')),
    );
  };

  it('creates a source and prints its generated secret once; list shows fingerprints only', async () => {
    const created = await cli(['sources', 'create', 'cli-made', '--provider', 'shopify']);
    expect(created.code).toBe(0);
    const secret = /^secret: (\S+)$/m.exec(created.stdout)?.[1];
    expect(secret).toBeTruthy();
    // The secret is kept (encrypted) to verify requests: a note saying otherwise would mislead.
    expect(created.stdout).toContain(
      '(shown once: give it to the provider now; the gateway keeps it encrypted and never shows it again)',
    );
    expect((await send('cli-made', secret!)).status).toBe(200);
    const list = await cli(['sources', 'list']);
    expect(list.stdout).toMatch(/cli-made\s+shopify\s+database \(api\)\s+active/);
    expect(list.stdout).toMatch(/shopify\s+shopify\s+file/);
    expect(list.stdout).not.toContain(secret);

    // pause holds what arrives (still accepted), resume says how many it held, delete removes it.
    const paused = await cli(['sources', 'pause', 'cli-made']);
    expect(paused.stdout).toMatch(/^cli-made paused \(\d+ event\(s\) on hold\)$/m);
    expect((await cli(['sources', 'list'])).stdout).toMatch(/cli-made\s+shopify\s+database \(api\)\s+paused/);
    expect((await send('cli-made', secret!)).status).toBe(200);
    const resumed = await cli(['sources', 'resume', 'cli-made']);
    expect(resumed.stdout).toMatch(/^cli-made resumed \(\d+ event\(s\) on hold\)$/m);
    expect((await cli(['sources', 'delete', 'cli-made'])).stdout).toContain('deleted cli-made');
    expect((await send('cli-made', secret!)).status).toBe(404);
  }, 120_000);

  it('--set with a value that is meant as JSON and does not parse is a usage error; a bare word is a string', async () => {
    // The closing brace left out: sent as a string, it came back as "expected object, received string".
    const typo = await cli([
      'sources',
      'create',
      'set-typo',
      '--provider',
      'shopify',
      '--set',
      'ordering={"key":{"jsonPath":"$.id"}',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--set ordering: the value is not valid JSON at character 27');
    expect((await cli(['sources', 'get', 'set-typo'])).stderr).toContain('404 source_not_found');
    // Cut off inside an object: V8's message has no position, the error still says where.
    const cut = await cli([
      'sources',
      'create',
      'set-cut',
      '--provider',
      'shopify',
      '--set',
      'rate_limit={"per_second":',
    ]);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('--set rate_limit: the value is not valid JSON at its end, character 15');

    const word = await cli(['sources', 'create', 'set-word', '--provider', 'shopify', '--set', 'dedupe=event_id']);
    expect(word.code).toBe(0);
    expect(JSON.parse((await cli(['sources', 'get', 'set-word'])).stdout).spec).toEqual({ dedupe: 'event_id' });
  }, 120_000);

  it('apply prints a plan, --dry-run changes nothing, applying twice changes nothing more, and a dropped source is deleted', async () => {
    const file = join(fixture.dir, 'gateway.yaml');
    const gitopsSecret = `gitops-${randomBytes(12).toString('hex')}`;
    writeFileSync(
      file,
      'sources:\n  - name: gitops\n    provider: shopify\n    secrets: [env:GITOPS_SECRET]\n    rate_limit: { per_second: 20 }\n',
    );
    const env = { GITOPS_SECRET: gitopsSecret };
    const dry = await cli(['apply', '-f', file, '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+ create gitops (shopify)');
    expect((await send('gitops', gitopsSecret)).status).toBe(404);

    const applied = await cli(['apply', '-f', file], env);
    expect(applied.stdout).toContain('Plan: 1 to create, 0 to change, 0 to delete.');
    expect((await send('gitops', gitopsSecret)).status).toBe(200);
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('No changes');

    writeFileSync(file, 'sources: []\n');
    const dropped = await cli(['apply', '-f', file], env);
    expect(dropped.stdout).toContain('- delete gitops');
    expect(dropped.stdout).not.toContain('cli-made'); // created through the API: not apply's to delete
    expect((await send('gitops', gitopsSecret)).status).toBe(404);
    expect(applied.stdout + dropped.stdout + dry.stdout).not.toContain(gitopsSecret);
  }, 180_000);

  it("apply -f carries a source's ordering (docs/ordering.md), stays idempotent, and list shows it", async () => {
    const file = join(fixture.dir, 'ordered.yaml');
    const entry = (onFailure: string) =>
      `sources:\n  - name: ordered\n    provider: shopify\n    secrets: [env:ORDERED_SECRET]\n    ordering: { missingKey: no_key_lane, key: { jsonPath: "$.order.id" }, onFailure: ${onFailure} }\n`;
    const env = { ORDERED_SECRET: `ordered-${randomBytes(12).toString('hex')}` };
    writeFileSync(file, entry('block'));
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('Plan: 1 to create');
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('No changes');
    expect((await cli(['sources', 'list'])).stdout).toMatch(/ordered\s+shopify.*\$\.order\.id, block, no-key lane/);
    writeFileSync(file, entry('continue'));
    const changed = await cli(['apply', '-f', file], env);
    expect(changed.stdout).toContain('ordering');
    expect((await cli(['sources', 'list'])).stdout).toMatch(/ordered\s+shopify.*\$\.order\.id, continue, no-key lane/);
  }, 180_000);

  it("apply -f keeps a secret's not_after: one past its end does not verify", async () => {
    const file = join(fixture.dir, 'ended.yaml');
    const env = {
      ENDED_SECRET: `ended-${randomBytes(12).toString('hex')}`,
      CURRENT_SECRET: `current-${randomBytes(12).toString('hex')}`,
    };
    writeFileSync(
      file,
      'sources:\n  - name: ended\n    provider: shopify\n    secrets: [{ value: env:ENDED_SECRET, not_after: "2020-01-01T00:00:00Z" }, env:CURRENT_SECRET]\n',
    );
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('Plan: 1 to create');
    expect((await send('ended', env.CURRENT_SECRET)).status).toBe(200);
    expect((await send('ended', env.ENDED_SECRET)).status).toBe(401);
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('No changes');
  }, 180_000);

  it('apply -f that brings two new secrets keeps both valid, and applying it again changes nothing', async () => {
    const file = join(fixture.dir, 'two.yaml');
    const env = {
      X: `x-${randomBytes(12).toString('hex')}`,
      A: `a-${randomBytes(12).toString('hex')}`,
      B: `b-${randomBytes(12).toString('hex')}`,
    };
    const entry = (secrets: string) => `sources:\n  - name: two\n    provider: shopify\n    secrets: [${secrets}]\n`;
    writeFileSync(file, entry('env:X'));
    expect((await cli(['apply', '-f', file], env)).code).toBe(0);
    writeFileSync(file, entry('env:A, env:B'));
    const rotated = await cli(['apply', '-f', file, '--overlap', '0'], env);
    expect(rotated.stdout).toContain('Plan: 0 to create, 2 to change');
    expect((await send('two', env.A)).status).toBe(200);
    expect((await send('two', env.B)).status).toBe(200);
    expect((await send('two', env.X)).status).toBe(401);
    expect((await cli(['apply', '-f', file, '--overlap', '0'], env)).stdout).toContain('No changes');
  }, 180_000);

  it('apply -f refuses a source with inline destinations before changing anything, dry run included', async () => {
    const file = join(fixture.dir, 'inline.yaml');
    const env = {
      OK_SECRET: `ok-${randomBytes(12).toString('hex')}`,
      INL_SECRET: `inl-${randomBytes(12).toString('hex')}`,
    };
    writeFileSync(
      file,
      [
        'sources:',
        '  - name: first-ok',
        '    provider: shopify',
        '    secrets: [env:OK_SECRET]',
        '  - name: inline-dest',
        '    provider: shopify',
        '    secrets: [env:INL_SECRET]',
        '    destinations: [{ name: erp, url: "https://erp.example.test/hooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }]',
        '',
      ].join('\n'),
    );
    const dry = await cli(['apply', '-f', file, '--dry-run'], env);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toMatch(/inline-dest.*destinations/s);
    const applied = await cli(['apply', '-f', file], env);
    expect(applied.code).toBe(2);
    expect((await send('first-ok', env.OK_SECRET)).status).toBe(404);
  }, 180_000);

  it('apply -f refuses the name of a poll source in its plan, before changing anything', async () => {
    const file = join(fixture.dir, 'poll-clash.yaml');
    const env = {
      OK_SECRET: `ok-${randomBytes(12).toString('hex')}`,
      CLASH_SECRET: `clash-${randomBytes(12).toString('hex')}`,
    };
    writeFileSync(
      file,
      [
        'sources:',
        '  - name: before-clash',
        '    provider: shopify',
        '    secrets: [env:OK_SECRET]',
        '  - name: edi-feed',
        '    provider: shopify',
        '    secrets: [env:CLASH_SECRET]',
        '',
      ].join('\n'),
    );
    const dry = await cli(['apply', '-f', file, '--dry-run'], env);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toMatch(/source "edi-feed" is the name of a poll source/);
    expect(dry.stdout).not.toContain('+ create');
    const applied = await cli(['apply', '-f', file], env);
    expect(applied.code).toBe(2);
    expect((await send('before-clash', env.OK_SECRET)).status).toBe(404);
  }, 180_000);

  it('apply -f refuses a destination attached to a source that will not exist, before changing anything', async () => {
    const file = join(fixture.dir, 'ghost.yaml');
    const env = { OK_SECRET: `ok-${randomBytes(12).toString('hex')}` };
    writeFileSync(
      file,
      [
        'sources:',
        '  - name: real-one',
        '    provider: shopify',
        '    secrets: [env:OK_SECRET]',
        'destinations:',
        '  - name: erp-ghost',
        '    url: https://erp.example.test/hooks',
        '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        '    sources: [real-one, ghost]',
        '',
      ].join('\n'),
    );
    const applied = await cli(['apply', '-f', file], env);
    expect(applied.code).toBe(2);
    expect(applied.stderr).toMatch(/destination "erp-ghost": sources: no push source named "ghost"/);
    expect((await send('real-one', env.OK_SECRET)).status).toBe(404);
  }, 180_000);
});
