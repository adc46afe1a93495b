import type { GatewayConfig } from '../config/env';
import { StartupError } from '../config/errors';

/**
 * Start-up failures a user can fix, as one line that says how (printed without a stack trace, exit
 * 2): the port is taken, HOST is not an address of this machine, PostgreSQL is down, missing or
 * refuses us, DATA_DIR is unusable. Anything else is a bug or an unknown condition and keeps its stack.
 */
export function describeStartupFailure(err: unknown, config: GatewayConfig): string | undefined {
  if (err instanceof StartupError) return err.message;
  const e = err as NodeJS.ErrnoException & { syscall?: string; address?: string; port?: number; hostname?: string };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (!code) return undefined;
  if (e.syscall === 'listen' || e.syscall === 'bind') {
    const where = `${config.host}:${config.port}`;
    if (code === 'EADDRINUSE')
      return `port ${config.port} is already in use (${where}): stop the process using it, or set PORT to a free port.`;
    if (code === 'EACCES')
      return `not allowed to listen on ${where}: ports below 1024 need privileges; set PORT to 1024 or above.`;
    if (code === 'EADDRNOTAVAIL')
      return `HOST=${config.host} is not an address of this machine: set HOST to 0.0.0.0 (every interface), 127.0.0.1, or one of its addresses.`;
  }
  if (code === 'ENOTFOUND' && e.syscall === 'getaddrinfo' && e.hostname === config.host) {
    return `HOST=${config.host} does not resolve: set HOST to 0.0.0.0 (every interface), 127.0.0.1, or one of this machine's addresses.`;
  }
  if (config.database.url) return describeDatabaseFailure(code, e, config.database.url);
  return undefined;
}

function describeDatabaseFailure(code: string, e: NodeJS.ErrnoException, url: string): string | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  // Never the password: only host, port, database and user.
  const server = `${target.hostname || 'localhost'}:${target.port || 5432}`;
  const database = decodeURIComponent(target.pathname.replace(/^\//, '')) || target.username || 'postgres';
  const user = decodeURIComponent(target.username) || 'the current user';
  const fix = 'fix DATABASE_URL, or unset it to use the embedded database';
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to PostgreSQL at ${server} (connection refused): start PostgreSQL there, or ${fix}.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the PostgreSQL host ${target.hostname}: ${fix}.`;
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return `PostgreSQL at ${server} did not answer in time: check that it runs and is reachable, or ${fix}.`;
    case '3D000':
      return `PostgreSQL at ${server} has no database "${database}": create it (createdb ${database}), or ${fix}.`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${server} refused user "${user}" (${code === '28P01' ? 'wrong password' : 'not allowed'}): ${fix}.`;
    case '57P03':
      return `PostgreSQL at ${server} is starting up or shutting down: try again in a moment.`;
    default:
      // Not allowed (42501) or out of resources (53xxx: too many connections, disk full): the
      // server's own message says which; other SQL errors are bugs and keep their stack.
      return code === '42501' || /^53[0-9A-Z]{3}$/.test(code)
        ? `PostgreSQL at ${server} refused: ${e.message} (${code}).`
        : undefined;
  }
}
