import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type SftpClient from 'ssh2-sftp-client';
import type { OpenSocket } from '../../outbound/guarded-socket';
import type { SpsSftpOptions } from '../config';
import { readLimited } from '../../http/bounded-body';
import { quotePath, unsafeName } from '../remote-path';
import { FileTooLargeError, RemoteFileError, type PullSession, type PullSource } from '../source';
import { readDirectoryBounded, TooManyEntriesError } from './sftp-listing';
import { answerWithin, eachWithin, SftpTimeoutError } from './sftp-timeouts';

/** `SHA256:<base64, no padding>` of a raw SSH host key, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * SPS's SFTP set-up: the same out/ directory convention as the REST API, files deleted after they
 * are taken. One SSH connection per run; downloads share it (SFTP multiplexes requests).
 */
export function createSpsSftpSource(
  options: SpsSftpOptions,
  deps: { logger: Logger; openSocket?: OpenSocket },
): PullSource {
  const directory = options.directory.replace(/\/+$/, '');
  const expected = options.host_fingerprint?.replace(/=$/, '');
  if (!expected) {
    // Only with insecure_accept_any_host_key: true (the configuration refuses anything else).
    deps.logger.warn(
      { source: options.name, host: options.host },
      'SFTP host key is not verified (insecure_accept_any_host_key): set host_fingerprint',
    );
  }

  return {
    kind: 'sps-sftp',
    async connect(signal) {
      let hostKeyRejected = false;
      // Loaded on the first connection: ssh2 and its crypto are only for gateways that poll SFTP.
      const { default: SftpClientClass } = await import('ssh2-sftp-client');
      const client = new SftpClientClass(options.name, {
        // Connection-level events after the session ended are expected; anything else shows up
        // as a failed call of the run, so these only note it.
        error: (err: unknown) =>
          deps.logger.debug({ source: options.name, err: message(err) }, 'SFTP connection error'),
        end: () => {},
        close: () => {},
      });
      const onAbort = () => void client.end().catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
      const started = Date.now();
      let sock: Socket | undefined;
      if (deps.openSocket) {
        // The TCP connection is opened under the outbound policy and handed to ssh2 connected
        // (its `sock` option); the SSH handshake gets what is left of connect_timeout_ms.
        try {
          sock = await deps.openSocket({
            host: options.host,
            port: options.port,
            timeoutMs: options.connect_timeout_ms,
            signal,
          });
        } catch (err) {
          signal.removeEventListener('abort', onAbort);
          throw new Error(`SFTP connect to ${options.host}:${options.port} failed: ${message(err)}`, { cause: err });
        }
      }
      let sftp: Awaited<ReturnType<SftpClient['connect']>>;
      try {
        sftp = await client.connect({
          host: options.host,
          port: options.port,
          sock,
          username: options.username,
          password: options.password,
          privateKey: options.private_key,
          passphrase: options.passphrase,
          readyTimeout: Math.max(1, options.connect_timeout_ms - (Date.now() - started)),
          retries: 0,
          hostVerifier: (key: Buffer) => {
            if (!expected) return options.insecure_accept_any_host_key;
            const presented = Buffer.from(hostKeyFingerprint(key));
            const ok = presented.length === expected.length && timingSafeEqual(presented, Buffer.from(expected));
            hostKeyRejected = !ok;
            return ok;
          },
        });
      } catch (err) {
        signal.removeEventListener('abort', onAbort);
        await client.end().catch(() => {});
        if (hostKeyRejected) {
          throw new Error(
            `SFTP ${options.host}:${options.port} presented a host key that does not match host_fingerprint`,
            { cause: err },
          );
        }
        throw new Error(`SFTP connect to ${options.host}:${options.port} failed: ${message(err)}`, { cause: err });
      }

      // A server that stops answering one request is not trusted with the others: the connection
      // is ended, so every request still waiting fails at once and the run can finish.
      const giveUp = () => void client.end().catch(() => {});
      const timeoutMs = options.operation_timeout_ms;
      const within = <T>(request: Promise<T>, what: string) => answerWithin(request, timeoutMs, what, giveUp);

      const session: PullSession = {
        async *list() {
          // Only plain files with the prefix are kept; every entry counts toward max_listing_entries.
          const keep = (entry: { name: string; type: string }) =>
            entry.type === '-' && (!options.entry_name_prefix || entry.name.startsWith(options.entry_name_prefix));
          const entries = await readDirectoryBounded(sftp, directory, options.max_listing_entries, keep, within).catch(
            (err: unknown) => {
              if (err instanceof TooManyEntriesError) {
                throw new Error(
                  `listing ${options.directory} stopped: ${err.message}; nothing was taken. ` +
                    'Move files out of the folder or raise max_listing_entries (at most 1000000)',
                  { cause: err },
                );
              }
              throw new Error(`listing ${options.directory} failed: ${message(err)}`, { cause: err });
            },
          );
          // readdir order is arbitrary; name order makes runs predictable.
          entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          for (const entry of entries) {
            const path = `${directory}/${entry.name}`;
            const problem = unsafeName(entry.name);
            if (problem)
              yield { path: quotePath(path), name: '', refusal: `${quotePath(path)} is refused: ${problem}` };
            else yield { path, name: entry.name, size: entry.size };
          }
        },

        async download(file, maxBytes) {
          if (file.size !== undefined && file.size > maxBytes)
            throw new FileTooLargeError(file.path, maxBytes, file.size);
          try {
            return await readLimited(
              eachWithin(client.createReadStream(file.path), timeoutMs, `a read of ${file.path}`, giveUp),
              maxBytes,
              () => new FileTooLargeError(file.path, maxBytes),
            );
          } catch (err) {
            if (err instanceof RemoteFileError || err instanceof SftpTimeoutError) throw err;
            if ((err as { code?: unknown }).code === 2) {
              throw new RemoteFileError(
                'file_gone',
                `${file.path} was listed but is gone (deleted by another consumer?)`,
                { cause: err },
              );
            }
            throw new Error(`downloading ${file.path} failed: ${message(err)}`, { cause: err });
          }
        },

        async acknowledge(file) {
          // notFoundOK: a file that is already gone has been acknowledged.
          await within(client.delete(file.path, true), `the remove of ${file.path}`).catch((err: unknown) => {
            if (err instanceof SftpTimeoutError) throw err;
            throw new Error(`deleting ${file.path} failed: ${message(err)}`, { cause: err });
          });
        },

        async close() {
          signal.removeEventListener('abort', onAbort);
          await client.end().catch(() => {});
        },
      };
      return session;
    },
  };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
