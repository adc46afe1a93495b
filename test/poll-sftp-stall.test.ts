import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';

const { STATUS_CODE } = utils.sftp;

/**
 * An SFTP server (ssh2's server side, in this process) that answers the login and the listing —
 * one file, PO_1.edi — and then stops answering: every READ when `stall` is 'read', every READDIR
 * when it is 'listing'. A real sshd cannot be made to hang on one request.
 */
async function startStallingServer(stall: 'read' | 'listing') {
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const connections: Connection[] = [];
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    connections.push(client);
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        acceptSession().on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          let listed = false;
          sftp.on('OPENDIR', (id) => sftp.handle(id, Buffer.from('dir')));
          sftp.on('READDIR', (id) => {
            if (stall === 'listing') return;
            if (listed) return sftp.status(id, STATUS_CODE.EOF);
            listed = true;
            const attrs = { mode: 0o100644, size: 100, uid: 0, gid: 0, atime: 0, mtime: 0 };
            sftp.name(id, [{ filename: 'PO_1.edi', longname: '-rw-r--r-- 1 0 0 100 Jan 1 00:00 PO_1.edi', attrs }]);
          });
          sftp.on('OPEN', (id) => sftp.handle(id, Buffer.from('file')));
          sftp.on('READ', () => {}); // never answered
          sftp.on('CLOSE', (id) => sftp.status(id, STATUS_CODE.OK));
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.end();
        server.close(() => resolve());
      }),
  };
}

// ssh2 puts no time limit on an SFTP request: a server that stopped answering held the run, and
// with its heartbeat the source's lock, forever.
describe('SFTP requests the server never answers', () => {
  let readStall: Awaited<ReturnType<typeof startStallingServer>>;
  let listingStall: Awaited<ReturnType<typeof startStallingServer>>;
  let harness: PollHarness;

  beforeAll(async () => {
    readStall = await startStallingServer('read');
    listingStall = await startStallingServer('listing');
    const common = {
      kind: 'sps-sftp',
      host: '127.0.0.1',
      username: 'gw',
      password: 'any-password',
      insecure_accept_any_host_key: true,
      operation_timeout_ms: 1000,
    };
    harness = await startPollHarness('pglite', [
      { ...common, name: 'stalled-read', port: readStall.port },
      { ...common, name: 'stalled-listing', port: listingStall.port },
    ]);
  }, 120_000);
  afterAll(async () => {
    await harness?.stop();
    await readStall?.close();
    await listingStall?.close();
  });

  async function pollOnce(source: string) {
    const { status, json } = await harness.poll(source);
    expect(status).toBe(202);
    return waitForRun(harness, json.runs[0].run_id);
  }

  it('a download that stops after operation_timeout_ms is reported, and the run ends', async () => {
    const run = await pollOnce('stalled-read');
    expect(run).toMatchObject({ status: 'partial', listed: 1, stored: 0, acknowledged: 0, errors: 1 });
    expect(run.error_details).toEqual([
      {
        path: 'out/PO_1.edi',
        code: 'download_failed',
        message: 'the SFTP server did not answer a read of out/PO_1.edi within 1000 ms',
        event_id: null,
      },
    ]);
    // The lock is free again: the next run starts.
    expect((await pollOnce('stalled-read')).status).toBe('partial');
  });

  it('a listing the server never answers fails the run after operation_timeout_ms', async () => {
    const run = await pollOnce('stalled-listing');
    expect(run).toMatchObject({
      status: 'failed',
      listed: 0,
      error: 'listing out/ failed: the SFTP server did not answer READDIR within 1000 ms',
    });
  });
});
