import { isIP } from 'node:net';
import { cidrMatcher } from './cidr';
import { embeddedIpv4s } from './embedded-ipv4';

// Where the gateway's own connections may go (destinations, alert channels and their SMTP server,
// SPS REST and SFTP polls). An admin who can set a destination URL must not be able to make the
// gateway read the cloud metadata service (169.254.169.254 hands out the instance's credentials)
// or poke at addresses that are never a webhook receiver. Private ranges are allowed by default:
// a self-hosted gateway usually forwards to services on its own network; OUTBOUND_DENY_PRIVATE=true
// refuses them too.

/** One range class: refused always (unless allowed), or only with OUTBOUND_DENY_PRIVATE=true. */
interface RangeClass {
  name: string;
  always: boolean;
  cidrs: readonly string[];
  /** Said after the ranges, for the reader who wonders why this one matters. */
  note?: string;
}

const RANGES: readonly RangeClass[] = [
  // Metadata and platform endpoints outside link-local, each named in its provider's documentation.
  // First in the list, so each is refused always although its range is refused only with
  // OUTBOUND_DENY_PRIVATE (ULA, CGNAT) or not at all (Azure's is a public address).
  {
    name: 'cloud metadata',
    always: true,
    cidrs: ['fd00:ec2::254/128', '100.100.100.200/32', '192.0.0.192/32', '168.63.129.16/32'],
    // AWS: IMDS over IPv6 ("http://[fd00:ec2::254]/latest/meta-data/", EC2 user guide, instance data
    // retrieval). Alibaba Cloud: ECS and ECI metadata at http://100.100.100.200/ (Alibaba Cloud help,
    // "Obtain metadata"; cloud-init's AliYun datasource). Oracle: instance metadata at
    // http://192.0.0.192/ on Oracle Cloud at Customer (docs.oracle.com, "Retrieve Predefined Instance
    // Metadata"). Azure: 168.63.129.16 is the host node's WireServer, which the VM agent talks to
    // (learn.microsoft.com, "What is IP address 168.63.129.16?").
    note: 'AWS IPv6, Alibaba Cloud and Oracle Cloud at Customer metadata, Azure WireServer',
  },
  {
    name: 'link-local',
    always: true,
    cidrs: ['169.254.0.0/16', 'fe80::/10'],
    note: 'cloud metadata services answer at 169.254.169.254',
  },
  { name: 'unspecified', always: true, cidrs: ['0.0.0.0/8', '::/128'] },
  { name: 'multicast', always: true, cidrs: ['224.0.0.0/4', 'ff00::/8'] },
  { name: 'broadcast', always: true, cidrs: ['255.255.255.255/32'] },
  { name: 'loopback', always: false, cidrs: ['127.0.0.0/8', '::1/128'] },
  { name: 'private (RFC 1918)', always: false, cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  { name: 'shared (CGNAT)', always: false, cidrs: ['100.64.0.0/10'] },
  { name: 'unique local (ULA)', always: false, cidrs: ['fc00::/7'] },
];

export interface OutboundSettings {
  /** Also refuse loopback, RFC 1918, CGNAT and ULA addresses (OUTBOUND_DENY_PRIVATE). */
  denyPrivate: boolean;
  /** Ranges exempt from every refusal (OUTBOUND_ALLOW_CIDRS), already validated. */
  allowCidrs: string[];
}

/** Why one address is refused: the address, its range class, and the setting that would allow it. */
export interface Refusal {
  /** The address judged: the IPv4 address of an IPv4-mapped one or of one that embeds it. */
  address: string;
  range: string;
  cidrs: readonly string[];
  always: boolean;
  note?: string;
  /** For an IPv6 address judged by the IPv4 address it embeds: that IPv6 address and its form. */
  embeddedIn?: { address: string; via: string };
}

/** A connection the policy refused; `code` is stable, the message names the address and the way out. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
  readonly code = 'outbound_refused';
  constructor(
    readonly refusal: Refusal,
    host?: string,
  ) {
    super(`refused to connect to ${refusedTarget(refusal, host)}: ${describeRefusal(refusal)}`);
  }
}

/**
 * "10.0.0.5", "localhost (127.0.0.1)", "64:ff9b::a9fe:a9fe (169.254.169.254 through the NAT64
 * prefix 64:ff9b::/96)", "evil.example (64:ff9b::a9fe:a9fe, 169.254.169.254 through …)".
 */
function refusedTarget(refusal: Refusal, host: string | undefined): string {
  const embedded = refusal.embeddedIn;
  if (!embedded) return host && host !== refusal.address ? `${host} (${refusal.address})` : refusal.address;
  const reached = `${refusal.address} through ${embedded.via}`;
  if (!host || normalizeAddress(host) === embedded.address) return `${embedded.address} (${reached})`;
  return `${host} (${embedded.address}, ${reached})`;
}

/** "link-local address (169.254.0.0/16, fe80::/10; …), never contacted unless OUTBOUND_ALLOW_CIDRS lists it". */
export function describeRefusal(refusal: Refusal): string {
  const ranges = `${refusal.cidrs.join(', ')}${refusal.note ? `; ${refusal.note}` : ''}`;
  // The allow list is matched against the judged address: the IPv4 one of an embedding form.
  const it = refusal.embeddedIn ? refusal.address : 'it';
  const why = refusal.always
    ? `never contacted unless OUTBOUND_ALLOW_CIDRS lists ${it}`
    : `refused because OUTBOUND_DENY_PRIVATE=true; list ${it} in OUTBOUND_ALLOW_CIDRS to allow it`;
  return `${refusal.range} address (${ranges}), ${why}`;
}

/**
 * The address as the connection will use it: an IPv4-mapped IPv6 address (::ffff:169.254.169.254,
 * ::ffff:a9fe:a9fe) is the IPv4 address it reaches, and a zone (fe80::1%eth0) is dropped.
 */
export function normalizeAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(bare) !== 6) return bare;
  // WHATWG URL writes every IPv6 address in one canonical, compressed, lower-case hex form. It runs
  // in a DNS callback: a throw there would end the process, so an address it rejects stays as is.
  const canonical = URL.canParse(`http://[${bare}]/`)
    ? new URL(`http://[${bare}]/`).hostname.slice(1, -1)
    : bare.toLowerCase();
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

