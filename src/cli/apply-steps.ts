import type { DestinationStep } from '../control/destination-plan';
import type { PlanStep } from '../control/plan';
import type { OpsClient } from './ops-client';

// The steps of an `apply` plan for sources and destinations, carried out through the ops API
// (alerts: ./apply-alerts.ts).

/**
 * The version of each source or destination as the plan saw it. Every change is sent with it as
 * If-Match, and the answer's version is the next one (a source may be updated, then given a
 * secret): one changed by someone else after the plan was read (the UI, another apply) is refused
 * with 412 instead of overwritten by a plan that never saw the change.
 */
export type Versions = Map<string, number>;

export const versionsOf = (views: readonly { name: string; version: number | null }[]): Versions =>
  new Map(views.flatMap((v) => (typeof v.version === 'number' ? [[v.name, v.version] as const] : [])));

async function sendVersioned(
  client: OpsClient,
  versions: Versions,
  name: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<void> {
  const version = versions.get(name);
  const answer = await client.call<{ version?: unknown } | undefined>(
    method,
    path,
    body,
    version === undefined ? undefined : { 'if-match': `"${version}"` },
  );
  // No version in the answer: the next change of this name goes without If-Match, as before.
  if (typeof answer?.version === 'number') versions.set(name, answer.version);
  else versions.delete(name);
}

export async function carryOut(client: OpsClient, step: PlanStep, overlap: number, versions: Versions): Promise<void> {
  const path = `/api/sources/${encodeURIComponent(step.name)}`;
  if (step.action === 'create') await client.post('/api/sources?origin=apply', step.entry);
  else if (step.action === 'update') await sendVersioned(client, versions, step.name, 'PATCH', path, step.patch);
  else if (step.action === 'add-secret')
    await sendVersioned(client, versions, step.name, 'POST', `${path}/rotate-secret`, {
      secret: step.secret,
      overlap_seconds: overlap,
      keep: step.keep,
    });
  else await sendVersioned(client, versions, step.name, 'DELETE', path);
}

export async function carryOutDestination(client: OpsClient, step: DestinationStep, versions: Versions): Promise<void> {
  const path = `/api/destinations/${encodeURIComponent(step.name)}`;
  if (step.action === 'create') await client.post('/api/destinations?origin=apply', step.body);
  else if (step.action === 'update') await sendVersioned(client, versions, step.name, 'PATCH', path, step.patch);
  else if (step.action === 'rotate-secret')
    await sendVersioned(client, versions, step.name, 'POST', `${path}/rotate-secret`, { secret: step.secret });
  else await sendVersioned(client, versions, step.name, 'DELETE', path);
}
