import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { standardWebhooksHeaders } from '../deliver/sign';
import type { AlertChannelRow } from '../db/schema-alerts';
import type { OpenSocket } from '../outbound/guarded-socket';
import type { AlertsConfig } from './config';

/** What a notice says: one alert opening or resolving. Never a payload value or a secret. */
export interface AlertNotice {
  type: 'alert.opened' | 'alert.resolved';
  alertId: number;
  rule: string;
  kind: string;
  condition: string;
  summary: string;
  openedAt: Date;
  resolvedAt: Date | null;
}

export type SendNotice = (channel: AlertChannelRow, notice: AlertNotice) => Promise<void>;

const TIMEOUT_MS = 10_000;

/** The JSON document of the webhook channel (and the data of every channel). */
export function noticeJson(notice: AlertNotice) {
  return {
    type: notice.type,
    timestamp: new Date().toISOString(),
    data: {
      alert_id: notice.alertId,
      rule: notice.rule,
      kind: notice.kind,
      condition: notice.condition,
      status: notice.type === 'alert.opened' ? 'open' : 'resolved',
      summary: notice.summary,
      opened_at: notice.openedAt.toISOString(),
      resolved_at: notice.resolvedAt?.toISOString() ?? null,
    },
  };
}

/** Slack treats &, < and > as markup (`<!channel>` pings everyone): our text is escaped first. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack's incoming-webhook message: `text` is the fallback shown in notifications, `blocks` the
 * message itself (a section in mrkdwn and a context line), per Slack's Block Kit.
 */
export function slackMessage(notice: AlertNotice) {
  const opened = notice.type === 'alert.opened';
  const title = `${opened ? ':rotating_light: Alert' : ':white_check_mark: Resolved'}: ${notice.rule}`;
  const when = opened
    ? `opened ${notice.openedAt.toISOString()}`
    : `resolved ${notice.resolvedAt?.toISOString() ?? ''}`;
  return {
    text: slackEscape(`${opened ? 'Alert' : 'Resolved'}: ${notice.rule}: ${notice.summary}`),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(`*${title}*\n${notice.summary}`).slice(0, 2900) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: slackEscape(`${notice.kind} · ${notice.condition} · ${when} · alert ${notice.alertId}`),
          },
        ],
      },
    ],
  };
}

/** The email's subject and plain-text body. */
export function emailMessage(notice: AlertNotice) {
  const opened = notice.type === 'alert.opened';
  return {
    subject: `[webhook-gateway] ${opened ? 'Alert' : 'Resolved'}: ${notice.rule} (${notice.condition})`,
    text: [
      notice.summary,
      '',
      `Rule: ${notice.rule} (${notice.kind})`,
      `Condition: ${notice.condition}`,
      `Opened: ${notice.openedAt.toISOString()}`,
      ...(notice.resolvedAt ? [`Resolved: ${notice.resolvedAt.toISOString()}`] : []),
      `Alert: ${notice.alertId}`,
    ].join('\n'),
  };
}

async function postJson(
  doFetch: typeof fetch,
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const response = await doFetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'user-agent': 'webhook-gateway-alerts', ...headers },
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  // The answer's body is not read: a receiver cannot make us buffer it.
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status >= 300) throw new Error(`answered HTTP ${response.status}`);
}

/**
 * nodemailer's socket provider: the connection to the SMTP server is opened by `openSocket` (the
 * gateway's outbound guard) and handed over connected; nodemailer then speaks SMTP over it, with
 * TLS (`secure`, or STARTTLS) verified against the configured host name as on its own sockets.
 * nodemailer resolves names itself otherwise (dns.resolve4/6), out of the guard's reach.
 */
function guardedSmtpSocket(
  smtp: NonNullable<AlertsConfig['smtp']>,
  openSocket: OpenSocket,
): SMTPTransport.Options['getSocket'] {
  return (_options, callback) => {
    openSocket({ host: smtp.host, port: smtp.port, timeoutMs: TIMEOUT_MS }).then(
      (connection) => callback(null, { connection }),
      (err: Error) => callback(err),
    );
  };
}

/**
 * Sends notices by channel type: webhook (Standard Webhooks-signed JSON, the webhook-id stable per
 * alert and notice so a receiver can drop a re-sent one), Slack (incoming-webhook JSON) and email
 * (nodemailer over the `alerts.smtp` server, connected through `openSocket` when one is given).
 */
export function createNoticeSender(
  smtp: AlertsConfig['smtp'],
  doFetch: typeof fetch = fetch,
  openSocket?: OpenSocket,
): { send: SendNotice; close(): void } {
  // nodemailer (0.7 MB of JavaScript) is loaded when the first email goes, not by every gateway.
  let mailer: Promise<Transporter<SMTPTransport.SentMessageInfo>> | undefined;
  const mailerFor = (server: NonNullable<typeof smtp>) =>
    (mailer ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: server.host,
        port: server.port,
        secure: server.secure,
        auth: server.user ? { user: server.user, pass: server.password ?? '' } : undefined,
        connectionTimeout: TIMEOUT_MS,
        greetingTimeout: TIMEOUT_MS,
        socketTimeout: TIMEOUT_MS,
        getSocket: openSocket && guardedSmtpSocket(server, openSocket),
      }),
    ));

  async function send(channel: AlertChannelRow, notice: AlertNotice): Promise<void> {
    const config = channel.config as { url?: string; secret?: string; to?: string[] };
    if (channel.type === 'webhook') {
      const body = JSON.stringify(noticeJson(notice));
      const id = `alert_${notice.alertId}_${notice.type === 'alert.opened' ? 'opened' : 'resolved'}`;
      await postJson(doFetch, config.url!, body, standardWebhooksHeaders(config.secret!, id, body));
    } else if (channel.type === 'slack') {
      await postJson(doFetch, config.url!, JSON.stringify(slackMessage(notice)));
    } else {
      if (!smtp) throw new Error('no alerts.smtp server is configured for email channels');
      await (await mailerFor(smtp)).sendMail({ from: smtp.from, to: config.to, ...emailMessage(notice) });
    }
  }
  return {
    send,
    close: () =>
      void mailer?.then(
        (m) => m.close(),
        () => {},
      ),
  };
}
