import type { Logger } from 'pino';
import type { OpenSocket } from '../outbound/guarded-socket';
import type { PollSourceOptions } from './config';
import type { PullSource } from './source';
import { createSpsRestSource } from './sps/rest';
import { createSpsSftpSource } from './sps/sftp';

export interface PullSourceDeps {
  logger: Logger;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Opens SFTP connections under the outbound policy; ssh2 connects by itself when omitted. */
  openSocket?: OpenSocket;
  /** Clock of token caches (tests move it to expire tokens). */
  now?: () => number;
}

/** The pull source for a configured poll source, by its kind. */
export function createPullSource(options: PollSourceOptions, deps: PullSourceDeps): PullSource {
  switch (options.kind) {
    case 'sps-rest':
      return createSpsRestSource(options, { fetch: deps.fetch, now: deps.now });
    case 'sps-sftp':
      return createSpsSftpSource(options, { logger: deps.logger, openSocket: deps.openSocket });
  }
}
