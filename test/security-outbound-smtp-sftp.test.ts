import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Server as SshServer, utils as sshUtils } from 'ssh2';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { pollSourcesSchema } from '../src/poll/config';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { SPS_ENV } from './helpers/poll-sps-mocks';
import { post, shopifyHeaders } from './helpers/signers';

// The outbound guard on the gateway's two non-HTTP connections (src/outbound/guarded-socket.ts): the
// SMTP server of email alerts and SFTP poll hosts. A real SMTP server and a real SFTP server on
// loopback count every TCP connection they accept: a refused address must cost no connection at
// all, and an allowed one must still work through the guarded socket.

const MASTER_KEY = randomBytes(32).toString('base64');
const SMTP_PASSWORD = `smtp-${randomBytes(12).toString('hex')}`;
const SFTP_PASSWORD = `sftp-${randomBytes(12).toString('hex')}`;
/** Long enough that a connect timeout could never pass for the refusal the tests wait for. */
const SLOW = 30_000;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

/** A real SMTP server on loopback that counts the connections it accepts and keeps each message. */
async function startSmtp() {
  let connections = 0;
  const messages: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'gateway' }),
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  server.server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real SFTP server (ssh2's server side) on loopback with an empty out/ folder; counts connections. */
async function startSftp() {
  let connections = 0;
  const clients: { end(): void }[] = [];
  const server = new SshServer({ hostKeys: [sshUtils.generateKeyPairSync('ed25519').private] }, (client) => {
    clients.push(client);
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        acceptSession().on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          sftp.on('OPENDIR', (id) => sftp.handle(id, Buffer.from('dir')));
          sftp.on('READDIR', (id) => sftp.status(id, sshUtils.sftp.STATUS_CODE.EOF));
          sftp.on('CLOSE', (id) => sftp.status(id, sshUtils.sftp.STATUS_CODE.OK));
        });
      });
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.end();
        server.close(() => resolve());
      }),
  };
}

