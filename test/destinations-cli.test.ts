import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliGateway } from './helpers/control-cli-gateway';

// `webhook-gateway destinations …` and `apply -f` with a destinations list, as an operator runs
// them: real CLI processes talking to a running gateway's ops API.
describe('destinations and apply (CLI)', () => {
  const fixture = useCliGateway('destinations-cli');
  const { cli } = fixture; // the gateway and directory are read through fixture once started

  it('creates, lists, pauses, resumes, rotates and deletes a destination; secrets are printed once', async () => {
    const created = await cli([
      'destinations',
      'create',
      'cli-erp',
      '--endpoint',
      'http://127.0.0.1:9/hooks',
      '--source',
      'shopify',
      '--header',
      'x-api-key: hdr-value-123',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const secret = /^secret: (whsec_\S+)$/m.exec(created.stdout)?.[1];
    expect(secret).toBeTruthy();
    expect(created.stdout).toContain('the gateway keeps it encrypted and never shows it again');
    const list = await cli(['destinations', 'list']);
    expect(list.stdout).toMatch(/cli-erp\s+http:\/\/127\.0\.0\.1:9\/hooks\s+database \(api\)\s+shopify\s+active/);
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).not.toContain('hdr-value-123');
    expect((await cli(['destinations', 'pause', 'cli-erp'])).stdout).toContain('cli-erp paused');
    expect((await cli(['destinations', 'list'])).stdout).toMatch(/cli-erp.*paused/);
    expect((await cli(['destinations', 'resume', 'cli-erp'])).stdout).toContain('cli-erp resumed');
    const rotated = await cli(['destinations', 'rotate-secret', 'cli-erp']);
    const fresh = /^secret: (whsec_\S+)$/m.exec(rotated.stdout)?.[1];
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(secret);
    expect((await cli(['destinations', 'delete', 'cli-erp'])).stdout).toContain('deleted cli-erp');
    expect((await cli(['destinations', 'list'])).stdout).not.toContain('cli-erp');
  }, 180_000);

  it('apply -f syncs a destinations list: plan first, idempotent, updates what changed, deletes what the file drops', async () => {
    const file = join(fixture.dir, 'gateway.yaml');
    const whsec = `whsec_${randomBytes(24).toString('base64')}`;
    const write = (url: string, withDestination = true) =>
      writeFileSync(
        file,
        [
          'sources:',
          '  - name: gitops-src',
          '    provider: shopify',
          '    secrets: [gitops-source-secret-0123456789]',
          ...(withDestination
            ? [
                'destinations:',
                '  - name: gitops-erp',
                `    url: ${url}`,
                '    secret: env:ERP_SECRET',
                '    headers: { x-api-key: env-free-value }',
                '    sources: [gitops-src]',
              ]
            : ['destinations: []']),
        ].join('\n') + '\n',
      );
    const env = { ERP_SECRET: whsec };
    write('http://127.0.0.1:9/one');
    const dry = await cli(['apply', '-f', file, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+ create destination gitops-erp (http://127.0.0.1:9/one)');
    expect((await cli(['destinations', 'list'])).stdout).not.toContain('gitops-erp');

    const applied = await cli(['apply', '-f', file], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Destinations: 1 to create, 0 to change, 0 to delete.');
    expect((await cli(['destinations', 'list'])).stdout).toMatch(
      /gitops-erp\s+http:\/\/127\.0\.0\.1:9\/one\s+database \(apply\)\s+gitops-src/,
    );
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('No changes: the destinations match the file.');

    write('http://127.0.0.1:9/two');
    expect((await cli(['apply', '-f', file], env)).stdout).toContain('~ update destination gitops-erp: url');
    const rotated = await cli(['apply', '-f', file], { ERP_SECRET: `whsec_${randomBytes(24).toString('base64')}` });
    expect(rotated.stdout).toContain('~ replace the signing secret of destination gitops-erp');

    write('', false);
    const dropped = await cli(['apply', '-f', file], env);
    expect(dropped.stdout).toContain('- delete destination gitops-erp');
    expect(applied.stdout + dropped.stdout + dry.stdout + rotated.stdout).not.toContain(whsec);
  }, 240_000);

  it('apply -f syncs a filter: kept as written, idempotent although the database reorders its keys, updated when it changes', async () => {
    const file = join(fixture.dir, 'filtered.yaml');
    const write = (limit: number | string) =>
      writeFileSync(
        file,
        [
          'sources:',
          '  - name: filtered-src',
          '    provider: shopify',
          '    secrets: [filtered-source-secret-0123456789]',
          'destinations:',
          '  - name: filtered-erp',
          '    url: http://127.0.0.1:9/filtered',
          `    secret: whsec_${randomBytes(24).toString('base64')}`,
          '    sources: [filtered-src]',
          // "topic" first: jsonb stores shorter keys first, so a naive comparison would see a change.
          `    filter: { topic: "orders/*", body: { total: { $gt: ${limit} } } }`,
        ].join('\n') + '\n',
      );
    write(100);
    const applied = await cli(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const shown = JSON.parse((await cli(['destinations', 'get', 'filtered-erp'])).stdout);
    expect(shown.filter).toEqual({ topic: 'orders/*', body: { total: { $gt: 100 } } });
    expect((await cli(['apply', '-f', file])).stdout).toContain('No changes: the destinations match the file.');
    write(200);
    expect((await cli(['apply', '-f', file])).stdout).toContain('~ update destination filtered-erp: filter');
    expect(JSON.parse((await cli(['destinations', 'get', 'filtered-erp'])).stdout).filter.body.total).toEqual({
      $gt: 200,
    });
    // A Shopify id beyond 2^53: sent, stored, shown and compared with its digits (the neighbour
    // 820982911946154510 is the same double, yet a change).
    write('820982911946154508');
    expect((await cli(['apply', '-f', file])).stdout).toContain('~ update destination filtered-erp: filter');
    expect((await cli(['destinations', 'get', 'filtered-erp'])).stdout).toContain('"$gt": 820982911946154508');
    expect((await cli(['destinations', 'list', '--json'])).stdout).toContain('"$gt": 820982911946154508');
    expect((await cli(['apply', '-f', file])).stdout).toContain('No changes: the destinations match the file.');
    write('820982911946154510');
    expect((await cli(['apply', '-f', file])).stdout).toContain('~ update destination filtered-erp: filter');
    expect((await cli(['destinations', 'get', 'filtered-erp'])).stdout).toContain('"$gt": 820982911946154510');
  }, 240_000);

  it('carries rate_limit and circuit: destinations create flags, the CIRCUIT column, apply -f idempotent and updating', async () => {
    const created = await cli([
      'destinations',
      'create',
      'guarded-cli',
      '--endpoint',
      'http://127.0.0.1:9/guarded',
      '--rate-per-second',
      '7',
      '--failure-threshold',
      '3',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const shown = JSON.parse((await cli(['destinations', 'get', 'guarded-cli'])).stdout);
    expect(shown).toMatchObject({
      rate_limit: { per_second: 7 },
      circuit: { failure_threshold: 3, cooldown_seconds: 30 },
      circuit_state: { state: 'closed' },
    });
    const bad = await cli([
      'destinations',
      'create',
      'guarded-bad',
      '--endpoint',
      'http://127.0.0.1:9/x',
      '--cooldown-seconds',
      '0',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('circuit.cooldown_seconds');
    expect((await cli(['destinations', 'list'])).stdout).toMatch(/CIRCUIT[\s\S]*guarded-cli\s.*\sclosed\s/);

    const file = join(fixture.dir, 'guarded.yaml');
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const write = (perMinute: number) =>
      writeFileSync(
        file,
        [
          'destinations:',
          '  - name: guarded-erp',
          '    url: http://127.0.0.1:9/guarded',
          `    secret: ${secret}`,
          `    rate_limit: { per_minute: ${perMinute} }`,
          '    circuit: { cooldown_seconds: 10 }',
        ].join('\n') + '\n',
      );
    write(120);
    const applied = await cli(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse((await cli(['destinations', 'get', 'guarded-erp'])).stdout)).toMatchObject({
      rate_limit: { per_minute: 120 },
      circuit: { failure_threshold: 5, cooldown_seconds: 10 },
    });
    expect((await cli(['apply', '-f', file])).stdout).toContain('No changes: the destinations match the file.');
    write(60);
    expect((await cli(['apply', '-f', file])).stdout).toContain('~ update destination guarded-erp: rate_limit');
    expect(JSON.parse((await cli(['destinations', 'get', 'guarded-erp'])).stdout).rate_limit).toEqual({
      per_minute: 60,
    });
  }, 240_000);

  it('apply -f syncs a transform: created, idempotent, updated when its code changes, refused with its position when invalid', async () => {
    const file = join(fixture.dir, 'transformed.yaml');
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const write = (code: string[]) =>
      writeFileSync(
        file,
        [
          'sources:',
          '  - name: transformed-src',
          '    provider: shopify',
          '    secrets: [transformed-source-secret-0123456789]',
          'destinations:',
          '  - name: transformed-erp',
          '    url: http://127.0.0.1:9/transformed',
          `    secret: ${secret}`,
          '    sources: [transformed-src]',
          '    transform:',
          '      language: javascript',
          '      code: |',
          ...code.map((line) => `        ${line}`),
        ].join('\n') + '\n',
      );
    write(['function transform(input) {', '  return { order: input.body.id };', '}']);
    const applied = await cli(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const shown = JSON.parse((await cli(['destinations', 'get', 'transformed-erp'])).stdout);
    expect(shown.transform).toEqual({
      language: 'javascript',
      code: 'function transform(input) {\n  return { order: input.body.id };\n}\n',
    });
    expect((await cli(['apply', '-f', file])).stdout).toContain('No changes: the destinations match the file.');
    write(['function transform(input) {', '  return { order: input.body.id, v: 2 };', '}']);
    expect((await cli(['apply', '-f', file])).stdout).toContain('~ update destination transformed-erp: transform');
    const after = JSON.parse((await cli(['destinations', 'get', 'transformed-erp'])).stdout);
    expect(after.rule_version).toBeGreaterThan(shown.rule_version);
    write(['function transform(input) {', '  return { order: };', '}']);
    const refused = await cli(['apply', '-f', file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/invalid JavaScript: SyntaxError: .*\(at line 2, column \d+\)/);
  }, 240_000);
});
