import type { SourceSecret } from '../config/file';
import { fingerprint } from './crypto';
import type { SourceView } from './view';

/** A source as the file declares it: the raw entry (as the API takes it) and its resolved secrets. */
export interface DesiredSource {
  name: string;
  provider: string;
  /** The entry minus name, provider and secrets, exactly as written. */
  spec: Record<string, unknown>;
  secrets: SourceSecret[];
}

export type PlanStep =
  | { action: 'create'; name: string; entry: Record<string, unknown> }
  | { action: 'update'; name: string; patch: Record<string, unknown>; keys: string[] }
  | { action: 'add-secret'; name: string; secret: string; fingerprint: string; keep: string[] }
  | { action: 'delete'; name: string };

/** How the gateway showed the current sources to the token that plans. */
export interface SourcePlanOptions {
  /** Their `spec` came as null (a token below admin, src/control/source-answer.ts): only the provider is compared. */
  specsWithheld?: boolean;
}

/** A plan that cannot be carried out (a name of a file/env or poll source). */
export class PlanError extends Error {
  override name = 'PlanError';
}

/** Equal as JSON, whatever the order of object keys. */
export const same = (a: unknown, b: unknown) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sorted = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sorted)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, sorted(v)]),
        )
      : value;

/**
 * What `apply` must do so the database's sources match the file: create what is missing, update
 * what differs, add the file's secrets the source does not hold (by fingerprint; the others then
 * expire after the overlap), and delete the sources an earlier apply created that the file no
 * longer lists. Sources created through the API and not in the file are left alone. Empty when
 * everything matches, so applying twice changes nothing.
 */
export function planApply(
  desired: readonly DesiredSource[],
  current: readonly SourceView[],
  pollNames: readonly string[] = [],
  options: SourcePlanOptions = {},
): PlanStep[] {
  const steps: PlanStep[] = [];
  const byName = new Map(current.map((s) => [s.name, s]));
  // A poll source's name is taken too (one name, one source of events): the create would be
  // refused with 409 half-way through the plan, after the steps before it were carried out.
  const polled = desired.find((d) => pollNames.includes(d.name) && !byName.has(d.name));
  if (polled) {
    throw new PlanError(
      `source "${polled.name}" is the name of a poll source of the gateway (GET /api/sps/sources); give the push source another name`,
    );
  }
  // The API refuses a runtime source's inline destinations (their secret would be stored in clear):
  // refused here, before anything changes, rather than half-way through carrying the plan out.
  const inline = desired.find((d) => d.spec.destinations !== undefined);
  if (inline) {
    throw new PlanError(
      `source "${inline.name}": destinations: a runtime source cannot carry them inline; move them to the file's top-level "destinations:" list with sources: [${inline.name}]`,
    );
  }
  for (const want of desired) {
    const have = byName.get(want.name);
    if (have?.managed_by === 'file') {
      throw new PlanError(
        `source "${want.name}" is already served from GATEWAY_CONFIG or the environment of the gateway; give the runtime source another name`,
      );
    }
    if (!have) {
      // A secret's not_after goes along: the API keeps it, so one past its end never verifies.
      const secrets = want.secrets.map((s) =>
        s.notAfter ? { value: s.value, not_after: s.notAfter.toISOString() } : s.value,
      );
      steps.push({
        action: 'create',
        name: want.name,
        entry: { name: want.name, provider: want.provider, ...want.spec, ...(secrets.length ? { secrets } : {}) },
      });
      continue;
    }
    const haveSpec = { provider: have.provider, ...(have.spec ?? {}) };
    // Like with like: a spec withheld from this token would make every key of the file a change.
    const wantSpec: Record<string, unknown> = { provider: want.provider, ...(options.specsWithheld ? {} : want.spec) };
    const keys = [...new Set([...Object.keys(haveSpec), ...Object.keys(wantSpec)])]
      .filter((k) => !same(haveSpec[k as keyof typeof haveSpec], wantSpec[k]))
      .sort();
    if (keys.length > 0) {
      steps.push({
        action: 'update',
        name: want.name,
        keys,
        patch: Object.fromEntries(keys.map((k) => [k, wantSpec[k] ?? null])),
      });
    }
    const held = new Set(have.secrets.filter((s) => !s.expired).map((s) => s.fingerprint));
    // One past its end would verify again once added (a rotation adds a secret without an end).
    const listed = want.secrets.filter((s) => !s.notAfter || s.notAfter.getTime() > Date.now());
    // Each rotation keeps the file's other secrets: else adding two would end the first at once
    // (--overlap 0) and the next apply would add it again, ending the second.
    const keep = listed.map((s) => fingerprint(s.value));
    for (const { value: secret } of listed) {
      const print = fingerprint(secret);
      if (!held.has(print)) steps.push({ action: 'add-secret', name: want.name, secret, fingerprint: print, keep });
    }
  }
  const wanted = new Set(desired.map((d) => d.name));
  for (const have of current) {
    if (have.managed_by === 'database' && have.origin === 'apply' && !wanted.has(have.name))
      steps.push({ action: 'delete', name: have.name });
  }
  return steps;
}

/** Said under the plan when the sources' settings could not be compared. */
export const SPECS_WITHHELD_NOTE =
  'Source settings are shown to admin tokens only: sources were compared by provider and secrets, not by their other settings (plan with an admin token to compare them).';

/** The plan as `terraform plan` would print it; never a secret, only fingerprints. */
export function describePlan(
  steps: readonly PlanStep[],
  overlapSeconds: number,
  options: SourcePlanOptions = {},
): string[] {
  const note = options.specsWithheld ? [SPECS_WITHHELD_NOTE] : [];
  if (steps.length === 0) return ['No changes: the sources match the file.', ...note];
  const lines = steps.map((step) => {
    switch (step.action) {
      case 'create':
        return `  + create ${step.name} (${String(step.entry.provider)})`;
      case 'update':
        return `  ~ update ${step.name}: ${step.keys.join(', ')}`;
      case 'add-secret':
        return `  ~ add secret ${step.fingerprint} to ${step.name} (its secrets the file does not list stay valid ${overlapSeconds} s)`;
      case 'delete':
        return `  - delete ${step.name}`;
    }
  });
  const count = (action: PlanStep['action']) => steps.filter((s) => s.action === action).length;
  return [
    ...lines,
    `Plan: ${count('create')} to create, ${count('update') + count('add-secret')} to change, ${count('delete')} to delete.`,
    ...note,
  ];
}
