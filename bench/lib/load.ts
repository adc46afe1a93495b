import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  body: string;
  headers: Record<string, string>;
  /** Header that gets a new unique value in every request (the webhook id). */
  idHeader: string;
}

export interface LoadResult {
  tool: LoadTool;
  connections: number;
  durationSec: number;
  /** Requests answered 2xx: for a durable server, events acknowledged after their commit. */
  ok: number;
  /** Answers that were not 2xx, plus connection errors and timeouts. */
  failed: number;
  okPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export type LoadTool = 'wrk' | 'autocannon';

/** wrk when it is installed (it costs the 2-core machine far less CPU), autocannon otherwise; BENCH_LOAD_TOOL forces one. */
export function pickLoadTool(): LoadTool {
  const forced = process.env.BENCH_LOAD_TOOL;
  if (forced === 'wrk' || forced === 'autocannon') return forced;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
}

/** Drives `url` with `connections` keep-alive connections for `durationSec`, each request with a fresh id. */
export function runLoad(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(options) : runAutocannon(options);
}

async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.durationSec,
    method: 'POST',
    body: o.body,
    // [<id>] becomes a unique id in every request (autocannon's idReplacement).
    headers: { ...o.headers, [o.idHeader]: '[<id>]' },
    idReplacement: true,
  });
  const ok = result['2xx'];
  return {
    tool: 'autocannon',
    connections: o.connections,
    durationSec: result.duration,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    okPerSec: ok / result.duration,
    // autocannon's latency histogram has 1 ms resolution.
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  const script = join(dir, 'post.lua');
  const lua = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal here (ASCII)
  writeFileSync(
    script,
    `wrk.method = "POST"
wrk.body = ${lua(o.body)}
${Object.entries(o.headers)
  .map(([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`)
  .join('\n')}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", ${lua(randomBytes(6).toString('hex'))} .. "-" .. threads)
end
local counter = 0
function request()
  counter = counter + 1
  wrk.headers[${lua(o.idHeader)}] = prefix .. "-" .. counter
  return wrk.format()
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`,
  );
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', [
        '-t1',
        `-c${o.connections}`,
        `-d${o.durationSec}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        o.url,
      ]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`))));
    });
    const line = output.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`wrk printed no result: ${output}`);
    const r = JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
    const failed = r.status! + r.connect! + r.read! + r.write! + r.timeout!;
    const durationSec = r.durationUs! / 1e6;
    const ok = r.requests! - r.status!;
    return {
      tool: 'wrk',
      connections: o.connections,
      durationSec,
      ok,
      failed,
      okPerSec: ok / durationSec,
      p50Ms: r.p50! / 1000,
      p99Ms: r.p99! / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
