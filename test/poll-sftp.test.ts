import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { startTestSshd, sshdUnavailable, type TestSshd } from './helpers/poll-sshd';
import { x12PurchaseOrder } from './helpers/poll-x12';

// The SFTP variant against a real OpenSSH server on loopback, with a chrooted SFTP-only user.
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`SFTP poll tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  unavailable ? `SPS over SFTP (skipped: ${unavailable})` : 'SPS over SFTP, real sshd on loopback',
  () => {
    let sshd: TestSshd;
    let harness: PollHarness;

    beforeAll(async () => {
      sshd = await startTestSshd();
      const common = { kind: 'sps-sftp', host: sshd.host, port: sshd.port, username: sshd.username };
      harness = await startPollHarness('pglite', [
        {
          ...common,
          name: 'sftp-key',
          private_key: sshd.privateKey,
          host_fingerprint: sshd.hostFingerprint,
          entry_name_prefix: 'PO',
          max_file_bytes: 4096,
          concurrency: 4,
        },
        {
          ...common,
          name: 'sftp-password',
          password: sshd.password,
          host_fingerprint: sshd.hostFingerprint,
          directory: 'testout/',
        },
        {
          ...common,
          name: 'sftp-bounded',
          password: sshd.password,
          host_fingerprint: sshd.hostFingerprint,
          directory: 'bulk/',
          max_listing_entries: 5,
        },
        { ...common, name: 'sftp-wrong-host', password: sshd.password, host_fingerprint: `SHA256:${'A'.repeat(43)}` },
        { ...common, name: 'sftp-wrong-password', password: 'not-the-password', insecure_accept_any_host_key: true },
      ]);
    });
    afterAll(async () => {
      await harness?.stop();
      await sshd?.stop();
    });

    async function pollOnce(source: string) {
      const { status, json } = await harness.poll(source);
      expect(status).toBe(202);
      return waitForRun(harness, json.runs[0].run_id);
    }
    const out = () => readdirSync(sshd.outDir).sort();

    it('takes every matching file once, deletes it after storing, and leaves the rest', async () => {
      for (let i = 1; i <= 9; i++) writeFileSync(join(sshd.outDir, `PO_${i}.edi`), x12PurchaseOrder(`PO-${i}`));
      writeFileSync(join(sshd.outDir, 'INV_1.edi'), 'an invoice: not ours (prefix PO)');
      writeFileSync(join(sshd.outDir, 'PO_huge.edi'), 'Z'.repeat(10_000));
      mkdirSync(join(sshd.outDir, 'PO_archive'));

      const run = await pollOnce('sftp-key');

      expect(run).toMatchObject({
        status: 'partial',
        listed: 10,
        stored: 9,
        duplicates: 0,
        acknowledged: 9,
        errors: 1,
      });
      expect(run.error_details).toEqual([
        {
          path: 'out/PO_huge.edi',
          code: 'file_too_large',
          message: expect.stringContaining('10000 bytes, over max_file_bytes (4096)'),
          event_id: null,
        },
      ]);
      expect(out()).toEqual(['INV_1.edi', 'PO_archive', 'PO_huge.edi']);
      const events = await harness.query<{ webhook_id: string; topic: string; body: Buffer }>(
        `select webhook_id, topic, body from webhook_events where source = 'sftp-key' order by webhook_id`,
      );
      expect(events.map((e) => [e.webhook_id, e.topic])).toEqual(
        Array.from({ length: 9 }, (_, i) => [`out/PO_${i + 1}.edi`, 'x12/850']),
      );
      const payload = JSON.parse(Buffer.from(events[0]!.body).toString('utf8'));
      expect(payload).toMatchObject({
        source_kind: 'sps-sftp',
        file: { content: x12PurchaseOrder('PO-1') },
        purchase_orders: [{ purchase_order_number: 'PO-1' }],
      });

      // Nothing new: the next run lists only what it may not take.
      expect(await pollOnce('sftp-key')).toMatchObject({ status: 'partial', listed: 1, stored: 0, errors: 1 });
    });

    it('a file that reappears after being stored is a duplicate and is deleted again', async () => {
      writeFileSync(join(sshd.outDir, 'PO_1.edi'), x12PurchaseOrder('PO-1'));
      const run = await pollOnce('sftp-key');
      expect(run).toMatchObject({ stored: 0, duplicates: 1, acknowledged: 1 });
      expect(existsSync(join(sshd.outDir, 'PO_1.edi'))).toBe(false);
    });

    it('password authentication and the testout/ folder work too', async () => {
      const testout = join(sshd.outDir, '..', 'testout');
      writeFileSync(join(testout, 'PO_T1.edi'), x12PurchaseOrder('PO-T1'));
      const run = await pollOnce('sftp-password');
      expect(run).toMatchObject({ status: 'succeeded', listed: 1, stored: 1, acknowledged: 1 });
      expect(readdirSync(testout)).toEqual([]);
      expect(await harness.query(`select webhook_id from webhook_events where source = 'sftp-password'`)).toEqual([
        { webhook_id: 'testout/PO_T1.edi' },
      ]);
    });

    it('names that are not plain file names are refused and reported, never downloaded or deleted', async () => {
      const names = ['PO_a\\..\\b.edi', 'PO_%2e%2e.edi', 'PO_\u2215x.edi', 'PO_ok.edi'];
      for (const name of names) writeFileSync(join(sshd.outDir, name), x12PurchaseOrder('PO-N'));
      const run = await pollOnce('sftp-key');
      // PO_huge.edi from the first test is still there (and still too large).
      expect(run).toMatchObject({ status: 'partial', listed: 5, stored: 1, acknowledged: 1, errors: 4 });
      const refused = run.error_details.filter((d: { code: string }) => d.code === 'unsafe_path');
      expect(refused.map((d: { code: string; path: string }) => [d.code, d.path])).toEqual([
        ['unsafe_path', JSON.stringify('out/PO_%2e%2e.edi')],
        ['unsafe_path', JSON.stringify('out/PO_a\\..\\b.edi')],
        ['unsafe_path', JSON.stringify('out/PO_\u2215x.edi')],
      ]);
      expect(out()).toEqual(expect.arrayContaining(['PO_%2e%2e.edi', 'PO_a\\..\\b.edi', 'PO_\u2215x.edi']));
      expect(out()).not.toContain('PO_ok.edi');
      for (const name of names.slice(0, 3)) rmSync(join(sshd.outDir, name));
    });

    it('a folder with more entries than max_listing_entries fails the run with the reason and takes nothing', async () => {
      // Sub-folders and other names count too: the bound is on what the server makes us read.
      const bulk = join(sshd.outDir, '..', 'bulk');
      mkdirSync(bulk);
      const owner = statSync(sshd.outDir);
      chownSync(bulk, owner.uid, owner.gid);
      for (let i = 1; i <= 4; i++) writeFileSync(join(bulk, `PO_B${i}.edi`), x12PurchaseOrder(`PO-B${i}`));
      mkdirSync(join(bulk, 'archive'));
      writeFileSync(join(bulk, 'extra.txt'), 'the sixth entry');

      const over = await pollOnce('sftp-bounded');
      expect(over).toMatchObject({ status: 'failed', listed: 0, stored: 0, acknowledged: 0 });
      expect(over.error).toBe(
        'listing bulk/ stopped: the folder holds more than 5 entries (max_listing_entries); nothing was taken. ' +
          'Move files out of the folder or raise max_listing_entries (at most 1000000)',
      );
      expect(readdirSync(bulk)).toHaveLength(6);

      // Back within the bound, the next run takes every file.
      rmSync(join(bulk, 'extra.txt'));
      const within = await pollOnce('sftp-bounded');
      expect(within).toMatchObject({ status: 'succeeded', listed: 4, stored: 4, acknowledged: 4 });
      expect(readdirSync(bulk)).toEqual(['archive']);
    });

    it('a server whose host key does not match host_fingerprint is refused before logging in', async () => {
      const run = await pollOnce('sftp-wrong-host');
      expect(run).toMatchObject({ status: 'failed', listed: 0 });
      expect(run.error).toBe(`SFTP 127.0.0.1:${sshd.port} presented a host key that does not match host_fingerprint`);
    });

    it('a wrong password fails the run with the reason, and the password is never logged', async () => {
      const run = await pollOnce('sftp-wrong-password');
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/^SFTP connect to 127\.0\.0\.1:\d+ failed: .*authentication/i);
      const logs = harness.logs.join('');
      expect(logs).not.toContain(sshd.password);
      expect(logs).not.toContain('not-the-password');
      expect(logs).not.toContain('PRIVATE KEY');
      expect(logs).toContain('SFTP host key is not verified (insecure_accept_any_host_key): set host_fingerprint');
    });
  },
);
