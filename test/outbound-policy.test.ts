import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { parseCidrList } from '../src/outbound/cidr';
import { createOutboundPolicy, normalizeAddress, OutboundRefusedError } from '../src/outbound/policy';

// Which addresses the gateway's own requests may reach (src/outbound/policy.ts). The connection-time
// enforcement is tested through a real gateway in security-outbound.test.ts.

const lenient = createOutboundPolicy({ denyPrivate: false, allowCidrs: [] });
const strict = createOutboundPolicy({ denyPrivate: true, allowCidrs: [] });
const range = (policy: typeof lenient, address: string) => policy.refusal(address)?.range;

describe('outbound address classification', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
  ])('always refuses %s (%s), whatever OUTBOUND_DENY_PRIVATE says', (address, expected) => {
    expect(range(lenient, address)).toBe(expected);
    expect(range(strict, address)).toBe(expected);
  });

  it.each([
    ['::ffff:169.254.169.254', '169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', '169.254.169.254', 'link-local'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', '169.254.169.254', 'link-local'],
    ['[::ffff:0.0.0.0]', '0.0.0.0', 'unspecified'],
    ['::ffff:224.0.0.1', '224.0.0.1', 'multicast'],
    ['::FFFF:255.255.255.255', '255.255.255.255', 'broadcast'],
  ])('refuses the IPv4-mapped form %s as the IPv4 address it reaches', (address, ipv4, expected) => {
    expect(normalizeAddress(address)).toBe(ipv4);
    expect(lenient.refusal(address)).toMatchObject({ address: ipv4, range: expected });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['::ffff:192.168.1.1', 'private (RFC 1918)'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['fc00::1', 'unique local (ULA)'],
    ['fd12:3456::1', 'unique local (ULA)'],
  ])('refuses %s (%s) only with OUTBOUND_DENY_PRIVATE=true', (address, expected) => {
    expect(lenient.refusal(address)).toBeUndefined();
    expect(range(strict, address)).toBe(expected);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'lets the public address %s through under either setting',
    (address) => {
      expect(lenient.refusal(address)).toBeUndefined();
      expect(strict.refusal(address)).toBeUndefined();
    },
  );

  it('exempts the ranges of OUTBOUND_ALLOW_CIDRS from both kinds of refusal, and nothing beside them', () => {
    const policy = createOutboundPolicy({
      denyPrivate: true,
      allowCidrs: ['127.0.0.1/32', '169.254.169.254', 'fd00::/8'],
    });
    expect(policy.refusal('127.0.0.1')).toBeUndefined();
    expect(policy.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(policy.refusal('169.254.169.254')).toBeUndefined();
    expect(policy.refusal('fd00:ec2::254')).toBeUndefined();
    expect(range(policy, '127.0.0.2')).toBe('loopback');
    expect(range(policy, '::1')).toBe('loopback');
    expect(range(policy, '169.254.169.253')).toBe('link-local');
    expect(range(policy, 'fc00::1')).toBe('unique local (ULA)');
  });

  it('says in the refusal which address, which range class and which setting would allow it', () => {
    expect(lenient.urlRefusal('http://169.254.169.254/latest/meta-data/')).toBe(
      'refused to connect to 169.254.169.254: link-local address (169.254.0.0/16, fe80::/10; cloud metadata services answer at 169.254.169.254), never contacted unless OUTBOUND_ALLOW_CIDRS lists it',
    );
    expect(strict.urlRefusal('https://10.0.0.5:8443/hooks')).toBe(
      'refused to connect to 10.0.0.5: private (RFC 1918) address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), refused because OUTBOUND_DENY_PRIVATE=true; list it in OUTBOUND_ALLOW_CIDRS to allow it',
    );
  });
});

const ISATAP = 'an ISATAP interface identifier (…:5efe:a.b.c.d)';

describe('IPv6 addresses that embed an IPv4 address, judged as the IPv4 address they reach', () => {
  // 169.254.169.254 is a9fe:a9fe; inverted (Teredo) 5601:5601. 127.0.0.1 inverted is 80ff:fffe.
  it.each([
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'link-local', 'the NAT64 prefix 64:ff9b::/96'],
    ['64:ff9b::169.254.169.254', '169.254.169.254', 'link-local', 'the NAT64 prefix 64:ff9b::/96'],
    ['64:ff9b::6464:64c8', '100.100.100.200', 'cloud metadata', 'the NAT64 prefix 64:ff9b::/96'],
    ['64:ff9b::e000:1', '224.0.0.1', 'multicast', 'the NAT64 prefix 64:ff9b::/96'],
    ['64:ff9b:1::a9fe:a9fe', '169.254.169.254', 'link-local', 'the local-use NAT64 prefix 64:ff9b:1::/48'],
    ['64:ff9b:1:ab::a9fe:a9fe', '169.254.169.254', 'link-local', 'the local-use NAT64 prefix 64:ff9b:1::/48'],
    // A /64 translation prefix inside the local-use /48 puts the address at bits 72-103 (RFC 6052 §2.2).
    [
      '64:ff9b:1:0:a9:fea9:fe00:0',
      '169.254.169.254',
      'link-local',
      'the local-use NAT64 prefix 64:ff9b:1::/48 read as a /64 translation prefix',
    ],
    ['2002:a9fe:a9fe::1', '169.254.169.254', 'link-local', 'the 6to4 prefix 2002::/16'],
    ['2002:a9fe:a9fe:1234:5678:9abc:def0:1', '169.254.169.254', 'link-local', 'the 6to4 prefix 2002::/16'],
    ['2002:6464:64c8::', '100.100.100.200', 'cloud metadata', 'the 6to4 prefix 2002::/16'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', '169.254.169.254', 'link-local', 'the Teredo prefix 2001::/32'],
    ['2001::5601:5601', '169.254.169.254', 'link-local', 'the Teredo prefix 2001::/32'],
    ['::169.254.169.254', '169.254.169.254', 'link-local', 'the IPv4-compatible form ::/96'],
    ['::a9fe:a9fe', '169.254.169.254', 'link-local', 'the IPv4-compatible form ::/96'],
    ['::ffff:0:a9fe:a9fe', '169.254.169.254', 'link-local', 'the IPv4-translated form ::ffff:0:0:0/96'],
    // The Teredo server field (bits 32-63, not inverted); the client here is 8.8.8.8, public.
    [
      '2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7',
      '169.254.169.254',
      'link-local',
      'the Teredo prefix 2001::/32 as its server address',
    ],
    [
      '2001:0:6464:64c8::f7f7:f7f7',
      '100.100.100.200',
      'cloud metadata',
      'the Teredo prefix 2001::/32 as its server address',
    ],
    // ISATAP interface identifiers (RFC 5214 §6.1) under any prefix, u bit clear or set.
    ['2001:db8::5efe:a9fe:a9fe', '169.254.169.254', 'link-local', ISATAP],
    ['2001:db8:1:2:200:5efe:169.254.169.254', '169.254.169.254', 'link-local', ISATAP],
    ['fd00:1::5efe:6464:64c8', '100.100.100.200', 'cloud metadata', ISATAP],
    // Under a 6to4 prefix whose own IPv4 address is public.
    ['2002:808:808:1:0:5efe:a9fe:a9fe', '169.254.169.254', 'link-local', ISATAP],
  ])('always refuses %s: it reaches %s (%s) through %s', (address, ipv4, expected, via) => {
    for (const policy of [lenient, strict]) {
      expect(policy.refusal(address)).toMatchObject({
        address: ipv4,
        range: expected,
        always: true,
        embeddedIn: { via },
      });
    }
  });

  it.each([
    ['64:ff9b::7f00:1', '127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', '10.0.0.1', 'private (RFC 1918)'],
    ['64:ff9b::6440:1', '100.64.0.1', 'shared (CGNAT)'],
    ['64:ff9b:1::c0a8:101', '192.168.1.1', 'private (RFC 1918)'],
    ['2002:c0a8:101::1', '192.168.1.1', 'private (RFC 1918)'],
    ['2002:7f00:1::', '127.0.0.1', 'loopback'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1', 'loopback'],
    ['::10.1.2.3', '10.1.2.3', 'private (RFC 1918)'],
    ['::ffff:0:ac10:1', '172.16.0.1', 'private (RFC 1918)'],
    ['2001:0:a00:1::f7f7:f7f7', '10.0.0.1', 'private (RFC 1918)'],
    ['2001:db8::5efe:a00:5', '10.0.0.5', 'private (RFC 1918)'],
    ['2001:db8::200:5efe:7f00:1', '127.0.0.1', 'loopback'],
  ])('refuses %s (it reaches %s, %s) only with OUTBOUND_DENY_PRIVATE=true', (address, ipv4, expected) => {
    expect(lenient.refusal(address)).toBeUndefined();
    expect(strict.refusal(address)).toMatchObject({ address: ipv4, range: expected, always: false });
  });

  it.each([
    '64:ff9b::808:808',
    '64:ff9b::8.8.8.8',
    '64:ff9b:1::808:808', // a /96 reading only: the low bits rule out the /64 layout
    '64:ff9b:1:0:8:808:800:0', // 8.8.8.8 as a /64 prefix; its /96 reading is 8.0.0.0, public too
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo client 8.8.8.8
    '::8.8.8.8',
    '::ffff:0:808:808',
    '2001:db8::1', // 2001:db8::/32 is not Teredo (2001:0::/32)
    '2001:4860:4860::8888',
    '64:ff9c::a9fe:a9fe', // next to the NAT64 prefix, not in it
    '2001:db8::5efe:808:808', // ISATAP, 8.8.8.8
    '2001:db8::200:5efe:808:808',
    '2001:db8::400:5efe:a9fe:a9fe', // not ISATAP: a bit outside u and g is set
    '2001:db8::5eff:a9fe:a9fe', // not ISATAP: 5eff, not 5efe
  ])('lets %s through under either setting: the IPv4 address it reaches is public, or it embeds none', (address) => {
    expect(lenient.refusal(address)).toBeUndefined();
    expect(strict.refusal(address)).toBeUndefined();
  });

  it('keeps :: and ::1 as the unspecified and loopback addresses, not IPv4-compatible 0.0.0.0 and 0.0.0.1', () => {
    expect(strict.refusal('::')).toMatchObject({ address: '::', range: 'unspecified' });
    expect(strict.refusal('::1')).toMatchObject({ address: '::1', range: 'loopback' });
    expect(strict.refusal('::1')?.embeddedIn).toBeUndefined();
    expect(lenient.refusal('::1')).toBeUndefined();
  });

  it('names the IPv6 address, the IPv4 address it reaches and the form, and the address OUTBOUND_ALLOW_CIDRS must list', () => {
    expect(lenient.urlRefusal('http://[64:ff9b::169.254.169.254]/latest/meta-data/')).toBe(
      'refused to connect to 64:ff9b::a9fe:a9fe (169.254.169.254 through the NAT64 prefix 64:ff9b::/96): link-local address (169.254.0.0/16, fe80::/10; cloud metadata services answer at 169.254.169.254), never contacted unless OUTBOUND_ALLOW_CIDRS lists 169.254.169.254',
    );
    expect(strict.urlRefusal('https://[2002:a00:1::1]:8443/')).toBe(
      'refused to connect to 2002:a00:1::1 (10.0.0.1 through the 6to4 prefix 2002::/16): private (RFC 1918) address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), refused because OUTBOUND_DENY_PRIVATE=true; list 10.0.0.1 in OUTBOUND_ALLOW_CIDRS to allow it',
    );
    // A name resolving to such an address (the guarded lookup) names the name too.
    expect(new OutboundRefusedError(lenient.refusal('2001::5601:5601')!, 'evil.example').message).toMatch(
      /^refused to connect to evil\.example \(2001::5601:5601, 169\.254\.169\.254 through the Teredo prefix 2001::\/32\): link-local address/,
    );
  });

  it('exempts them by the IPv4 address in OUTBOUND_ALLOW_CIDRS, never by the IPv6 prefix that carries it', () => {
    const byIpv4 = createOutboundPolicy({ denyPrivate: true, allowCidrs: ['10.0.0.0/8', '169.254.169.254/32'] });
    expect(byIpv4.refusal('64:ff9b::a00:1')).toBeUndefined();
    expect(byIpv4.refusal('2002:a9fe:a9fe::1')).toBeUndefined();
    expect(byIpv4.refusal('64:ff9b::a9fe:a9fd')?.range).toBe('link-local');
    // Allowing NAT64 or 6to4 wholesale must not open the metadata service through them.
    const byPrefix = createOutboundPolicy({
      denyPrivate: true,
      allowCidrs: ['64:ff9b::/96', '2002::/16', '2001::/32'],
    });
    expect(byPrefix.refusal('64:ff9b::a9fe:a9fe')?.range).toBe('link-local');
    expect(byPrefix.refusal('2002:a00:1::1')?.range).toBe('private (RFC 1918)');
    expect(byPrefix.refusal('64:ff9b::808:808')).toBeUndefined();
  });

  it.each([
    ['http://[64:ff9b::a9fe:a9fe]/', '169.254.169.254'],
    ['http://[64:FF9B::169.254.169.254]:8080/x', '169.254.169.254'],
    ['http://[2002:a9fe:a9fe::]/', '169.254.169.254'],
    ['http://[2001:0:0:0:0:0:5601:5601]/', '169.254.169.254'],
    ['http://[::169.254.169.254]/', '169.254.169.254'],
    ['http://[64:ff9b::6464:64c8]/', '100.100.100.200'],
    ['http://[2001:db8::5efe:169.254.169.254]/', '169.254.169.254'],
    ['http://[2001:0:a9fe:a9fe::f7f7:f7f7]/', '169.254.169.254'],
  ])('refuses the URL %s when it is set (it reaches %s)', (url, ipv4) => {
    expect(lenient.urlRefusal(url)).toContain(`(${ipv4} through `);
  });
});

describe('cloud metadata addresses outside link-local', () => {
  it.each([
    ['fd00:ec2::254', 'AWS IMDS over IPv6, in the ULA range'],
    ['100.100.100.200', 'Alibaba Cloud metadata, in the CGNAT range'],
    ['192.0.0.192', 'Oracle Cloud at Customer metadata'],
    ['168.63.129.16', 'Azure WireServer, a public address'],
    ['::ffff:100.100.100.200', 'Alibaba Cloud, IPv4-mapped'],
  ])('always refuses %s (%s)', (address) => {
    for (const policy of [lenient, strict])
      expect(policy.refusal(address)).toMatchObject({ range: 'cloud metadata', always: true });
  });

  it('refuses only those addresses, not their neighbours', () => {
    expect(strict.refusal('100.100.100.201')?.range).toBe('shared (CGNAT)');
    expect(lenient.refusal('100.100.100.201')).toBeUndefined();
    for (const address of ['168.63.129.15', '168.63.129.17', '192.0.0.191', '192.0.0.193']) {
      expect(lenient.refusal(address), address).toBeUndefined();
      expect(strict.refusal(address), address).toBeUndefined();
    }
  });

  it('says what they are, and OUTBOUND_ALLOW_CIDRS can still exempt each of them', () => {
    expect(lenient.urlRefusal('http://100.100.100.200/latest/meta-data/')).toBe(
      'refused to connect to 100.100.100.200: cloud metadata address (fd00:ec2::254/128, 100.100.100.200/32, 192.0.0.192/32, 168.63.129.16/32; AWS IPv6, Alibaba Cloud and Oracle Cloud at Customer metadata, Azure WireServer), never contacted unless OUTBOUND_ALLOW_CIDRS lists it',
    );
    const allowed = createOutboundPolicy({
      denyPrivate: true,
      allowCidrs: ['100.100.100.200/32', '192.0.0.192', '168.63.129.16/32', 'fd00:ec2::254/128'],
    });
    for (const address of ['100.100.100.200', '192.0.0.192', '168.63.129.16', 'fd00:ec2::254', '64:ff9b::6464:64c8']) {
      expect(allowed.refusal(address), address).toBeUndefined();
    }
  });
});

describe('URL hosts checked when a URL is configured', () => {
  it.each([
    // The URL parser turns decimal, hex, octal and short forms into the dotted address.
    ['http://2852039166/', '169.254.169.254'],
    ['http://0xa9fea9fe/', '169.254.169.254'],
    ['http://0xA9.0xFE.0xA9.0xFE/', '169.254.169.254'],
    ['http://0251.0376.0251.0376/', '169.254.169.254'],
    ['http://169.254.43518/', '169.254.169.254'],
    ['http://[::ffff:169.254.169.254]/', '169.254.169.254'],
    ['http://[::ffff:a9fe:a9fe]:8080/x', '169.254.169.254'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
    ['http://0/', '0.0.0.0'],
    ['http://[fe80::1]/', 'fe80::1'],
  ])('refuses %s (it is %s)', (url, address) => {
    const refusal = lenient.urlRefusal(url);
    expect(refusal).toMatch(/^refused to connect to /);
    expect(refusal).toContain(address);
  });

  it('leaves host names to the connection (they are only known once resolved)', () => {
    expect(strict.urlRefusal('http://localhost:3000/')).toBeUndefined();
    expect(strict.urlRefusal('http://metadata.google.internal/')).toBeUndefined();
    expect(lenient.urlRefusal('https://hooks.example.com/x')).toBeUndefined();
    expect(lenient.urlRefusal('http://127.0.0.1:3000/')).toBeUndefined();
    expect(strict.urlRefusal('http://127.0.0.1:3000/')).toContain('loopback');
  });
});

describe('OUTBOUND_ALLOW_CIDRS and OUTBOUND_DENY_PRIVATE at start-up', () => {
  it('are read into the configuration, private addresses allowed by default', () => {
    expect(loadConfig({}).outbound).toEqual({ denyPrivate: false, allowCidrs: [] });
    expect(
      loadConfig({ OUTBOUND_DENY_PRIVATE: 'true', OUTBOUND_ALLOW_CIDRS: ' 10.1.0.0/16, fd00:1::/64 ,127.0.0.1' })
        .outbound,
    ).toEqual({ denyPrivate: true, allowCidrs: ['10.1.0.0/16', 'fd00:1::/64', '127.0.0.1'] });
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'example.com/24', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/ 8x'])(
    'refuse the malformed CIDR %s with a message naming it',
    (cidr) => {
      expect(parseCidrList(`192.168.0.0/16,${cidr}`)).toEqual({ invalid: [cidr.trim()] });
      expect(() => loadConfig({ OUTBOUND_ALLOW_CIDRS: `192.168.0.0/16,${cidr}` })).toThrow(
        `Invalid configuration: OUTBOUND_ALLOW_CIDRS: not a CIDR: ${JSON.stringify(cidr.trim())}; write address/prefix`,
      );
    },
  );

  it('refuse an OUTBOUND_DENY_PRIVATE that is not true or false', () => {
    expect(() => loadConfig({ OUTBOUND_DENY_PRIVATE: 'yes' })).toThrow('OUTBOUND_DENY_PRIVATE: must be true or false');
  });
});

describe('GATEWAY_CONFIG URLs at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-outbound-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const load = (content: unknown, env: Record<string, string> = {}) => {
    const path = join(dir, `config-${(files += 1)}.json`);
    writeFileSync(path, JSON.stringify(content));
    return loadConfig({ GATEWAY_CONFIG: path, ...env });
  };
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const slackToken = 'T000/B000/slack-token-in-path';

  it('refuse a destination or alert channel whose host is a refused IP address, naming it and never the Slack path', () => {
    const content = {
      destinations: [{ name: 'meta', url: 'http://169.254.169.254/latest', secret, sources: [] }],
      sources: [
        {
          name: 'gh',
          provider: 'github',
          secrets: ['github-secret-0123456789'],
          destinations: [{ name: 'inner', url: 'http://[::ffff:a9fe:a9fe]/x', secret }],
        },
      ],
      alerts: { channels: [{ name: 'oncall', type: 'slack', url: `http://0.0.0.0/services/${slackToken}` }] },
    };
    let message = '';
    try {
      load(content);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(
      'Invalid GATEWAY_CONFIG: destination "meta": url: refused to connect to 169.254.169.254: link-local address',
    );
    expect(message).toContain(
      'source "gh" destination "inner": url: refused to connect to ::ffff:a9fe:a9fe (169.254.169.254)',
    );
    expect(message).toContain('alert channel "oncall": url: refused to connect to 0.0.0.0: unspecified address');
    expect(message).not.toContain(slackToken);
  });

  it('refuse an SMTP server or an SFTP poll host that is a refused IP address, naming neither password', () => {
    const content = {
      alerts: {
        smtp: { host: '100.100.100.200', port: 25, from: 'gw@example.test', password: 'smtp-password-not-quoted' },
      },
      polls: [
        {
          name: 'sftp-meta',
          kind: 'sps-sftp',
          host: '64:ff9b::a9fe:a9fe',
          username: 'u',
          password: 'sftp-password-not-quoted',
          insecure_accept_any_host_key: true,
        },
        {
          name: 'sftp-named',
          kind: 'sps-sftp',
          host: 'sftp.example.com',
          username: 'u',
          password: 'p',
          insecure_accept_any_host_key: true,
        },
      ],
    };
    let message = '';
    try {
      load(content);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(
      'Invalid GATEWAY_CONFIG: alerts.smtp: host: refused to connect to 100.100.100.200: cloud metadata address',
    );
    expect(message).toContain(
      'poll source "sftp-meta": host: refused to connect to 64:ff9b::a9fe:a9fe (169.254.169.254 through the NAT64 prefix',
    );
    expect(message).not.toContain('sftp-named');
    expect(message).not.toContain('password-not-quoted');
    expect(load(content, { OUTBOUND_ALLOW_CIDRS: '100.100.100.200/32,169.254.169.254/32' }).polls).toHaveLength(2);
  });

  it('accept them once OUTBOUND_ALLOW_CIDRS lists them; private addresses only fail with OUTBOUND_DENY_PRIVATE=true', () => {
    const content = { destinations: [{ name: 'meta', url: 'http://169.254.169.254/latest', secret, sources: [] }] };
    expect(load(content, { OUTBOUND_ALLOW_CIDRS: '169.254.169.254/32' }).destinations).toHaveLength(1);
    const inside = { destinations: [{ name: 'erp', url: 'http://10.0.0.5/hooks', secret, sources: [] }] };
    expect(load(inside).destinations).toHaveLength(1);
    expect(() => load(inside, { OUTBOUND_DENY_PRIVATE: 'true' })).toThrow(
      'destination "erp": url: refused to connect to 10.0.0.5: private (RFC 1918) address',
    );
  });
});
