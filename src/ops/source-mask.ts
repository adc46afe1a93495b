import { parseJsonPath, type OrderingConfig } from '../ordering/config';
import type { IdentityPaths } from '../../providers/types';

/**
 * What the ops API hides of one source's events (docs/security.md, masking): the masked payload
 * paths, and which of the values stored beside the body were read from one of them. Resolved once
 * per source (src/control/destination-routing.ts), so every view of an event — list, detail,
 * export, replay, skip, conflicts, live stream, preview — hides the same things.
 */
export interface SourceMask {
  /** Dotted payload paths shown as "[masked]" ("customer.email", "items.*.price"). */
  readonly paths: readonly string[];
  readonly webhookId: boolean;
  readonly topic: boolean;
  readonly account: boolean;
  /** The ordering key (docs/ordering.md), and the lane named after it. */
  readonly orderingKey: boolean;
}

export const MASKED = '[masked]';

export const NO_MASK: SourceMask = Object.freeze({
  paths: [],
  webhookId: false,
  topic: false,
  account: false,
  orderingKey: false,
});

/** Whether the value at `path` is masked: a mask names it or one of its ancestors (`*` matching any step). */
export function underMask(path: readonly (string | number)[], masks: readonly string[]): boolean {
  return masks.some((mask) => {
    const steps = mask.split('.');
    return steps.length <= path.length && steps.every((step, i) => step === '*' || step === String(path[i]));
  });
}

/** How the source reads the values stored beside the body; undefined: not known here. */
export interface MaskedSourceShape {
  /** The provider's (src/providers/types.ts); undefined: it does not say, so every one is hidden. */
  identityPaths?: IdentityPaths;
  ordering?: OrderingConfig;
}

/**
 * The mask of a source with these masked `paths`. A value is hidden when the path it may be read
 * from lies under a masked path. What cannot be told — a source no longer configured, a provider
 * that does not say where it reads its identity, keys stored before `ordering` was removed — is
 * hidden: showing a masked value is the mistake that cannot be taken back.
 */
export function sourceMask(paths: readonly string[], shape: MaskedSourceShape | undefined): SourceMask {
  if (paths.length === 0) return NO_MASK;
  const identity = shape?.identityPaths;
  const masked = (candidates: readonly (readonly string[])[] | undefined) =>
    identity === undefined || (candidates ?? []).some((path) => underMask(path, paths));
  const key = shape?.ordering?.key;
  return {
    paths,
    webhookId: masked(identity?.webhookId),
    topic: masked(identity?.topic),
    account: masked(identity?.account),
    orderingKey: key === undefined || ('jsonPath' in key && underMask(parseJsonPath(key.jsonPath), paths)),
  };
}

/** `value`, or "[masked]" when `hidden` (null and the no-key lane's "" stay as they are). */
export const shown = <T extends string | null | undefined>(value: T, hidden: boolean): T | typeof MASKED =>
  hidden && value ? MASKED : value;
