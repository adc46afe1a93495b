import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<CliRun>;
}

/**
 * `webhook-gateway <args>` as a real child process (what `npm run cli -- <args>` runs), with only
 * the given environment (plus PATH and HOME), so the developer's own variables never leak in.
 */
export function spawnCli(args: string[], env: Record<string, string> = {}, entry = 'src/main.ts'): CliProcess {
  const command = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<CliRun>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * The compiled CLI (what `npx webhook-gateway` runs), built from the current sources by the test
 * global setup. It starts in about 0.7 s where `--import tsx src/main.ts` takes 1.8 s (measured idle),
 * which matters to files that run dozens of CLI processes.
 */
export const COMPILED_CLI = 'dist/main.js';

/** Option values a failure message must not repeat (test secrets, but secrets all the same). */
const SECRET_OPTIONS = new Set(['--token', '--secret']);

/** `webhook-gateway <args>` as a failure message names it, with secret option values masked. */
export function describeCli(args: string[]): string {
  const shown = args.map((arg, i) => (i > 0 && SECRET_OPTIONS.has(args[i - 1]!) ? '***' : arg));
  return `webhook-gateway ${shown.join(' ')}`;
}

/**
 * Runs the CLI to completion and returns its exit code and output. A run still going after
 * `timeoutMs` is killed and fails naming the command, so a slow case among several says which it was
 * (a bare exit code null did not). `entry` as for spawnCli: COMPILED_CLI skips tsx.
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  entry = 'src/main.ts',
): Promise<CliRun> {
  const run = spawnCli(args, env, entry);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    run.child.kill('SIGKILL');
  }, timeoutMs);
  const result = await run.exited;
  clearTimeout(timer);
  if (timedOut)
    throw new Error(
      `${describeCli(args)} did not exit within ${timeoutMs} ms; stderr so far: ${result.stderr || '(none)'}`,
    );
  return result;
}

type Results<T extends readonly (() => Promise<unknown>)[]> = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };

/**
 * Runs independent CLI calls `concurrency` at a time, results in the order given. Each CLI process
 * spends about a CPU-second starting (tsx); eight at once on a loaded 2-core machine starved each
 * other past their limit, two at a time finish in the same wall time without the pile-up.
 */
export async function inTurns<const T extends readonly (() => Promise<unknown>)[]>(
  tasks: T,
  concurrency = 2,
): Promise<Results<T>> {
  const results: unknown[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, lane));
  return results as Results<T>;
}
