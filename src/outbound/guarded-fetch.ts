import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { createOutboundPolicy, OutboundRefusedError, type OutboundPolicy, type OutboundSettings } from './policy';

// The check is made where the socket is opened, on the addresses it will really use: a check of the
// URL before the request would let DNS rebinding through (the name resolves to a public address
// for the check, to 169.254.169.254 for the connection), and would miss every redirect hop and
// every new connection of a kept-alive pool. net.connect calls `lookup` only for names, never for
// IP literals (http://169.254.169.254/, http://[::ffff:a9fe:a9fe]/), so the connector checks those
// itself before handing them on.

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup that keeps only the addresses the policy allows. A name with none left fails with
 * the refusal of its first address; a name with some left connects only to those (a dual-stack
 * `localhost` with 127.0.0.1 allowed and ::1 not is reached over 127.0.0.1).
 */
function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const usable = addresses.filter((a) => policy.refusal(a.address) === undefined);
      if (usable.length === 0) {
        const first = addresses[0];
        const refusal = first && policy.refusal(first.address);
        if (!refusal) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
        return callback(new OutboundRefusedError(refusal, hostname), []);
      }
      if (options.all) return callback(null, usable);
      callback(null, usable[0]!.address, usable[0]!.family);
    });
  };
}

/** undici's connector with the policy applied to IP literals and to every resolved name. */
function guardedConnector(policy: OutboundPolicy): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup(policy) } as buildConnector.BuildOptions);
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    const refusal = isIP(host) ? policy.refusal(host) : undefined;
    if (refusal) return callback(new OutboundRefusedError(refusal, host), null);
    connect(options, callback);
  };
}

/**
 * A fetch that connects only where the policy allows. It calls the global fetch at each request
 * (so a test's msw interception still applies) with a dispatcher of its own; a refused connection
 * rejects with the OutboundRefusedError itself, not fetch's bare "fetch failed", at once (no
 * connect timeout is waited for).
 */
export function createGuardedFetch(policy: OutboundPolicy): typeof fetch {
  const dispatcher = new Agent({ connect: guardedConnector(policy) });
  return async (input, init) => {
    try {
      return await globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
    } catch (err) {
      if (err instanceof Error && err.cause instanceof OutboundRefusedError) throw err.cause;
      throw err;
    }
  };
}

/** The policy and the fetch that applies it, built once per gateway and handed to whoever sends. */
export interface Outbound {
  policy: OutboundPolicy;
  fetch: typeof fetch;
}

/** The gateway's outbound policy from its configuration, and the fetch that enforces it. */
export function createOutbound(settings: OutboundSettings): Outbound {
  const policy = createOutboundPolicy(settings);
  return { policy, fetch: createGuardedFetch(policy) };
}
