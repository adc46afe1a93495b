import { chmodSync, readdirSync, statSync } from 'node:fs';
import { StartupError } from '../config/errors';

/** What only the owner may do: PostgreSQL's own data directories are 0700 too. */
export const DATA_DIR_MODE = 0o700;

/**
 * PGlite creates its files readable and writable by everyone (0666 whatever the umask: 968 of the
 * 1,298 files of a new DATA_DIR), so any local user who can enter the directory could rewrite
 * acknowledged events. The directory is what keeps them out: it is made the owner's alone, as
 * PostgreSQL requires of its data directory. Only a directory that is the gateway's (empty, or
 * already holding PGlite's PG_VERSION) is changed; one that holds other files is refused instead,
 * since changing the mode of, say, a home directory would surprise its owner.
 */
export function keepDataDirPrivate(dataDir: string): void {
  const mode = statSync(dataDir).mode & 0o7777;
  if ((mode & 0o077) === 0) return;
  // gateway.pid is the lock's own note (src/db/data-dir-lock.ts), written before this runs.
  const entries = readdirSync(dataDir).filter((name) => name !== 'gateway.pid');
  const octal = mode.toString(8).padStart(4, '0');
  if (entries.length > 0 && !entries.includes('PG_VERSION')) {
    throw new StartupError(
      `DATA_DIR ${dataDir} can be entered by other users (mode ${octal}) and holds other files: ` +
        `point DATA_DIR at a directory of its own (it is created if missing), or run chmod 700 ${dataDir}.`,
    );
  }
  try {
    chmodSync(dataDir, mode & ~0o077 & 0o7777);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StartupError(
      `DATA_DIR ${dataDir} can be entered by other users (mode ${octal}) and this user cannot change that (${code}): ` +
        `run chmod 700 ${dataDir} as its owner, or point DATA_DIR at a directory of this user's own.`,
    );
  }
}
