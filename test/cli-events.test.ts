import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTurns, runCli, spawnCli } from './helpers/cli';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { freePort } from './helpers/process';
import { post, shopifyHeaders } from './helpers/signers';
import { seedEvents, type Seeded } from './helpers/ui-seed';

// The CLI as a developer runs it: a real child process against a real gateway. Independent calls
// run two at a time (inTurns); the timeout leaves room for four rounds of CLI start-ups on a loaded
// 2-core machine, and a single call stuck past runCli's limit fails naming itself first.
describe('webhook-gateway events, tail and errors', { timeout: 240_000 }, () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli([...args, '--url', gw.url], env);
  const attemptsOf = async (id: number) =>
    (await gw.query<{ n: number }>('select count(*)::int as n from processing_log where event_id = $1', [id]))[0]!.n;
  const statusOf = async (id: number) =>
    (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [id]))[0]!.status;

  beforeAll(async () => {
    gw = await startTestGateway('pglite');
    seeded = await seedEvents(gw);
    env = { OPS_API_TOKEN: SECRETS.ops };
  });
  afterAll(() => gw?.stop());

  it('events list prints a table, newest first, filtered by status, source and payload text', async () => {
    const [all, failed, easypost, search] = await inTurns([
      () => cli('events', 'list'),
      () => cli('events', 'list', '--status', 'failed'),
      () => cli('events', 'list', '--source', 'easypost', '--json'),
      () => cli('events', 'list', '-q', 'trk_1'),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+RECEIVED \(UTC\)\s+SOURCE\s+TOPIC\s+STATUS\s+ATTEMPTS\s+LAST ERROR$/);
    const ids = lines.slice(1).map((line) => Number(line.split(/\s+/)[0]));
    expect(ids).toEqual([...seeded.completed, ...seeded.failed].sort((a, b) => b - a));

    expect(failed.code).toBe(0);
    const failedRows = failed.stdout.trim().split('\n').slice(1);
    expect(failedRows.map((line) => Number(line.split(/\s+/)[0]))).toEqual([...seeded.failed].reverse());
    expect(failedRows[0]).toMatch(/shopify\s+orders\/paid\s+failed\s+1\/8\s+ERP rejected order/);

    expect(JSON.parse(easypost.stdout).events.map((e: { source: string }) => e.source)).toEqual([
      'easypost',
      'easypost',
    ]);
    expect(search.stdout.trim().split('\n')).toHaveLength(2);
    expect(search.stdout).toContain('tracker.updated');
  });

  it('events list pages with the cursor it prints', async () => {
    const first = await cli('events', 'list', '--limit', '3');
    const cursor = /--cursor (\d+)/.exec(first.stderr)?.[1];
    expect(cursor, first.stderr).toBeDefined();
    const second = await cli('events', 'list', '--limit', '3', '--cursor', cursor!);
    const idsOf = (out: string) =>
      out
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => Number(line.split(/\s+/)[0]));
    const all = [...seeded.completed, ...seeded.failed].sort((a, b) => b - a);
    expect(idsOf(first.stdout)).toEqual(all.slice(0, 3));
    expect(idsOf(second.stdout)).toEqual(all.slice(3, 6));
  });

  it('events show prints the event as JSON, and a missing one fails with exit code 1', async () => {
    const [shown, missing, notAnId] = await inTurns([
      () => cli('events', 'show', String(seeded.failed[0])),
      () => cli('events', 'show', '999999'),
      () => cli('events', 'show', 'abc'),
    ]);
    expect(shown.code).toBe(0);
    const event = JSON.parse(shown.stdout);
    expect(event).toMatchObject({
      id: seeded.failed[0],
      status: 'failed',
      topic: 'orders/paid',
      payload: { currency: 'EUR' },
    });
    expect(event.attempt_log).toHaveLength(1);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 event_not_found: No event with id 999999');
    expect(notAnId.code).toBe(2);
    expect(notAnId.stderr).toContain('"abc" is not an event id');
  });

  it('events replay <id> makes a failed event due again, and the worker runs it again', async () => {
    const id = seeded.failed[0]!;
    const run = await cli('events', 'replay', String(id));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Replayed event ${id} (shopify orders/paid)`);
    await waitFor(
      async () => (await attemptsOf(id)) === 2 && (await statusOf(id)) === 'failed',
      10_000,
      'second attempt',
    );
  });

  it('bulk replay only counts without --yes, and replays every match with it', async () => {
    const before = await Promise.all(seeded.failed.map(attemptsOf));
    const dry = await cli('events', 'replay', '--status', 'failed');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('2 events match. Nothing replayed: add --yes to replay them.');
    expect(await Promise.all(seeded.failed.map(statusOf))).toEqual(['failed', 'failed']);
    expect(await Promise.all(seeded.failed.map(attemptsOf))).toEqual(before);

    seeded.heal();
    const real = await cli('events', 'replay', '--status', 'failed', '--yes');
    expect(real.stdout).toContain('Replayed 2 of 2 matching events');
    await waitFor(
      async () => (await Promise.all(seeded.failed.map(statusOf))).every((s) => s === 'completed'),
      10_000,
      'replayed events completed',
    );

    const nothing = await cli('events', 'replay', '--status', 'failed', '--yes');
    expect(nothing.stdout).toContain('No events match: nothing to replay.');
    const noFilter = await cli('events', 'replay');
    expect(noFilter.code).toBe(2);
    expect(noFilter.stderr).toContain('Give an event id, or filters');
  });

  it('events conflicts lists the deliveries that repeated an id with other bytes', async () => {
    const original = '{"order":1}';
    const other = '{"order":1,"edited":true}';
    const first = await post(
      `${gw.url}/api/webhooks/shopify`,
      original,
      shopifyHeaders(SECRETS.shopify, original, 'cli-conflict'),
    );
    const conflict = await post(
      `${gw.url}/api/webhooks/shopify`,
      other,
      shopifyHeaders(SECRETS.shopify, other, 'cli-conflict'),
    );
    expect(conflict.json).toEqual({ status: 'conflict', event_id: first.json.id });

    const [table, json, none, bad] = await inTurns([
      () => cli('events', 'conflicts', '--event', String(first.json.id)),
      () => cli('events', 'conflicts', '--source', 'shopify', '--json'),
      () => cli('events', 'conflicts', '--source', 'easypost'),
      () => cli('events', 'conflicts', '--event', 'x1'),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+RECEIVED \(UTC\)\s+SOURCE\s+EVENT\s+WEBHOOK ID\s+BYTES\s+SHA-256$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(`shopify\\s+${first.json.id}\\s+acme\\.myshopify\\.com/cli-conflict\\s+${other.length}\\s`),
    );
    expect(JSON.parse(json.stdout).conflicts.map((c: { event_id: number }) => c.event_id)).toContain(first.json.id);
    expect(none.stderr).toContain('No conflicts match.');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--event "x1" is not an event id');
  });

  it('tail prints one line per streamed event until Ctrl-C, then exits 0', async () => {
    const tail = spawnCli(['tail', '--source', 'shopify', '--url', gw.url, '--token', SECRETS.ops]);
    await waitFor(() => tail.stderr().includes('Listening for events'), 15_000, 'tail connected');
    const body = JSON.stringify({ id: 4242, total_price: '1.00' });
    const res = await post(
      `${gw.url}/api/webhooks/shopify/orders/create`,
      body,
      shopifyHeaders(SECRETS.shopify, body, 'tail-1'),
    );
    const id = res.json.id as number;
    await waitFor(
      () => new RegExp(`completed\\s+#${id}\\s+shopify\\s+orders/create\\s+attempts=1`).test(tail.stdout()),
      10_000,
      'completed line',
    );
    expect(tail.stdout()).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d  received\\s+#${id}\\s+shopify\\s+orders/create\\s+attempts=0$`, 'm'),
    );
    tail.child.kill('SIGINT');
    expect((await tail.exited).code).toBe(0);
  });

  it('says what is wrong, with exit code 1 for a refused or unreachable gateway and 2 for usage', async () => {
    const closedPort = await freePort();
    const [wrongToken, noToken, unreachable, unknown, badRole, badConfig, shorthand, badFilter] = await inTurns([
      () => runCli(['events', 'list', '--url', gw.url, '--token', 'not-the-token']),
      () => runCli(['events', 'list', '--url', gw.url]),
      () => runCli(['events', 'list', '--url', `http://127.0.0.1:${closedPort}`], env),
      () => runCli(['evnts', 'list']),
      () => runCli(['start', '--role', 'everything']),
      () => runCli(['events', 'list'], { PORT: 'eighty' }),
      // Options without a command mean `start` (npm start -- --role web).
      () => runCli(['--role', 'everything']),
      () => runCli(['events', 'list', '--status', 'done', '--url', gw.url], env),
    ]);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain(
      'The gateway answered 401 invalid_token: The ops API token is not accepted. Check --token or OPS_API_TOKEN.',
    );
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('No ops API token: pass --token <token> or set OPS_API_TOKEN');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`Cannot reach the gateway at http://127.0.0.1:${closedPort} (ECONNREFUSED)`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'evnts'");
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('Allowed choices are web, worker, all');
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^Invalid configuration: PORT: /);
    expect(shorthand.code).toBe(2);
    expect(shorthand.stderr).toContain("option '--role <role>' argument 'everything' is invalid");
    // The gateway validates filters; its 400 is a usage error too.
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toContain('The gateway answered 400 invalid_request: status: must be one of');
  });

  it('a CLI call still running at its limit fails naming the command, its token masked', async () => {
    // `tail` never exits on its own: the limit is what ends it.
    const stuck = runCli(['tail', '--url', gw.url, '--token', SECRETS.ops], {}, 1500);
    await expect(stuck).rejects.toThrow(`webhook-gateway tail --url ${gw.url} --token *** did not exit within 1500 ms`);
  });

  it('--since and --until take a time, a UTC date or an age; a word is refused here with what works', async () => {
    const [word, noOffset, lastHour, olderThanAnHour, fromTomorrow] = await inTurns([
      () => cli('events', 'list', '--since', 'yesterday'),
      () => cli('events', 'conflicts', '--since', '2026-11-23T10:00:00'),
      () => cli('events', 'list', '--since', '1h', '--json'),
      () => cli('events', 'list', '--until', '1h'),
      () => cli('events', 'list', '--since', new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)),
    ]);
    const formats =
      'give an ISO 8601 time with its offset (2026-11-23T10:00:00Z), a UTC date (2026-11-23), or an age (30m, 1h, 2d, 1w)';
    expect(word.code).toBe(2);
    expect(word.stderr.trim()).toBe(
      `--since "yesterday" is not a time (words are not read: 1d is a day ago): ${formats}`,
    );
    expect(noOffset.code).toBe(2);
    expect(noOffset.stderr.trim()).toBe(
      `--since "2026-11-23T10:00:00" is not a time (add its offset: 2026-11-23T10:00:00Z for UTC): ${formats}`,
    );
    // Every seeded event was received within the last hour, none before it, none tomorrow.
    expect(lastHour.code, lastHour.stderr).toBe(0);
    const lastHourIds = JSON.parse(lastHour.stdout).events.map((e: { id: number }) => e.id);
    expect(lastHourIds).toEqual(expect.arrayContaining([...seeded.completed, ...seeded.failed]));
    for (const none of [olderThanAnHour, fromTomorrow]) {
      expect(none.code, none.stderr).toBe(0);
      expect(none.stderr).toContain('No events match.');
    }
  });

  it('the bin entry (npx webhook-gateway) prints the commands', async () => {
    const run = spawnCli(['--help'], {}, 'bin/webhook-gateway.js');
    const { code, stdout } = await run.exited;
    expect(code).toBe(0);
    for (const command of ['start', 'migrate', 'events', 'tail', 'send'])
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});
