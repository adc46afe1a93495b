import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { guardedLookup } from './guarded-lookup';
import { createGuardedSocketOpener, type OpenSocket } from './guarded-socket';
import { createOutboundPolicy, OutboundRefusedError, type OutboundPolicy, type OutboundSettings } from './policy';

// The check is made where the socket is opened, on the addresses it will really use: a check of the
// URL before the request would let DNS rebinding through (the name resolves to a public address
// for the check, to 169.254.169.254 for the connection), and would miss every redirect hop and
// every new connection of a kept-alive pool. net.connect calls `lookup` only for names, never for
// IP literals (http://169.254.169.254/, http://[::ffff:a9fe:a9fe]/), so the connector checks those
// itself before handing them on.

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

/** The policy and what applies it, built once per gateway and handed to whoever sends. */
export interface Outbound {
  policy: OutboundPolicy;
  /** HTTP: deliveries, webhook and Slack alert notices, SPS REST calls. */
  fetch: typeof fetch;
  /** Plain TCP: the SMTP server of email alerts, SFTP poll hosts. */
  openSocket: OpenSocket;
}

/** The gateway's outbound policy from its configuration, and the fetch and socket opener that enforce it. */
export function createOutbound(settings: OutboundSettings): Outbound {
  const policy = createOutboundPolicy(settings);
  return { policy, fetch: createGuardedFetch(policy), openSocket: createGuardedSocketOpener(policy) };
}
