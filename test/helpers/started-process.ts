import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the output contains `text` (rejects if the process exits first). */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the process and its whole process group (npm, sh, node, cluster children). */
  killGroup(): void;
}

const running = new Set<StartedProcess>();

/**
 * Runs a command as a real process in its own process group, with only the given environment (plus
 * PATH and HOME), so a test can signal it like a user or a supervisor would and always clean up
 * every process it started (killAllStarted in afterEach/afterAll).
 */
export function startProcess(command: string, args: string[], env: Record<string, string>): StartedProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const listeners = new Set<() => void>();
  const collect = (d: Buffer) => {
    out += d.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started: StartedProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 90_000) {
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      if (seen()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = (err?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        };
        const check = () => seen() && done();
        const timer = setTimeout(
          () => done(new Error(`no ${String(text)} within ${timeoutMs} ms:\n${out.slice(-2000)}`)),
          timeoutMs,
        );
        listeners.add(check);
        void exited.then(
          ({ code }) => !seen() && done(new Error(`exited (${code}) before ${String(text)}:\n${out.slice(-2000)}`)),
        );
      });
    },
    killGroup() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** Kills every process group this file started and that is still running. */
export function killAllStarted(): void {
  for (const p of running) p.killGroup();
}

/** The compiled gateway CLI, as `npm start` and bin/webhook-gateway.js run it. */
export const startBuilt = (args: string[], env: Record<string, string>) =>
  startProcess(process.execPath, ['dist/main.js', ...args], env);

/** Is something answering HTTP on this port? */
export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}
