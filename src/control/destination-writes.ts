import { fingerprint, type Keyring } from './crypto';
import { openDestination, sealDestination } from './destination-catalog';
import type { DestinationPatch } from './destination-input';
import { canonical } from './destination-plan';
import type { DestinationRow, DestinationWrite } from './destination-rows';

// What a change writes, built from the stored row while it is locked (src/control/destination-store.ts,
// update), not from an instance's catalog, which may not have heard yet of another instance's change.

/**
 * An update's write: the patch over the current row; `keyring` when the headers change (they are
 * sealed with the secret, so both are re-sealed, keeping the secret).
 */
export function patchedWrite(
  name: string,
  current: DestinationRow,
  patch: DestinationPatch,
  keyring: Keyring | undefined,
): DestinationWrite {
  const write: DestinationWrite = {
    url: patch.url ?? current.url,
    timeoutMs: patch.timeout_ms ?? current.timeoutMs,
    headerNames: current.headerNames,
    filter: patch.filter === undefined ? current.filter : patch.filter,
    transform: patch.transform === undefined ? current.transform : patch.transform,
    rateLimit: patch.rate_limit === undefined ? current.rateLimit : patch.rate_limit,
    circuit: patch.circuit === undefined ? current.circuit : patch.circuit,
    sources: patch.sources ?? current.sources,
  };
  const rules = (w: { filter: unknown; transform: unknown; sources: readonly string[] }) =>
    canonical([w.filter, w.transform, [...w.sources].sort()]);
  write.ruleChanged = rules(write) !== rules(current);
  if (keyring) {
    // The headers are sealed with the secret: re-seal both, keeping the secret.
    const { secret } = openDestination(keyring, name, current.sealed);
    const headers = patch.headers ?? {};
    write.headerNames = Object.keys(headers).sort();
    write.sealed = {
      value: sealDestination(keyring, name, { secret, headers }),
      fingerprint: current.fingerprint,
      newSecret: false,
    };
  }
  return write;
}

/** A secret rotation's write: everything but the secret kept as stored now. */
export function rotatedWrite(
  name: string,
  current: DestinationRow,
  secret: string,
  keyring: Keyring,
): DestinationWrite {
  return {
    url: current.url,
    timeoutMs: current.timeoutMs,
    headerNames: current.headerNames,
    filter: current.filter,
    transform: current.transform,
    rateLimit: current.rateLimit,
    circuit: current.circuit,
    sources: current.sources,
    sealed: {
      value: sealDestination(keyring, name, {
        secret,
        headers: openDestination(keyring, name, current.sealed).headers,
      }),
      fingerprint: fingerprint(secret),
      newSecret: true,
    },
  };
}
