import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/process';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the test's own (never the shared one): initdb into a temp dir, a random
 * port, run as the postgres user, so the test may stop it with `-m immediate` or kill -9 it.
 */
export interface OwnPostgres {
  url: string;
  /** Shutdown without a checkpoint, as in a crash: every connection is cut. */
  stopImmediate(): void;
  /** kill -9 of the postmaster; waits until its backends are gone too. */
  kill9(): Promise<void>;
  start(): Promise<void>;
  destroy(): void;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-own-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const { uid, gid } = postgresUser();
  chownSync(dir, uid, gid);
  const port = await freePort();
  const asPostgres = (command: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: 'pipe', timeout: 120_000 });
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const start = async () => {
    // After a kill -9 the old shared memory may linger a moment: retry until the server takes it.
    for (let attempt = 0; ; attempt++) {
      const run = spawnSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          join(BIN, 'pg_ctl'),
          'start',
          '-w',
          '-t',
          '60',
          '-D',
          data,
          '-l',
          join(dir, 'log'),
          '-o',
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
        ],
        { stdio: 'pipe', timeout: 90_000 },
      );
      if (run.status === 0) return;
      if (attempt >= 20)
        throw new Error(
          `own PostgreSQL did not start: ${run.stderr}\n${readFileSync(join(dir, 'log'), 'utf8').slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stopImmediate: () => asPostgres('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', data]),
    async kill9() {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const children = childrenOf(pid);
      process.kill(pid, 'SIGKILL');
      // Backends notice their postmaster died and exit; wait until they are gone.
      for (let i = 0; i < 300 && children.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    },
    start,
    destroy() {
      spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), 'stop', '-m', 'immediate', '-D', data], {
        stdio: 'ignore',
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user on this machine (install PostgreSQL 15)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function childrenOf(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out ? out.split('\n').map(Number) : [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