const api = async (gw: TestGateway, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${gw.url}${path}`, {
    method,
    headers: auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
};

/** An email channel and a rule that opens an alert on the first forged Shopify webhook, then the forgery. */
async function triggerEmailAlert(gw: TestGateway) {
  expect(
    (await api(gw, 'POST', '/api/alerts/channels', { name: 'mail', type: 'email', to: ['ops@example.test'] })).status,
  ).toBe(201);
  const rule = {
    name: 'bad-signatures',
    kind: 'signature_failures',
    params: { source: 'shopify', count: 1, minutes: 5 },
    channels: ['mail'],
  };
  expect((await api(gw, 'POST', '/api/alerts/rules', rule)).status).toBe(201);
  const body = '{"id":"forged"}';
  await post(
    `${gw.url}/api/webhooks/shopify/orders/create`,
    body,
    shopifyHeaders('not-the-secret', body, `forged-${Date.now()}`),
  );
}

/** Starts a poll run of `source` and returns it once it has ended. */
async function pollRun(gw: TestGateway, source: string) {
  const started = await api(gw, 'POST', '/api/sps/poll', { source });
  expect(started.status).toBe(202);
  const runId = started.json.runs[0].run_id as number;
  return waitFor(
    async () => {
      const { json } = await api(gw, 'GET', `/api/sps/runs/${runId}`);
      return json.status !== 'running' ? json : undefined;
    },
    10_000,
    `the poll run of ${source} to end`,
  );
}

const smtpSettings = (host: string, port: number) => ({
  host,
  port,
  secure: false,
  user: 'gateway',
  password: SMTP_PASSWORD,
  from: 'gateway@example.test',
});
const sftpSource = (name: string, host: string, port: number) => ({
  name,
  kind: 'sps-sftp',
  host,
  port,
  username: 'gw',
  password: SFTP_PASSWORD,
  insecure_accept_any_host_key: true,
  connect_timeout_ms: SLOW,
});

describe.each(databaseKinds())('outbound guard on SMTP and SFTP connections (%s)', { timeout: 120_000 }, (kind) => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let sftp: Awaited<ReturnType<typeof startSftp>>;
  beforeAll(async () => {
    [smtp, sftp] = await Promise.all([startSmtp(), startSftp()]);
  });
  afterAll(async () => {
    await Promise.all([smtp?.close(), sftp?.close()]);
  });

  describe('with OUTBOUND_DENY_PRIVATE=true', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(kind, {
        control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
        outbound: { denyPrivate: true, allowCidrs: [] },
        alerts: { evaluateEveryMs: 200, smtp: smtpSettings('127.0.0.1', smtp.port), channels: [], rules: [] },
        polls: pollSourcesSchema(SPS_ENV).parse([
          sftpSource('sftp-by-address', '127.0.0.1', sftp.port),
          sftpSource('sftp-by-name', 'localhost', sftp.port),
        ]),
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
    });

    it('sends no mail to an SMTP server at a refused address, opens no connection to it, and the alert says why', async () => {
      await triggerEmailAlert(gw);
      const alert = await waitFor(
        async () => (await api(gw, 'GET', '/api/alerts')).json.alerts.find((a: any) => a.notify_error),
        30_000,
        'a notice error',
      );
      expect(alert.notify_error).toMatch(
        /^mail: OutboundRefusedError: refused to connect to 127\.0\.0\.1: loopback address \(127\.0\.0\.0\/8, ::1\/128\), refused because OUTBOUND_DENY_PRIVATE=true/,
      );
      expect(JSON.stringify(alert)).not.toContain(SMTP_PASSWORD);
      expect(gw.logs.join('')).not.toContain(SMTP_PASSWORD);
      expect(smtp.connections()).toBe(0);
      expect(smtp.messages).toHaveLength(0);
    });

    it('fails an SFTP poll run at once, by address or by a name resolving to it, without a connection', async () => {
      const byAddress = await pollRun(gw, 'sftp-by-address');
      expect(byAddress.status).toBe('failed');
      expect(byAddress.error).toContain(
        `SFTP connect to 127.0.0.1:${sftp.port} failed: refused to connect to 127.0.0.1: loopback address (127.0.0.0/8, ::1/128), refused because OUTBOUND_DENY_PRIVATE=true`,
      );
      const byName = await pollRun(gw, 'sftp-by-name');
      expect(byName.status).toBe('failed');
      expect(byName.error).toMatch(/refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback address/);
      for (const run of [byAddress, byName]) expect(JSON.stringify(run)).not.toContain(SFTP_PASSWORD);
      expect(sftp.connections()).toBe(0);
    });
  });

  describe('with OUTBOUND_DENY_PRIVATE=true and OUTBOUND_ALLOW_CIDRS=127.0.0.1/32', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(kind, {
        control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 },
        outbound: { denyPrivate: true, allowCidrs: ['127.0.0.1/32'] },
        // By name: the guarded lookup keeps 127.0.0.1 of a dual-stack localhost.
        alerts: { evaluateEveryMs: 200, smtp: smtpSettings('localhost', smtp.port), channels: [], rules: [] },
        polls: pollSourcesSchema(SPS_ENV).parse([sftpSource('sftp-allowed', '127.0.0.1', sftp.port)]),
      });
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
    });

    it('delivers the mail over the guarded connection, logging in with the configured user', async () => {
      const [connectionsBefore, messagesBefore] = [smtp.connections(), smtp.messages.length];
      await triggerEmailAlert(gw);
      await waitFor(async () => smtp.messages.length > messagesBefore || undefined, 30_000, 'the alert mail');
      expect(smtp.messages[messagesBefore]).toMatch(/Subject: \[webhook-gateway\] Alert: bad-signatures/);
      expect(smtp.connections()).toBeGreaterThan(connectionsBefore);
    });

    it('polls the SFTP host over the guarded connection', async () => {
      const before = sftp.connections();
      const run = await pollRun(gw, 'sftp-allowed');
      expect(run).toMatchObject({ status: 'succeeded', listed: 0 });
      expect(sftp.connections()).toBe(before + 1);
    });
  });
});
