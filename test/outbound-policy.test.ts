import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env';
import { createOutboundPolicy, normalizeAddress, parseCidrList } from '../src/outbound/policy';

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
    const policy = createOutboundPolicy({ denyPrivate: true, allowCidrs: ['127.0.0.1/32', '169.254.169.254', 'fd00::/8'] });
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

describe('cloud metadata addresses outside link-local', () => {
  it.each([
    ['fd00:ec2::254', 'AWS IMDS over IPv6, in the ULA range'],
    ['100.100.100.200', 'Alibaba Cloud metadata, in the CGNAT range'],
    ['192.0.0.192', 'Oracle Cloud at Customer metadata'],
    ['168.63.129.16', 'Azure WireServer, a public address'],
    ['::ffff:100.100.100.200', 'Alibaba Cloud, IPv4-mapped'],
  ])('always refuses %s (%s)', (address) => {
    for (const policy of [lenient, strict]) expect(policy.refusal(address)).toMatchObject({ range: 'cloud metadata', always: true });
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
    const allowed = createOutboundPolicy({ denyPrivate: true, allowCidrs: ['100.100.100.200/32', '192.0.0.192', '168.63.129.16/32', 'fd00:ec2::254/128'] });
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
      loadConfig({ OUTBOUND_DENY_PRIVATE: 'true', OUTBOUND_ALLOW_CIDRS: ' 10.1.0.0/16, fd00:1::/64 ,127.0.0.1' }).outbound,
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
    expect(message).toContain('Invalid GATEWAY_CONFIG: destination "meta": url: refused to connect to 169.254.169.254: link-local address');
    expect(message).toContain('source "gh" destination "inner": url: refused to connect to ::ffff:a9fe:a9fe (169.254.169.254)');
    expect(message).toContain('alert channel "oncall": url: refused to connect to 0.0.0.0: unspecified address');
    expect(message).not.toContain(slackToken);
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
