import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ANSWER_BYTES } from '../src/cli/ops-client';
import { MAX_SSE_MESSAGE_CHARS } from '../src/cli/sse';
import { runCli, spawnCli, type CliProcess } from './helpers/cli';
import { waitFor } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';

/**
 * A server that answers like the live stream: `ready`, then one message whose data line is longer
 * than the CLI reads, then `after` (a normal message). The long line goes out in 64 KiB writes,
 * each after the last was taken, as a stream without line breaks arrives.
 */
async function startOversizeStream(after: string) {
  const open: ServerResponse[] = [];
  const server = createServer(async (_request, response) => {
    open.push(response);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('event: ready\ndata: {}\n\n');
    response.write('id: 41\ndata: "');
    const piece = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent <= MAX_SSE_MESSAGE_CHARS; sent += piece.length) {
      if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve));
      if (response.destroyed) return;
    }
    response.write(`"\n\n${after}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of open) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that takes requests and answers `answer` (never, by default). */
async function startServer(answer: (response: ServerResponse) => void = () => {}) {
  const open: ServerResponse[] = [];
  const server = createServer((_request, response) => {
    open.push(response);
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of open) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The CLI's ops client waited for an answer without a time limit and read it whole.
describe('the CLI waits for and reads ops API answers with a bound', { timeout: 120_000 }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  it('a server that never answers ends the command after --answer-timeout-ms with the reason', async () => {
    const silent = await startServer();
    cleanup.push(() => silent.close());
    for (const args of [['events', 'list'], ['tail']]) {
      const run = await runCli([...args, '--url', silent.url, '--token', 'any-token', '--answer-timeout-ms', '1000']);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toContain(
        `The gateway at ${silent.url} did not answer GET /api/events${args[0] === 'tail' ? '/stream' : ''} within 1000 ms.`,
      );
    }
  });

  it('send and trigger against a server that never answers end after --answer-timeout-ms', async () => {
    const silent = await startServer();
    cleanup.push(() => silent.close());
    const dir = mkdtempSync(join(tmpdir(), 'gw-cli-bounds-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'order.json'), '{"id":1}');
    const runs = {
      send: ['send', 'shopify', '-f', join(dir, 'order.json'), '--secret', 'shpss_test', '--topic', 'orders/create'],
      trigger: ['trigger', 'shopify', 'orders/create', '--secret', 'shpss_test'],
    };
    for (const [what, args] of Object.entries(runs)) {
      const run = await runCli([...args, '--url', silent.url, '--answer-timeout-ms', '1000']);
      expect(run.code, what).toBe(1);
      expect(run.stderr, what).toContain(
        `The gateway at ${silent.url} did not answer POST /api/webhooks/shopify within 1000 ms.`,
      );
    }
  });

  it('an answer that never ends is cut off by the same limit', async () => {
    const endless = await startServer((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"events": [');
    });
    cleanup.push(() => endless.close());
    const run = await runCli([
      'events',
      'list',
      '--url',
      endless.url,
      '--token',
      'any-token',
      '--answer-timeout-ms',
      '1000',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('did not answer GET /api/events within 1000 ms');
  });

  it(`an answer larger than ${MAX_ANSWER_BYTES} bytes is not read`, async () => {
    const huge = await startServer(async (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      for (let sent = 0; sent <= MAX_ANSWER_BYTES && !response.destroyed; sent += piece.length) {
        if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve));
      }
      response.end('{}');
    });
    cleanup.push(() => huge.close());
    const run = await runCli(['events', 'show', '1', '--url', huge.url, '--token', 'any-token'], {}, 60_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `The answer to GET /api/events/1 is larger than ${MAX_ANSWER_BYTES} bytes; it was not read`,
    );
  });

  it('--answer-timeout-ms that is not a whole number from 1 to 3600000 is a usage error', async () => {
    const run = await runCli([
      'events',
      'list',
      '--url',
      'http://127.0.0.1:9',
      '--token',
      't',
      '--answer-timeout-ms',
      '0',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--answer-timeout-ms must be a whole number of milliseconds from 1 to 3600000');
  });
});

// The CLI's stream reader used to keep a line until its end arrived and searched all of it again
// for every chunk: a line that never ended grew without bound, and a long one took quadratic time.
describe('the CLI reads stream messages with a bound', { timeout: 120_000 }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });
  const spawn = (args: string[]): CliProcess => {
    const cli = spawnCli(args);
    cleanup.push(() => {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      return cli.exited;
    });
    return cli;
  };
  const skipped = `Skipped a stream message (id 41) larger than ${MAX_SSE_MESSAGE_CHARS} characters: it was not read`;

  it('tail skips an oversize message with a line on stderr and prints the next event', async () => {
    const event = { id: 7, source: 'shopify', topic: 'orders/create', status: 'received', attempts: 0, due: true };
    const stream = await startOversizeStream(`event: received\ndata: ${JSON.stringify(event)}\n\n`);
    cleanup.push(() => stream.close());
    const tail = spawn(['tail', '--url', stream.url, '--token', 'any-token']);
    await waitFor(
      () => tail.stdout().includes('#7  shopify  orders/create  attempts=0'),
      90_000,
      'the next event printed',
    );
    expect(tail.stderr()).toContain(skipped);
  });

  it('listen skips an oversize message, resumes after it, and forwards the next arrival', async () => {
    const body = '{"note":"after the oversize one"}';
    const arrival = {
      arrival: true,
      id: 42,
      source: 'custom',
      topic: 'thing.created',
      request: {
        provider: null,
        webhook_id: 'wh-42',
        received_at: new Date().toISOString(),
        headers: { 'content-type': 'application/json' },
        body_base64: Buffer.from(body).toString('base64'),
      },
    };
    const stream = await startOversizeStream(`id: 42\nevent: received\ndata: ${JSON.stringify(arrival)}\n\n`);
    cleanup.push(() => stream.close());
    const app = await startReceiver();
    cleanup.push(() => app.close());
    const listen = spawn(['listen', '--forward-to', app.url, '--url', stream.url, '--token', 'any-token']);
    await waitFor(() => app.deliveries.length === 1, 90_000, 'the next arrival forwarded');
    expect(app.deliveries[0]!.bytes.toString()).toBe(body);
    expect(listen.stderr()).toContain(skipped);
    expect(listen.stderr()).not.toContain('Lost the stream');
  });
});
