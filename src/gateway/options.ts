import type { Logger } from 'pino';
import type { ControlRoutesDeps } from '../control/routes';
import type { Database } from '../db/client';

/** Which parts run in a process: the HTTP server, the worker, or both. */
export type Role = 'web' | 'worker' | 'all';

/** What createGateway takes besides the configuration. */
export interface GatewayOptions {
  logger?: Logger;
  /** Use an already open database (tests, embedding); otherwise one is opened from config. */
  database?: Database;
  /** Which parts run in this process. Default: all. */
  role?: Role;
  /** Records every control-plane change (sources, secrets, pause) with before/after, secrets redacted. */
  audit?: ControlRoutesDeps['audit'];
  /**
   * This process's name in a `start --web-processes` group (web-0…, worker), given by the
   * supervisor only: /metrics on PORT then answers for every process of the group.
   */
  clusterProcess?: string;
}
