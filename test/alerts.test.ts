import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

const ALERT_SECRET = `whsec_${Buffer.from('alert-signing-key-for-tests-0123').toString('base64')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

/** A real SMTP server on a free loopback port that keeps every message it is given. */
async function startSmtp() {
  const messages: { from: string; to: string[]; data: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe.each(databaseKinds())('alerts on %s', (kind) => {
  let gw: TestGateway;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let slack: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const response = await fetch(`${gw.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  const badSignature = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const body = JSON.stringify({ id: i });
      expect(
        (
          await post(
            `${gw.url}/api/webhooks/shopify/orders/create`,
            body,
            shopifyHeaders('a-secret-rotated-on-one-side', body, `x-${i}`),
          )
        ).status,
      ).toBe(401);
    }
  };

  beforeAll(async () => {
    [hook, slack, smtp] = await Promise.all([startReceiver(), startReceiver(), startSmtp()]);
    gw = await startTestGateway(kind, {
      rejectedRequests: { perMinute: 20, bufferSize: 1000, flushIntervalMs: 100, retentionDays: 7 },
      alerts: {
        evaluateEveryMs: 500,
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'gateway@example.test' },
        channels: [
          { name: 'ops-hook', type: 'webhook', url: hook.url, secret: ALERT_SECRET },
          { name: 'ops-slack', type: 'slack', url: `${slack.url}/T000/B000/XXXXSECRETPATH` },
          { name: 'ops-mail', type: 'email', to: ['oncall@example.test'] },
        ],
        rules: [
          {
            name: 'shopify-signatures',
            kind: 'signature_failures',
            params: { source: 'shopify', count: 3, minutes: 5 },
            channels: ['ops-hook', 'ops-slack', 'ops-mail'],
            enabled: true,
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([hook?.close(), slack?.close(), smtp?.close()]);
  });

  // The 10 s bound is by design (1 s log batches, an evaluation every alerts.evaluate_every_seconds);
  // on a loaded 2-core machine the wait below allows more, as a timing claim belongs in no test.
  it('a spike of signature failures opens one alert, told on all three channels', async () => {
    await badSignature(3);
    await waitFor(
      () => hook.deliveries.length >= 1 && slack.deliveries.length >= 1 && smtp.messages.length >= 1,
      30_000,
      'three notices',
    );

    // Webhook: verified with the standardwebhooks library, not with our signing code.
    const delivery = hook.deliveries[0]!;
    const notice = new Webhook(ALERT_SECRET).verify(
      delivery.bytes.toString('utf8'),
      delivery.headers as Record<string, string>,
    ) as any;
    expect(notice.type).toBe('alert.opened');
    expect(notice.data).toMatchObject({
      rule: 'shopify-signatures',
      kind: 'signature_failures',
      condition: 'shopify',
      status: 'open',
    });
    expect(notice.data.summary).toContain('failed verification');

    // Slack: the incoming-webhook format, a fallback text and blocks.
    const message = JSON.parse(slack.deliveries[0]!.bytes.toString('utf8'));
    expect(message.text).toContain('shopify-signatures');
    expect(message.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });

    // Email through the SMTP server the test runs.
    const mail = smtp.messages[0]!;
    expect(mail.from).toBe('gateway@example.test');
    expect(mail.to).toEqual(['oncall@example.test']);
    expect(mail.data).toMatch(/Subject: \[webhook-gateway\] Alert: shopify-signatures/);
  });

  it('more failures while it is open update its summary and send nothing new: one alert per condition', async () => {
    await badSignature(4);
    // Wait for evidence that the evaluator ran after these were recorded: a later tick's lease renewal.
    const before = (await gw.query<{ expires_at: Date }>('select expires_at from alert_evaluator_lease'))[0]!
      .expires_at;
    // Two renewals after the failures: at least one full evaluation saw all of them.
    const renewed = async (after: Date) =>
      waitFor(
        async () => {
          const [lease] = await gw.query<{ expires_at: Date }>('select expires_at from alert_evaluator_lease');
          return lease!.expires_at > after ? lease!.expires_at : null;
        },
        30_000,
        'another evaluation',
      );
    await renewed((await renewed(before))!);
    // The open alert's summary follows the condition (7 failures now, 3 when it opened)…
    const { json } = await waitFor(
      async () => {
        const answer = await api('GET', '/api/alerts?status=open');
        return answer.json.alerts[0]?.summary.startsWith('7 requests to source shopify') && answer;
      },
      30_000,
      'the open alert to count all 7 failures',
    );
    // …without a notice: those go out on opening and resolving only (two more evaluations).
    const updatedAt = (await gw.query<{ expires_at: Date }>('select expires_at from alert_evaluator_lease'))[0]!
      .expires_at;
    await renewed((await renewed(updatedAt))!);
    expect(hook.deliveries).toHaveLength(1);
    expect(json.alerts).toHaveLength(1);
    expect(json.alerts[0]).toMatchObject({ rule: 'shopify-signatures', condition: 'shopify', notify_error: null });
    expect(json.alerts[0].opened_notified_at).not.toBeNull();
  }, 90_000);

  it('when the condition clears (the rule disabled here) a resolve notice goes out', async () => {
    const rules = await api('GET', '/api/alerts/rules');
    const rule = rules.json.rules.find((r: any) => r.name === 'shopify-signatures');
    const updated = await api('PUT', `/api/alerts/rules/${rule.id}`, {
      ...rule,
      id: undefined,
      created_at: undefined,
      updated_at: undefined,
      enabled: false,
    });
    expect(updated.status).toBe(200);
    await waitFor(
      () => hook.deliveries.length >= 2 && slack.deliveries.length >= 2 && smtp.messages.length >= 2,
      30_000,
      'resolve notices',
    );
    const resolved = new Webhook(ALERT_SECRET).verify(
      hook.deliveries[1]!.bytes.toString('utf8'),
      hook.deliveries[1]!.headers as Record<string, string>,
    ) as any;
    expect(resolved).toMatchObject({ type: 'alert.resolved', data: { status: 'resolved', condition: 'shopify' } });
    // It says that it resolved and after how long, not only the summary it opened with.
    expect(resolved.data.summary).toMatch(
      /^Resolved after \d+ (s|min): the condition no longer holds \(last: 7 requests to source shopify failed verification/,
    );
    expect(smtp.messages[1]!.data).toMatch(/Subject: \[webhook-gateway\] Resolved: shopify-signatures/);
    expect((await api('GET', '/api/alerts?status=resolved')).json.alerts).toHaveLength(1);
  });

  it('channels are listed without their secrets or the Slack path', async () => {
    const { status, json } = await api('GET', '/api/alerts/channels');
    expect(status).toBe(200);
    const text = JSON.stringify(json);
    expect(text).not.toContain(ALERT_SECRET);
    expect(text).not.toContain('XXXXSECRETPATH');
    expect(json.channels.find((c: any) => c.name === 'ops-hook')).toMatchObject({ type: 'webhook', has_secret: true });
    expect(gw.logs.join('')).not.toContain('XXXXSECRETPATH');
  });

  it('rule and channel writes are validated and name the field', async () => {
    const unknown = await api('POST', '/api/alerts/rules', {
      name: 'backlog',
      kind: 'backlog_age',
      channels: ['nope'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'unknown_channel' });
    const badParams = await api('POST', '/api/alerts/rules', {
      name: 'spike',
      kind: 'signature_failures',
      params: { count: 0 },
    });
    expect(badParams.status).toBe(400);
    expect(badParams.json.error.message).toContain('params.count');
    const badSecret = await api('POST', '/api/alerts/channels', {
      name: 'weak',
      type: 'webhook',
      url: hook.url,
      secret: 'short',
    });
    expect(badSecret.status).toBe(400);
    expect(badSecret.json.error.message).toContain('secret');
    const created = await api('POST', '/api/alerts/rules', {
      name: 'backlog',
      kind: 'backlog_age',
      params: { older_than_seconds: 600 },
      channels: ['ops-hook'],
    });
    expect(created.status).toBe(201);
    expect(created.json.params).toEqual({ older_than_seconds: 600 });
    expect((await api('POST', '/api/alerts/rules', { name: 'backlog', kind: 'backlog_age' })).status).toBe(409);
    const hookChannel = (await api('GET', '/api/alerts/channels')).json.channels.find(
      (c: any) => c.name === 'ops-hook',
    );
    expect((await api('DELETE', `/api/alerts/channels/${hookChannel.id}`)).json.error.code).toBe('channel_in_use');
    expect((await api('DELETE', `/api/alerts/rules/${created.json.id}`)).status).toBe(204);
  });

  it('a channel is edited in place: a left-out secret is kept, a new one changes its fingerprint, every change audited', async () => {
    const first = `whsec_${Buffer.from('first-edit-secret-0123456789abc').toString('base64')}`;
    const second = `whsec_${Buffer.from('second-edit-secret-0123456789ab').toString('base64')}`;
    const print = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 12);
    const created = await api('POST', '/api/alerts/channels', {
      name: 'edit-me',
      type: 'webhook',
      url: hook.url,
      secret: first,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ has_secret: true, secret_fingerprint: print(first) });
    const path = `/api/alerts/channels/${created.json.id}`;

    const moved = await api('PUT', path, { name: 'edit-me', type: 'webhook', url: `${hook.url}/moved` });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({
      target: `${new URL(hook.url).origin}/…`,
      url_fingerprint: print(`${hook.url}/moved`),
      secret_fingerprint: print(first),
    });
    const rotated = await api('PUT', path, { name: 'edit-me', type: 'webhook', url: hook.url, secret: second });
    expect(rotated.json.secret_fingerprint).toBe(print(second));
    // A type change brings its own settings: nothing of the webhook's is carried over.
    const slackWithoutUrl = await api('PUT', path, { name: 'edit-me', type: 'slack' });
    expect(slackWithoutUrl.status).toBe(400);
    expect(slackWithoutUrl.json.error.message).toContain('url');

    await api('POST', '/api/alerts/rules', { name: 'uses-edit-me', kind: 'poll_failing', channels: ['edit-me'] });
    const rename = await api('PUT', path, { name: 'renamed', type: 'webhook', url: hook.url });
    expect(rename.status).toBe(409);
    expect(rename.json.error).toMatchObject({ code: 'channel_in_use' });
    expect(
      (await api('PUT', '/api/alerts/channels/999999', { name: 'x', type: 'email', to: ['a@example.test'] })).status,
    ).toBe(404);

    const rule = (await api('GET', '/api/alerts/rules')).json.rules.find((r: any) => r.name === 'uses-edit-me');
    expect((await api('DELETE', `/api/alerts/rules/${rule.id}`)).status).toBe(204);
    expect((await api('DELETE', path)).status).toBe(204);

    const audit = (await api('GET', '/api/audit?limit=50')).json.entries as any[];
    const actions = audit.filter((e) => String(e.target).endsWith('edit-me')).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'alert_channel.create',
        'alert_channel.update',
        'alert_rule.create',
        'alert_rule.delete',
        'alert_channel.delete',
      ]),
    );
    const text = JSON.stringify(audit);
    for (const secret of [first, second]) expect(text).not.toContain(secret);
  });

  it('every alerts route needs the ops token and is in the OpenAPI document', async () => {
    expect((await api('GET', '/api/alerts', undefined, {})).status).toBe(401);
    expect(
      (
        await api(
          'POST',
          '/api/alerts/rules',
          { name: 'x', kind: 'poll_failing' },
          { 'content-type': 'application/json' },
        )
      ).status,
    ).toBe(401);
    const doc = await api('GET', '/api/openapi.json');
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining([
        '/api/alerts',
        '/api/alerts/rules',
        '/api/alerts/rules/{id}',
        '/api/alerts/channels',
        '/api/alerts/channels/{id}',
      ]),
    );
  });
});

