import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process';

// A real OpenSSH sshd for the SFTP poll tests, started by the test itself: on a random high
// loopback port (never 22), with its own host key and config in a temporary folder, serving only
// a chrooted, SFTP-only test user. Needs Debian's openssh-server and root (to create the user and
// because sshd must start as root to switch to it). Stopped and cleaned up by stop().

const SSHD = '/usr/sbin/sshd';
const USER = 'gw-sftp-test';
/** sshd refuses a chroot unless every component is root-owned and not group/world-writable: not /tmp. */
const CHROOT_BASE = '/var/lib/gw-sftp-test';

export interface TestSshd {
  host: string;
  port: number;
  username: string;
  password: string;
  /** OpenSSH private key text of an authorised client key. */
  privateKey: string;
  /** `SHA256:…` of the server's host key. */
  hostFingerprint: string;
  /** Absolute local path of the user's `out/` folder (what SPS fills). */
  outDir: string;
  stop(): Promise<void>;
}

/** Why an SFTP test cannot run here, or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'the SFTP test must run as root to create its chrooted user and start sshd';
  return undefined;
}

const run = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

/** Creates the SFTP-only system user once (no shell, no home), and gives it a fresh password. */
function ensureUser(password: string): { uid: number; gid: number } {
  try {
    run('id', ['-u', USER]);
  } catch {
    run('useradd', [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      USER,
    ]);
  }
  run('chpasswd', [], `${USER}:${password}\n`);
  return { uid: Number(run('id', ['-u', USER]).trim()), gid: Number(run('id', ['-g', USER]).trim()) };
}

export async function startTestSshd(): Promise<TestSshd> {
  const password = randomBytes(12).toString('hex');
  const { uid, gid } = ensureUser(password);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation folder

  mkdirSync(CHROOT_BASE, { recursive: true, mode: 0o755 });
  const chroot = mkdtempSync(join(CHROOT_BASE, 'root-'));
  chmodSync(chroot, 0o755);
  const outDir = join(chroot, 'out');
  for (const dir of [outDir, join(chroot, 'testout')]) {
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, uid, gid); // the user must be able to delete what it took
  }

  const keys = mkdtempSync(join(tmpdir(), 'gw-sshd-'));
  chmodSync(keys, 0o755); // sshd reads authorized_keys as the user
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gw-test-host', '-f', join(keys, 'host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gw-test-client', '-f', join(keys, 'client_key')]);
  writeFileSync(join(keys, 'authorized_keys'), readFileSync(join(keys, 'client_key.pub')), { mode: 0o644 });
  const hostFingerprint = run('ssh-keygen', ['-l', '-f', join(keys, 'host_key.pub')]).split(' ')[1]!;

  const port = await freePort();
  const config = join(keys, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(keys, 'host_key')}`,
      `PidFile ${join(keys, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(keys, 'authorized_keys')}`,
      `AllowUsers ${USER}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'Subsystem sftp internal-sftp',
      `ChrootDirectory ${chroot}`,
      'ForceCommand internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  run(SSHD, ['-t', '-f', config]);

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child, () => stderr);

  return {
    host: '127.0.0.1',
    port,
    username: USER,
    password,
    privateKey: readFileSync(join(keys, 'client_key'), 'utf8'),
    hostFingerprint,
    outDir,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(keys, { recursive: true, force: true });
      rmSync(chroot, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited at start: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}
