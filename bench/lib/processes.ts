import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every child the bench started and has not yet seen exit: stopped on the way out, whatever happens. */
const children = new Set<ChildProcess>();

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed (stdout and stderr). */
  output(): string;
  /** Resolves with the first stdout line that satisfies `match`. */
  line(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  send(text: string): void;
  stop(): Promise<void>;
}

/**
 * Runs a TypeScript file of this repository with `node --import tsx`; the gateway itself
 * (src/main.ts) runs from its build, dist/main.js, as `npm start` runs it.
 */
export function spawnNode(script: string, args: string[], env: Record<string, string>): NodeProcess {
  const command =
    script === 'src/main.ts'
      ? [...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/main.js']
      : ['--import', 'tsx', script];
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      ...(script === 'src/main.ts' ? gatewayEnv() : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  let out = '';
  let pending = '';
  const waiters = new Set<(line: string) => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) for (const waiter of waiters) waiter(line);
  });
  child.stderr!.on('data', (d: Buffer) => (out += d));
  return {
    child,
    pid: child.pid!,
    output: () => out,
    line(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${script}: no matching output within ${timeoutMs} ms\n${out.slice(-2000)}`)),
          timeoutMs,
        );
        const onExit = () => done(new Error(`${script} exited early (${child.exitCode})\n${out.slice(-2000)}`));
        const waiter = (line: string) => match(line) && done(undefined, line);
        function done(err?: Error, line?: string) {
          clearTimeout(timer);
          waiters.delete(waiter);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(line!);
        }
        waiters.add(waiter);
        child.once('exit', onExit);
      });
    },
    send(text) {
      child.stdin!.write(text);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** BENCH_GATEWAY_ENV="NAME=value NAME=value": settings added to every gateway process, for side-by-side runs of one setting. */
function gatewayEnv(): Record<string, string> {
  const pairs = (process.env.BENCH_GATEWAY_ENV ?? '').split(' ').filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_GATEWAY_ENV: "${pair}" is not NAME=value`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** Kills every child still running (used on the way out, also after a failure). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** Resident set size now and its peak over the process's life (VmRSS, VmHWM), in MB. */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux). */
let clockTicks: number | undefined;
const ticksPerSecond = () =>
  (clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

/** CPU seconds (user + system) a process has used so far (/proc/<pid>/stat); NaN when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds used so far by the processes of the PostgreSQL server on this machine (command line
 * starting with "postgres": its backends, WAL writer, checkpointer). A process that exits between
 * two readings takes its time with it; the bench's pools keep their backends for the whole phase.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!command.startsWith('postgres')) continue;
    const seconds = cpuSecondsOf(Number(pid));
    if (Number.isFinite(seconds)) total += seconds;
  }
  return total;
}

/** A free loopback port (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once GET url answers 2xx. */
export async function waitUntilUp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}
