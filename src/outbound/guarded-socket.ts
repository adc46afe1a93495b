import { connect, isIP, type Socket } from 'node:net';
import { guardedLookup } from './guarded-lookup';
import { OutboundRefusedError, type OutboundPolicy } from './policy';

// The TCP connections the gateway opens for protocols other than HTTP — the SMTP server of email
// alerts (nodemailer's `getSocket`), SFTP poll hosts (ssh2's `sock`) — opened here under the same
// policy as the guarded fetch: an IP literal is checked before anything is sent, a name is
// resolved and only its allowed addresses are tried. The library then speaks its protocol (and
// TLS, with the configured host name) over the connected socket.

/** Where to connect, and for how long connecting may take. */
export interface SocketTarget {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Opens a connected TCP socket, or rejects (OutboundRefusedError when the policy refuses the address). */
export type OpenSocket = (target: SocketTarget) => Promise<Socket>;

/** Connecting took longer than the caller's connect timeout. */
export class SocketConnectTimeoutError extends Error {
  override name = 'SocketConnectTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/** An OpenSocket that connects only where the policy allows. */
export function createGuardedSocketOpener(policy: OutboundPolicy): OpenSocket {
  const lookup = guardedLookup(policy);
  return ({ host, port, timeoutMs, signal }) =>
    new Promise<Socket>((resolve, reject) => {
      const bare = host.replace(/^\[|\]$/g, '');
      const refusal = isIP(bare) ? policy.refusal(bare) : undefined;
      if (refusal) return reject(new OutboundRefusedError(refusal, bare));
      if (signal?.aborted) return reject(signal.reason);

      const socket = connect({ host: bare, port, lookup });
      const timer = setTimeout(
        () => fail(new SocketConnectTimeoutError(`connecting to ${host}:${port} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => fail(signal?.reason);
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', fail);
      };
      function fail(err: unknown) {
        settle();
        socket.destroy();
        reject(err);
      }
      function onConnect() {
        settle();
        resolve(socket);
      }
      socket.once('connect', onConnect);
      socket.once('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}
