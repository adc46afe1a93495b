import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { createFakeSps, spsRestSource } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';

// A hostile SPS listing: entries that climb out of out/, encoded variants, backslashes, NUL, other
// folders, a run of 100,000 slashes (the old trailing-slash pattern was quadratic on it). Only
// direct children of the configured folder are taken; every refusal is on the run, and no request
// ever leaves /transactions/v5/data/out/.

describe('SPS listing entries are confined to the configured folder', () => {
  const fake = createFakeSps();
  const server = setupServer(...fake.handlers);
  let harness: PollHarness;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    harness = await startPollHarness('pglite', [spsRestSource({ name: 'sps' })]);
  });
  afterAll(async () => {
    server.close();
    await harness?.stop();
  });

  it('takes the plain file, refuses every escape, and never requests anything outside out/', async () => {
    fake.addFile('out/PO_1.edi', x12PurchaseOrder('PO-1'));
    const hostile = [
      'out/../../admin/thing',
      'out/..%2F..%2Fadmin%2Fthing',
      'out/%2e%2e',
      'out/..',
      'out/sub/../../admin',
      'out/PO\\..\\..\\admin',
      'out/PO_2\u0000.edi',
      'out/.profile',
      'out/PO_\u2215etc.edi',
      'in/PO_3.edi',
      '/transactions/v5/admin/thing',
      `out/${'/'.repeat(100_000)}x`,
    ];
    for (const path of hostile) fake.addListingEntry({ path, type: 'file' });
    fake.addListingEntry({ path: 'out/archive/', type: 'directory' }); // a sub-folder: skipped quietly

    const { json } = await harness.poll('sps');
    const run = await waitForRun(harness, json.runs[0].run_id);

    expect(run).toMatchObject({ status: 'partial', listed: 13, stored: 1, acknowledged: 1, errors: 12 });
    expect(run.error_details.map((d: { code: string }) => d.code)).toEqual(hostile.map(() => 'unsafe_path'));
    expect(run.error_details[0]).toEqual({
      path: '"out/../../admin/thing"',
      code: 'unsafe_path',
      message: expect.stringMatching(
        /^"out\/\.\.\/\.\.\/admin\/thing" is refused: the name has a character other than/,
      ),
      event_id: null,
    });
    expect(run.error_details[6].message).toContain('"out/PO_2\\u0000.edi" is refused');
    expect(run.error_details[9].message).toBe('"in/PO_3.edi" is not inside out/: refused');

    // The only requests: the listing, the one file, and its delete.
    expect(fake.strays).toEqual([]);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET out/',
      'GET out/PO_1.edi',
      'DELETE out/PO_1.edi',
    ]);
    expect(await harness.query('select webhook_id from webhook_events')).toEqual([{ webhook_id: 'out/PO_1.edi' }]);
  });
});
