import type { IncomingMessage } from 'node:http';
import { isIP, isIPv6, type Socket } from 'node:net';
import type { Context } from 'hono';

/**
 * The address a request came from, as a rate-limit key. `trustedProxies` is how many reverse
 * proxies stand in front of the gateway (TRUST_PROXY). Each appends the address it received the
 * request from to X-Forwarded-For, so the entry appended by the outermost trusted proxy — the
 * `trustedProxies`-th from the right — is the client; everything left of it is the client's own
 * claim and ignored. With no trusted proxy the header is ignored altogether (anyone can send it).
 */
export function clientAddress(c: Context, trustedProxies: number): string {
  const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
  if (trustedProxies > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop.length > 0);
    const client = hops[Math.max(0, hops.length - trustedProxies)];
    if (client && isIP(client)) return addressKey(client);
  }
  if (!socket) return 'unknown';
  return socketKey(socket);
}

// The key of a connection's peer, worked out once per connection: a sender keeps its connection
// open for many requests, and `isIPv6` (a long regular expression in Node 20) was ~1 % of the
// gateway's CPU in an end-to-end burst when run for each (2026-12-04, `--cpu-prof`).
const keyOfSocket = new WeakMap<Socket, string>();

function socketKey(socket: Socket): string {
  let key = keyOfSocket.get(socket);
  if (key === undefined) {
    key = addressKey(socket.remoteAddress ?? 'unknown');
    keyOfSocket.set(socket, key);
  }
  return key;
}

/**
 * IPv4 as is (also when written IPv4-mapped, ::ffff:1.2.3.4); IPv6 by its /64, because one host
 * commonly holds a whole /64 and could otherwise rotate through 2^64 fresh buckets.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
