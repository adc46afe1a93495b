import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { useCliGateway } from './helpers/control-cli-gateway';
import { post, shopifyHeaders } from './helpers/signers';

// `apply -f` manages each kind (sources, destinations, alerts) only when the file has its section.
// An alerts-only file, as docs/configuration.md writes one, used to delete every source and
// destination an earlier apply had made, and a deleted source's secret cannot be got back.
const fixture = useCliGateway('apply-sections');
const { cli } = fixture; // the gateway and directory are read through fixture once started

it('a file without a sources: or destinations: section leaves them alone; empty lists delete them', async () => {
  const secret = `sections-${randomBytes(12).toString('hex')}`;
  const both = join(fixture.dir, 'gateway.yaml');
  writeFileSync(
    both,
    [
      'sources:',
      '  - { name: kept, provider: shopify, secrets: [env:KEPT_SECRET] }',
      'destinations:',
      '  - { name: kept-erp, url: "http://127.0.0.1:9/hooks", secret: env:ERP_SECRET, sources: [kept] }',
    ].join('\n') + '\n',
  );
  const env = { KEPT_SECRET: secret, ERP_SECRET: `whsec_${randomBytes(24).toString('base64')}` };
  const created = await cli(['apply', '-f', both], env);
  expect(created.stdout, created.stderr).toContain('Applied 2 change(s).');

  const alertsOnly = join(fixture.dir, 'alerts.yaml');
  writeFileSync(alertsOnly, 'alerts:\n  channels:\n    - { name: sections-slack, type: slack, url: env:SLACK_URL }\n');
  const applied = await cli(['apply', '-f', alertsOnly], { SLACK_URL: 'https://hooks.slack.com/services/T/B/X' });
  expect(applied.code, applied.stderr).toBe(0);
  expect(applied.stdout).toContain('No sources: section in the file: sources are left as they are.');
  expect(applied.stdout).toContain('No destinations: section in the file: destinations are left as they are.');
  expect(applied.stdout).not.toContain('- delete');
  const body = JSON.stringify({ id: 1 });
  expect((await post(`${fixture.gw.url}/api/webhooks/kept`, body, shopifyHeaders(secret, body, 'kept-1'))).status).toBe(
    200,
  );
  expect((await cli(['destinations', 'list'])).stdout).toContain('kept-erp');

  const empty = join(fixture.dir, 'empty.yaml');
  writeFileSync(empty, 'sources: []\ndestinations: []\n');
  const dropped = await cli(['apply', '-f', empty]);
  expect(dropped.stdout).toContain('- delete kept');
  expect(dropped.stdout).toContain('- delete destination kept-erp');
}, 180_000);
