import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A free loopback port (asked of the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node --import tsx src/main.ts` (what `npm start` runs) as a real child process. */
export function spawnGateway(args: string[], env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** Resolves once GET url answers 200. */
export async function waitUntilHealthy(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become healthy`);
}

/**
 * Spawns a gateway on a free port and resolves with its base URL once /healthz answers. The
 * process joins `procs` before the wait, so the test's afterAll stops it even if it never gets healthy.
 */
export async function spawnHealthyGateway(
  procs: GatewayProcess[],
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<string> {
  const port = await freePort();
  procs.push(spawnGateway(args, { ...env, PORT: String(port) }));
  const base = `http://127.0.0.1:${port}`;
  await waitUntilHealthy(`${base}/healthz`, timeoutMs);
  return base;
}

/** Sends SIGTERM to every process and waits until all have exited. */
export async function stopGateways(procs: GatewayProcess[]): Promise<void> {
  for (const proc of procs) proc.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
}
