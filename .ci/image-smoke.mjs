// CI's stand-in for building and running the Docker image (these machines have no container engine):
// copies what the Dockerfile's runtime stage copies (dist/ as `npm run build` made it), with that
// stage's ENV, into a clean folder; runs `npm ci --omit=dev` there; starts the image's CMD as an
// unprivileged user; runs the image's HEALTHCHECK command against it; sends one signed Shopify
// webhook and waits until it is completed; stops it with SIGTERM (the HEALTHCHECK must then fail);
// then starts the image as a worker-only container (`start --role worker`, WORKER_HTTP_PORT) and
// runs the HEALTHCHECK again. The Dockerfile is read, not copied, so the two cannot drift apart.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const log = (message) => process.stdout.write(`[image-smoke] ${message}\n`);

// The runtime stage: everything after `FROM … AS runtime`, continuation lines joined.
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
const stage = dockerfile.split(/^FROM .* AS runtime$/m)[1];
if (!stage) throw new Error('Dockerfile has no `FROM … AS runtime` stage');
const instructions = stage.split('\n').filter((line) => /^[A-Z]+ /.test(line));

const app = mkdtempSync(join(tmpdir(), 'image-smoke-'));
chmodSync(app, 0o755);
const env = { PATH: process.env.PATH, HOME: app };
let cmd;
let healthcheck;
try {
  for (const line of instructions) {
    const [instruction, ...rest] = line.split(/\s+/);
    if (instruction === 'ENV') {
      for (const [, name, value] of rest.join(' ').matchAll(/([A-Z_]+)=(\S+)/g)) env[name] = value;
    } else if (instruction === 'COPY') {
      const args = rest.filter((a) => !a.startsWith('--chown'));
      const fromBuild = args[0] === '--from=build';
      const paths = fromBuild ? args.slice(1) : args;
      const target = paths.pop();
      for (const source of paths) {
        // From the build stage (WORKDIR /src): the same path of this checkout, built by `npm run build`.
        const local = join(root, fromBuild ? source.replace(/^\/src\//, '') : source);
        const destination = target.endsWith('/') ? join(app, target, source.split('/').pop()) : join(app, target);
        mkdirSync(dirname(destination), { recursive: true });
        cpSync(local, destination, { recursive: true });
      }
    } else if (instruction === 'CMD') {
      cmd = JSON.parse(rest.join(' '));
    } else if (instruction === 'HEALTHCHECK') {
      const exec = rest.join(' ').split(/\bCMD\s+/)[1];
      if (!exec?.startsWith('[')) throw new Error('HEALTHCHECK must use the exec form: CMD ["node", …]');
      healthcheck = JSON.parse(exec);
    }
  }
  if (!cmd) throw new Error('Dockerfile runtime stage has no CMD');
  if (!healthcheck) throw new Error('Dockerfile runtime stage has no HEALTHCHECK');

  log(`npm ci --omit=dev in ${app}`);
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: app, env, stdio: 'inherit' });
  const dataDir = join(app, 'data');
  mkdirSync(dataDir);
  // The image runs as the unprivileged `node` user; here `nobody` owns only the data folder.
  // setpriv execs the command itself, so the signal below reaches the gateway as `docker stop`'s would.
  const asUser =
    process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'] : [];
  if (asUser.length) execFileSync('chown', ['-R', 'nobody', dataDir]);
  const port = await freePort();
  const secret = 'image-smoke-secret';
  const token = 'image-smoke-ops-token';
  const runEnv = {
    ...env,
    HOME: dataDir,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SHOPIFY_WEBHOOK_SECRET: secret,
    OPS_API_TOKEN: token,
  };
  /** Starts the image's command (as the unprivileged user) with its output collected. */
  const start = (command, startEnv) => {
    const [program, ...args] = [...asUser, ...command];
    log(`starting: ${command.join(' ')}${asUser.length ? ' as nobody' : ''}`);
    const gateway = spawn(program, args, { cwd: app, env: startEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    gateway.stdout.on('data', (d) => (output += d));
    gateway.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => gateway.once('exit', (code, signal) => resolve({ code, signal })));
    return { gateway, exited, output: () => output };
  };
  /** The HEALTHCHECK's exit code, run as Docker runs it: in the container's folder and environment. */
  const probe = (probeEnv) => {
    const [command, ...args] = [...asUser, ...healthcheck];
    try {
      execFileSync(command, args, { cwd: app, env: probeEnv, stdio: 'ignore', timeout: 10_000 });
      return 0;
    } catch (err) {
      return err.status ?? 1;
    }
  };
  const { gateway, exited, output } = start(cmd, runEnv);
  try {
    const base = `http://127.0.0.1:${port}`;
    await until(
      async () => (await fetch(`${base}/readyz`)).ok,
      180_000,
      'the gateway to be ready',
      () => output(),
    );
    if (probe(runEnv) !== 0) throw new Error(`the HEALTHCHECK failed on a ready gateway:\n${output()}`);
    log('HEALTHCHECK passes on the running gateway');
    const body = '{"id":820982911946154508,"note":"image smoke"}';
    const response = await fetch(`${base}/api/webhooks/shopify/orders/create`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
        'x-shopify-webhook-id': 'image-smoke-1',
        'x-shopify-shop-domain': 'smoke.myshopify.com',
        'x-shopify-topic': 'orders/create',
      },
    });
    const answer = await response.json();
    if (answer.status !== 'accepted')
      throw new Error(`webhook not accepted: ${response.status} ${JSON.stringify(answer)}`);
    await until(
      async () => {
        const event = await (
          await fetch(`${base}/api/events/${answer.id}`, { headers: { authorization: `Bearer ${token}` } })
        ).json();
        return event.status === 'completed';
      },
      60_000,
      'the event to be completed',
      () => output(),
    );
    log(`event ${answer.id} accepted and completed`);
    gateway.kill('SIGTERM');
    const { code } = await exited;
    if (code !== 0) throw new Error(`the gateway exited ${code} after SIGTERM:\n${output()}`);
    if (output().includes(secret) || output().includes(token)) throw new Error('a secret appeared in the output');
    if (probe(runEnv) === 0) throw new Error('the HEALTHCHECK passed with no gateway running');
    log('stopped cleanly, HEALTHCHECK fails once stopped: OK');
  } finally {
    gateway.kill('SIGKILL');
  }

  // A worker-only container: no web port, its probes on WORKER_HTTP_PORT.
  const workerEnv = { ...runEnv, WORKER_HTTP_PORT: String(await freePort()) };
  const worker = start([...cmd, '--role', 'worker'], workerEnv);
  try {
    await until(
      async () => probe(workerEnv) === 0,
      120_000,
      'the HEALTHCHECK to pass on a worker-only container',
      () => worker.output(),
    );
    worker.gateway.kill('SIGTERM');
    const { code } = await worker.exited;
    if (code !== 0) throw new Error(`the worker exited ${code} after SIGTERM:\n${worker.output()}`);
    log('HEALTHCHECK passes on a worker-only container (WORKER_HTTP_PORT): OK');
  } finally {
    worker.gateway.kill('SIGKILL');
  }
} finally {
  rmSync(app, { recursive: true, force: true });
}

async function until(check, timeoutMs, what, output) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
