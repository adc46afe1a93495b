import { isIP } from 'node:net';

// IPv6 addresses that carry an IPv4 address: a connection to one can end at the IPv4 address, through
// a translator or a tunnel on the way (a NAT64 gateway, a 6to4 or Teredo relay), so the policy judges
// it as that IPv4 address. [64:ff9b::a9fe:a9fe] is 169.254.169.254 to a host behind NAT64.
//
// The IPv4-mapped form (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is not here: it is the IPv4 address itself
// on a dual-stack socket, and normalizeAddress (policy.ts) turns it into that address.

/** An IPv4 address found inside an IPv6 address, and the form that put it there (said in refusals). */
export interface EmbeddedIpv4 {
  ipv4: string;
  via: string;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted tail read), else undefined. */
export function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const hex = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head = '', tail] = text.split('::');
  if (tail === undefined) return hex(head);
  const before = hex(head);
  const after = hex(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

const dottedQuad = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');

/**
 * The IPv4 addresses an IPv6 address may reach by the definition of its form: none for most
 * addresses, one for most forms, two for the local-use NAT64 prefix. The policy refuses the
 * address when it would refuse any of them.
 *
 * - NAT64, well-known prefix 64:ff9b::/96: the IPv4 address is the last 32 bits (RFC 6052 §2.1, §2.2).
 * - NAT64, local-use prefix 64:ff9b:1::/48 (RFC 8215): each network carves its own translation
 *   prefix out of the /48, and RFC 6052 §2.2 puts the IPv4 address at bits 72–103 of a /64 prefix
 *   (bits 64–71 zero) and at bits 96–127 of a /96 one. This host cannot know which is used, so it
 *   reads both: the /96 reading always, the /64 one when the address has that layout's zero bits
 *   (64–71 and the 104–127 suffix). RFC 8215 sized the block for /64 prefixes, the shortest seen
 *   deployed; a /48 or /56 translation prefix inside it is not read (a documented limit).
 * - 6to4, 2002::/16: the IPv4 address is bits 16–47, a site's prefix being 2002:V4ADDR::/48 (RFC 3056).
 * - Teredo, 2001::/32 (RFC 4380 §4): the client's external IPv4 address is the last 32 bits with
 *   every bit inverted, "obfuscated"; packets for the address go to it over UDP. Bits 32–63 are the
 *   IPv4 address of the Teredo server the client qualified with, not inverted; a relay or peer
 *   opening communication with the client goes by way of that server (its first packets, bubbles),
 *   so both addresses are judged.
 * - IPv4-compatible, ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated there): the last 32 bits. :: and ::1,
 *   the unspecified and loopback addresses, are judged as themselves.
 * - IPv4-translated, ::ffff:0:a.b.c.d (SIIT, RFC 2765, since obsoleted): the last 32 bits.
 * - ISATAP, under any prefix (RFC 5214 §6.1): an interface identifier 000000ug00000000:5efe:a.b.c.d
 *   (::5efe:a.b.c.d, ::200:5efe:a.b.c.d with the u bit) carries the IPv4 address of the node over
 *   an IPv4 tunnel. Read on top of the prefix's own form: 2002:V4ADDR::5efe:a.b.c.d has two.
 */
export function embeddedIpv4s(address: string): EmbeddedIpv4[] {
  const g = ipv6Groups(address);
  if (!g || g.length !== 8) return [];
  const groups = g as Groups;
  return [...byPrefix(groups), ...byInterfaceId(groups)];
}

type Groups = [number, number, number, number, number, number, number, number];

/** The ISATAP reading of the low 64 bits: 0:5efe or 200:5efe (u and g bits ignored) then the IPv4 address. */
function byInterfaceId([, , , , g4, g5, g6, g7]: Groups): EmbeddedIpv4[] {
  if ((g4 & 0xfcff) !== 0 || g5 !== 0x5efe) return [];
  return [{ ipv4: dottedQuad(g6, g7), via: 'an ISATAP interface identifier (…:5efe:a.b.c.d)' }];
}

/** The readings of the forms known by their prefix. */
function byPrefix([g0, g1, g2, g3, g4, g5, g6, g7]: Groups): EmbeddedIpv4[] {
  const last32 = dottedQuad(g6, g7);
  const zeroTo64 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return [{ ipv4: last32, via: 'the NAT64 prefix 64:ff9b::/96' }];
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) {
    const via = 'the local-use NAT64 prefix 64:ff9b:1::/48';
    const as96 = { ipv4: last32, via };
    const has64Layout = g4 >> 8 === 0 && (g6 & 0xff) === 0 && g7 === 0;
    if (!has64Layout) return [as96];
    const as64 = dottedQuad(((g4 & 0xff) << 8) | (g5 >> 8), ((g5 & 0xff) << 8) | (g6 >> 8));
    return [as96, { ipv4: as64, via: `${via} read as a /64 translation prefix` }];
  }
  if (g0 === 0x2002) return [{ ipv4: dottedQuad(g1, g2), via: 'the 6to4 prefix 2002::/16' }];
  if (g0 === 0x2001 && g1 === 0) {
    return [
      { ipv4: dottedQuad(g6 ^ 0xffff, g7 ^ 0xffff), via: 'the Teredo prefix 2001::/32' },
      { ipv4: dottedQuad(g2, g3), via: 'the Teredo prefix 2001::/32 as its server address' },
    ];
  }
  if (zeroTo64 && g4 === 0 && g5 === 0 && (g6 !== 0 || g7 > 1)) {
    return [{ ipv4: last32, via: 'the IPv4-compatible form ::/96' }];
  }
  if (zeroTo64 && g4 === 0xffff && g5 === 0) return [{ ipv4: last32, via: 'the IPv4-translated form ::ffff:0:0:0/96' }];
  return [];
}
