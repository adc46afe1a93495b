import { describeChannel } from '../alerts/channel-view';
import type { AlertChannelInput, AlertRuleInput } from '../alerts/config';
import { same } from './plan';

/** A rule as GET /api/alerts/rules shows it. */
export interface AlertRuleView {
  id: number;
  name: string;
  kind: string;
  params: Record<string, unknown>;
  channels: string[];
  enabled: boolean;
  /** Its ETag; absent from gateways before alert versions (migration 0030). */
  version?: number;
}

/** A channel as GET /api/alerts/channels shows it (never its secret). */
export interface AlertChannelView {
  id: number;
  name: string;
  type: string;
  target: string;
  secret_fingerprint: string | null;
  /** The URL's fingerprint (webhook, slack); absent from gateways that showed a webhook's path in `target`. */
  url_fingerprint?: string | null;
  /** Its ETag; absent from gateways before alert versions (migration 0030). */
  version?: number;
}

/** `version`: what the plan was made from; the change is sent with it as If-Match. */
export type AlertPlanStep =
  | { action: 'create'; what: 'channel'; name: string; body: AlertChannelInput }
  | {
      action: 'update';
      what: 'channel';
      name: string;
      id: number;
      version?: number;
      body: AlertChannelInput;
      keys: string[];
    }
  | { action: 'create'; what: 'rule'; name: string; body: AlertRuleInput }
  | { action: 'update'; what: 'rule'; name: string; id: number; version?: number; body: AlertRuleInput; keys: string[] }
  | { action: 'delete'; what: 'rule' | 'channel'; name: string; id: number; version?: number };

/**
 * What `apply` must do so the gateway's alert channels and rules match the file's `alerts:`
 * section, by name: create what is missing, replace what differs (a channel's secret is compared
 * by fingerprint, never read back), and — only with `prune` — delete rules and channels the file
 * does not list (the API keeps no record of who made them, so that is the operator's call).
 * Channels come first and go last, as rules name them. Empty when everything matches.
 */
export function planAlerts(
  desired: { channels: readonly AlertChannelInput[]; rules: readonly AlertRuleInput[] },
  current: { channels: readonly AlertChannelView[]; rules: readonly AlertRuleView[] },
  prune: boolean,
): AlertPlanStep[] {
  const steps: AlertPlanStep[] = [];
  const channels = new Map(current.channels.map((c) => [c.name, c]));
  for (const want of desired.channels) {
    const have = channels.get(want.name);
    if (!have) {
      steps.push({ action: 'create', what: 'channel', name: want.name, body: want });
      continue;
    }
    const shown = describeChannel(want.type, want);
    const keys = [
      have.type !== want.type ? 'type' : '',
      urlChanged(have, want, shown) ? (want.type === 'email' ? 'to' : 'url') : '',
      have.secret_fingerprint !== shown.secretFingerprint && want.type !== 'slack' ? 'secret' : '',
    ].filter(Boolean);
    if (keys.length > 0)
      steps.push({
        action: 'update',
        what: 'channel',
        name: want.name,
        id: have.id,
        version: have.version,
        body: want,
        keys,
      });
  }
  const rules = new Map(current.rules.map((r) => [r.name, r]));
  for (const want of desired.rules) {
    const have = rules.get(want.name);
    if (!have) {
      steps.push({ action: 'create', what: 'rule', name: want.name, body: want });
      continue;
    }
    const keys = (['kind', 'params', 'channels', 'enabled'] as const).filter((k) => !same(have[k], want[k]));
    if (keys.length > 0)
      steps.push({
        action: 'update',
        what: 'rule',
        name: want.name,
        id: have.id,
        version: have.version,
        body: want,
        keys,
      });
  }
  if (prune) {
    const keep = (list: readonly { name: string }[]) => new Set(list.map((x) => x.name));
    const rulesKept = keep(desired.rules);
    const channelsKept = keep(desired.channels);
    for (const r of current.rules)
      if (!rulesKept.has(r.name))
        steps.push({ action: 'delete', what: 'rule', name: r.name, id: r.id, version: r.version });
    for (const c of current.channels)
      if (!channelsKept.has(c.name))
        steps.push({ action: 'delete', what: 'channel', name: c.name, id: c.id, version: c.version });
  }
  return steps;
}

/**
 * Whether the file's recipients or URL differ from the gateway's. A URL's path is never shown (it
 * may be the credential), so it is compared by fingerprint; a gateway older than `url_fingerprint`
 * showed a webhook's origin and path in `target`, and a Slack URL's fingerprint as its secret's.
 */
function urlChanged(have: AlertChannelView, want: AlertChannelInput, shown: ReturnType<typeof describeChannel>) {
  if (want.type === 'email') return have.target !== shown.target;
  if (have.url_fingerprint !== undefined) return have.url_fingerprint !== shown.urlFingerprint;
  if (want.type === 'slack') return have.secret_fingerprint !== shown.secretFingerprint;
  const url = new URL(want.url);
  return have.target !== `${url.origin}${url.pathname}`;
}

/** The plan's lines, as describePlan prints the sources'; never a secret, only fingerprints. */
export function describeAlertPlan(steps: readonly AlertPlanStep[]): string[] {
  if (steps.length === 0) return ['No changes: the alert rules and channels match the file.'];
  const lines = steps.map((step) => {
    const thing = `alert ${step.what} ${step.name}`;
    if (step.action === 'create') {
      const detail = step.what === 'rule' ? step.body.kind : step.body.type;
      return `  + create ${thing} (${detail})`;
    }
    if (step.action === 'update') {
      const secret =
        step.what === 'channel' && step.keys.includes('secret')
          ? describeChannel(step.body.type, step.body)
          : undefined;
      return `  ~ update ${thing}: ${step.keys.join(', ')}${secret ? ` (new secret ${secret.secretFingerprint})` : ''}`;
    }
    return `  - delete ${thing}`;
  });
  const count = (action: AlertPlanStep['action']) => steps.filter((s) => s.action === action).length;
  return [
    ...lines,
    `Alerts plan: ${count('create')} to create, ${count('update')} to change, ${count('delete')} to delete.`,
  ];
}
