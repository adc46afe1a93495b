import { createHash } from 'node:crypto';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartupError } from '../config/errors';
import { readTextFileLimited } from '../config/read-text-file';

/**
 * One process per embedded database. PGlite is a single-process database: two gateways (or a gateway
 * and `migrate`) on one DATA_DIR would both write its files and lose acknowledged events. The owner
 * listens on a local socket named after the directory — on Linux in the abstract namespace, which the
 * kernel releases the moment the process dies (even by kill -9), so a stale lock cannot exist and
 * two starters cannot both win; elsewhere a socket file, found stale when nobody answers on it.
 * `gateway.pid` in the directory only says who holds it, for the refusal message.
 */
export interface DataDirLock {
  /**
   * The process whose gateway.pid was still there: it held the directory and ended without
   * releasing it (killed, or the machine stopped), so the database was not closed cleanly.
   */
  readonly uncleanStop?: { pid: number; started: string };
  release(): Promise<void>;
}

const OWNER_FILE = 'gateway.pid';

/** Takes the directory's lock or throws a StartupError naming the process that holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = realpathSync(dataDir);
  const address = socketAddress(dir);
  const server = await listenOrNull(address).then(async (s) => s ?? (await takeOverStale(address)));
  if (!server) throw new StartupError(heldMessage(dataDir, dir));
  // Someone connecting only checks that we are alive: answer by closing.
  server.on('connection', (socket) => socket.destroy());
  server.unref();
  const owner = join(dir, OWNER_FILE);
  // release() removes the file: one still here was left by a holder that never released.
  const uncleanStop = readOwner(dir);
  writeFileSync(
    owner,
    `${JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() })}\n`,
  );
  return {
    uncleanStop,
    async release() {
      rmSync(owner, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function socketAddress(dir: string): string {
  const key = createHash('sha256').update(dir).digest('hex').slice(0, 32);
  if (process.platform === 'linux') return `\0webhook-gateway-${key}`;
  if (process.platform === 'win32') return `\\\\.\\pipe\\webhook-gateway-${key}`;
  return join(tmpdir(), `webhook-gateway-${key}.sock`);
}

function listenOrNull(address: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen(address, () => resolve(server));
  });
}

/** Socket files (not Linux, not Windows) outlive a killed process: one nobody answers on is stale. */
async function takeOverStale(address: string): Promise<Server | null> {
  if (address.startsWith('\0') || address.startsWith('\\\\')) return null;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(address);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) return null;
  rmSync(address, { force: true });
  return listenOrNull(address);
}

/** gateway.pid's holder, or undefined when there is none (or it is not ours to read). */
function readOwner(dir: string): { pid: number; started: string } | undefined {
  try {
    // Bounded like every read of a path: the file is ours, but the directory is the operator's.
    const owner = JSON.parse(readTextFileLimited(join(dir, OWNER_FILE), 4096)) as { pid?: unknown; started?: unknown };
    if (typeof owner.pid === 'number' && typeof owner.started === 'string')
      return { pid: owner.pid, started: owner.started };
  } catch {
    // missing (written a moment after the lock is taken, removed on release) or not ours
  }
  return undefined;
}

function heldMessage(dataDir: string, dir: string): string {
  const owner = readOwner(dir);
  const holder = owner ? `process ${owner.pid} (started ${owner.started})` : 'another process';
  return (
    `DATA_DIR ${dataDir} is in use by ${holder}: the embedded database allows one process. ` +
    'Stop that process first, or set DATABASE_URL to use PostgreSQL, which several processes can share.'
  );
}
