import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { parseCidrList } from '../src/outbound/cidr';
import { createOutboundPolicy } from '../src/outbound/policy';
import { databaseKinds } from './helpers/database';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { fileDestination, firstAttempts, sendShopify } from './helpers/outbound';
import { startReceiver } from './helpers/receiver';

// OUTBOUND_ALLOW_CIDRS and IPv4 addresses: Node's BlockList matches an IPv4 address against an
// IPv6 rule covering its IPv4-mapped form, so an entry ::ffff:0:0/96 or ::/0 used to exempt every
// IPv4 address, the metadata service's included. And the embedded IPv4 forms found in the low 64
// bits (ISATAP) or beside the Teredo client (its server). Through a real gateway at the end.

const overlapping = [
  '::ffff:0:0/96',
  '::/0',
  '::/1',
  '::/64',
  '::/80',
  '0:0:0:0:0:ffff::/96',
  '::ffff:10.0.0.0/104',
  '::ffff:169.254.169.254',
];

describe('IPv6 entries of OUTBOUND_ALLOW_CIDRS and IPv4 addresses', () => {
  it.each(overlapping)('the entry %s exempts no IPv4 address, in either spelling', (entry) => {
    const policy = createOutboundPolicy({ denyPrivate: true, allowCidrs: [entry] });
    expect(policy.refusal('169.254.169.254')?.range).toBe('link-local');
    expect(policy.refusal('::ffff:169.254.169.254')?.range).toBe('link-local');
    expect(policy.refusal('10.0.0.1')?.range).toBe('private (RFC 1918)');
    expect(policy.refusal('::ffff:127.0.0.1')?.range).toBe('loopback');
    expect(policy.refusal('64:ff9b::a00:1')?.range).toBe('private (RFC 1918)');
  });

  it.each(overlapping)('the entry %s stops start-up, naming it and what to write instead', (entry) => {
    expect(parseCidrList(`10.0.0.0/8,${entry}`)).toEqual({ mapped: [entry] });
    expect(() => loadConfig({ OUTBOUND_ALLOW_CIDRS: `10.0.0.0/8, ${entry}` })).toThrow(
      `OUTBOUND_ALLOW_CIDRS: ${JSON.stringify(entry)} overlaps the IPv4-mapped range ::ffff:0:0/96, and an IPv4 address is exempted by an IPv4 entry only; list IPv4 ranges as IPv4 (10.0.0.0/8)`,
    );
  });

  it('keeps IPv4 ranges, IPv6 ranges and single IPv6 addresses working, each for its own family', () => {
    const allowCidrs = ['10.0.0.0/8', 'fd00::/8', 'fe80::1', '::/96', '::ffff:0:0:0/96', '2000::/3'];
    expect(loadConfig({ OUTBOUND_ALLOW_CIDRS: allowCidrs.join(',') }).outbound.allowCidrs).toEqual(allowCidrs);
    const policy = createOutboundPolicy({ denyPrivate: true, allowCidrs });
    for (const allowed of [
      '10.1.2.3',
      '::ffff:10.1.2.3',
      '64:ff9b::a00:1',
      'fd12:3456::1',
      'fd00:ec2::254',
      'fe80::1',
    ]) {
      expect(policy.refusal(allowed), allowed).toBeUndefined();
    }
    expect(policy.refusal('fe80::2')?.range).toBe('link-local');
    expect(policy.refusal('fc00::1')?.range).toBe('unique local (ULA)');
    expect(policy.refusal('192.168.0.1')?.range).toBe('private (RFC 1918)');
    expect(policy.refusal('169.254.169.254')?.range).toBe('link-local');
    // An IPv4 entry says nothing about IPv6 addresses either.
    expect(createOutboundPolicy({ denyPrivate: true, allowCidrs: ['0.0.0.0/0'] }).refusal('::1')?.range).toBe(
      'loopback',
    );
  });
});

const DESTINATION_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

describe.each(databaseKinds())(
  'allow list and embedded IPv4 forms through a real gateway (%s)',
  { timeout: 120_000 },
  (kind) => {
    let v4: Awaited<ReturnType<typeof startReceiver>>;
    let v6: Awaited<ReturnType<typeof startReceiver>>;
    let gw: TestGateway;
    beforeAll(async () => {
      v4 = await startReceiver('127.0.0.1');
      v6 = await startReceiver('::1');
      // As an embedder passes them (the configuration refuses ::ffff:0:0/96 before it gets here).
      gw = await startTestGateway(kind, {
        outbound: { denyPrivate: true, allowCidrs: ['::ffff:0:0/96', '::1'] },
        destinations: [
          fileDestination('v4-loopback', `${v4.url}/v4`, DESTINATION_SECRET),
          fileDestination('v6-loopback', `${v6.url}/v6`, DESTINATION_SECRET),
          fileDestination('isatap', 'http://[2001:db8::5efe:a9fe:a9fe]/latest/meta-data/', DESTINATION_SECRET),
          fileDestination('isatap-u', 'http://[2001:db8::200:5efe:a00:5]/', DESTINATION_SECRET),
          fileDestination('teredo-server', 'http://[2001:0:a9fe:a9fe::f7f7:f7f7]/', DESTINATION_SECRET),
        ],
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
      await v4?.close();
      await v6?.close();
    });

    it('delivers to the listed IPv6 address and to no IPv4 address through ::ffff:0:0/96', async () => {
      const id = await sendShopify(gw);
      const found = await firstAttempts(gw, id, ['v4-loopback', 'v6-loopback']);
      expect(found['v6-loopback']).toMatchObject({ outcome: 'delivered', error: null });
      expect(v6.deliveries.filter((d) => d.headers['webhook-id'] === `evt_${id}`)).toHaveLength(1);
      expect(found['v4-loopback']!.error).toContain('refused to connect to 127.0.0.1: loopback address');
      expect(v4.deliveries).toHaveLength(0);
    });

    it('refuses ISATAP and Teredo server addresses by the IPv4 address they carry, at once', async () => {
      const id = await sendShopify(gw);
      const found = await firstAttempts(gw, id, ['isatap', 'isatap-u', 'teredo-server']);
      expect(found.isatap!.error).toContain(
        'refused to connect to 2001:db8::5efe:a9fe:a9fe (169.254.169.254 through an ISATAP interface identifier (…:5efe:a.b.c.d)): link-local address',
      );
      expect(found['isatap-u']!.error).toContain(
        '(10.0.0.5 through an ISATAP interface identifier (…:5efe:a.b.c.d)): private (RFC 1918) address',
      );
      expect(found['teredo-server']!.error).toContain(
        'refused to connect to 2001:0:a9fe:a9fe::f7f7:f7f7 (169.254.169.254 through the Teredo prefix 2001::/32 as its server address): link-local address',
      );
      for (const d of Object.values(found)) expect(d.duration_ms).toBeLessThan(5_000);
    });
  },
);
