import { BlockList, isIP } from 'node:net';
import { ipv6Groups } from './embedded-ipv4';

// The CIDR lists of the outbound policy: its range classes and OUTBOUND_ALLOW_CIDRS.

/** `address/prefix` (or a bare address: one host) when it is a valid CIDR, else undefined. */
export function splitCidr(cidr: string): { address: string; prefix: number } | undefined {
  const [address = '', prefixText, ...rest] = cidr.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText) };
}

const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/**
 * A membership test for a list of CIDRs, each address matched against the rules of its own family.
 * One Node BlockList would match an IPv4 address against an IPv6 rule that covers its IPv4-mapped
 * form: an allow-list entry ::ffff:0:0/96 or ::/0 would exempt every IPv4 address, 169.254.169.254
 * included. The policy hands IPv4-mapped addresses over as IPv4 (normalizeAddress), so an IPv4
 * address is exempted by an IPv4 entry only.
 */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const cidr of cidrs) {
    const parsed = splitCidr(cidr);
    // Configuration is checked at start-up (src/config/env/outbound.ts); this catches an embedder's typo.
    if (!parsed) throw new Error(`outbound allow list: not a CIDR: ${JSON.stringify(cidr)}`);
    const type = family(parsed.address);
    lists[type].addSubnet(parsed.address, parsed.prefix, type);
  }
  return (address) => {
    const type = family(address);
    return lists[type].check(address, type);
  };
}

const MAPPED_PREFIX = 96;
const MAPPED = 0xffffn << 32n; // ::ffff:0:0

/** Whether an IPv6 CIDR contains ::ffff:0:0/96 (::/0, ::/64) or lies inside it (::ffff:10.0.0.0/104). */
function overlapsIpv4Mapped({ address, prefix }: { address: string; prefix: number }): boolean {
  const groups = ipv6Groups(address);
  if (!groups) return false;
  const value = groups.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
  const bits = BigInt(Math.min(prefix, MAPPED_PREFIX));
  const mask = ((1n << bits) - 1n) << (128n - bits);
  return (value & mask) === (MAPPED & mask);
}

/**
 * OUTBOUND_ALLOW_CIDRS split and checked: the ranges; or the entries that are not CIDRs; or the
 * IPv6 entries that overlap the IPv4-mapped range, which would say something about IPv4 addresses
 * that the policy does not do (it exempts those by IPv4 entries only: cidrMatcher).
 */
export function parseCidrList(text: string): { cidrs: string[] } | { invalid: string[] } | { mapped: string[] } {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const invalid = entries.filter((entry) => splitCidr(entry) === undefined);
  if (invalid.length > 0) return { invalid };
  const mapped = entries.filter((entry) => overlapsIpv4Mapped(splitCidr(entry)!));
  return mapped.length > 0 ? { mapped } : { cidrs: entries };
}