describe('alerts: config section', () => {
  const parse = (alerts: unknown) => () => parseGatewayDocument({ alerts }, {});

  it('a rule naming a channel that is not declared is refused with its path', () => {
    expect(parse({ rules: [{ name: 'r', kind: 'poll_failing', channels: ['missing'] }] })).toThrow(
      /alerts\.rules\[0\]\.channels\[0\]: no channel named "missing"/,
    );
  });

  it('an email channel without alerts.smtp is refused', () => {
    expect(parse({ channels: [{ name: 'm', type: 'email', to: ['a@example.test'] }] })).toThrow(/alerts\.smtp/);
  });

  it('the webhook secret may come from the environment, and defaults fill the params', () => {
    const file = parseGatewayDocument(
      {
        alerts: {
          channels: [{ name: 'h', type: 'webhook', url: 'https://alerts.example.test/in', secret: 'env:ALERT_SECRET' }],
          rules: [{ name: 'r', kind: 'signature_failures', channels: ['h'] }],
        },
      },
      { ALERT_SECRET },
    );
    expect(file.alerts.channels[0]).toMatchObject({ secret: ALERT_SECRET });
    expect(file.alerts.rules[0]!.params).toEqual({ count: 10, minutes: 5 });
    expect(file.alerts.evaluateEveryMs).toBe(5000);
  });
});
