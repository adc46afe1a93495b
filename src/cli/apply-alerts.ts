import type { AlertsConfig } from '../alerts/config';
import { planAlerts, type AlertChannelView, type AlertPlanStep, type AlertRuleView } from '../control/alert-plan';
import type { OpsClient } from './ops-client';

/** The steps that make the gateway's alert channels and rules match the file's `alerts:` section. */
export async function planAlertChanges(
  client: OpsClient,
  alerts: AlertsConfig,
  prune: boolean,
): Promise<AlertPlanStep[]> {
  const [{ channels }, { rules }] = await Promise.all([
    client.get<{ channels: AlertChannelView[] }>('/api/alerts/channels'),
    client.get<{ rules: AlertRuleView[] }>('/api/alerts/rules'),
  ]);
  return planAlerts(alerts, { channels, rules }, prune);
}

/**
 * One step through /api/alerts (PUT replaces the whole rule or channel, secret included). An update
 * or delete is sent with If-Match, the version the plan was made from: a rule or channel changed
 * since (by the UI, another apply) is refused with 412, not overwritten by a plan that never saw it.
 */
export async function carryOutAlertStep(client: OpsClient, step: AlertPlanStep): Promise<void> {
  const base = `/api/alerts/${step.what === 'rule' ? 'rules' : 'channels'}`;
  if (step.action === 'create') return void (await client.post(base, step.body));
  const headers = step.version === undefined ? undefined : { 'if-match': `"${step.version}"` };
  if (step.action === 'update') await client.call('PUT', `${base}/${step.id}`, step.body, headers);
  else await client.call('DELETE', `${base}/${step.id}`, undefined, headers);
}