export type OutboundPolicy = ReturnType<typeof createOutboundPolicy>;

/** The policy: which addresses may be connected to. Built once from the configuration. */
export function createOutboundPolicy(settings: OutboundSettings) {
  const classes = RANGES.filter((range) => range.always || settings.denyPrivate).map((range) => ({
    ...range,
    has: cidrMatcher(range.cidrs),
  }));
  const allowed = cidrMatcher(settings.allowCidrs);

  /** The refusal of one address as it is (an IPv4 or a plain IPv6 address), or undefined. */
  function judge(address: string): Refusal | undefined {
    if (allowed(address)) return undefined;
    const found = classes.find((range) => range.has(address));
    return found && { address, range: found.name, cidrs: found.cidrs, always: found.always, note: found.note };
  }

  /**
   * Why a connection to this IP address is refused, or undefined when it may be made. An IPv6
   * address that embeds an IPv4 address (NAT64, 6to4, Teredo, …; embedded-ipv4.ts) is judged as
   * that IPv4 address, OUTBOUND_ALLOW_CIDRS included: listing 64:ff9b::/96 to let NAT64 through
   * must not open 169.254.169.254 by way of it.
   */
  function refusal(address: string): Refusal | undefined {
    const normal = normalizeAddress(address);
    if (isIP(normal) === 0) return undefined;
    const embedded = embeddedIpv4s(normal);
    if (embedded.length === 0) return judge(normal);
    for (const { ipv4, via } of embedded) {
      const found = judge(ipv4);
      if (found) return { ...found, embeddedIn: { address: normal, via } };
    }
    return undefined;
  }

  return {
    settings,
    refusal,

    /**
     * A URL whose host is an IP address in a refused range, as a message for the one who set it;
     * undefined otherwise. A host name can only be checked when it is resolved, at connection time.
     * URL parsing has already turned decimal and hex forms (http://2852039166/) into dotted ones.
     */
    urlRefusal(url: string): string | undefined {
      return URL.canParse(url) ? hostRefusal(new URL(url).hostname) : undefined;
    },

    /** The same for a configured host (an SMTP server, an SFTP poll host): only an IP address is judged. */
    hostRefusal,
  };

  function hostRefusal(hostname: string): string | undefined {
    const host = hostname.replace(/^\[|\]$/g, '');
    const found = isIP(host) ? refusal(host) : undefined;
    return found && new OutboundRefusedError(found, host).message;
  }
}
